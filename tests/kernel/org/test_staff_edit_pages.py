"""The staff edit page and the team changes pages (a person's teams, a team's people): form posts for
success, field errors and refusals, through the same services as PATCH /api/v1/org/staff/{id} and the
team membership API."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from careplane.kernel import clock
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import StaffMember, TeamMembership
from tests.helpers import login
from tests.kernel.org.test_staff import NPI_A, NPI_B, hire, units_and_teams
from tests.kernel.org.test_staff_pages import csrf

NOON = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
TODAY = NOON.date()


def _staff(db, staff_id) -> StaffMember:  # noqa: ANN001
    with db.unit_of_work() as s:
        staff = s.get(StaffMember, staff_id)
        s.expunge(staff)
        return staff


def _memberships(db, staff_id) -> list[tuple[str, date | None]]:  # noqa: ANN001
    with db.unit_of_work() as s:
        rows = s.scalars(select(TeamMembership).where(TeamMembership.staff_id == staff_id))
        return sorted((ms.team.name, ms.end_date) for ms in rows)


# ---------------------------------------------------------------- editing a person


def test_operations_lead_edits_credentials_npi_and_dea_on_the_edit_page(client, db):
    clock.travel(NOON)
    units_and_teams(db)
    doc = hire(db, npi=NPI_A, unit="virtual_care")
    login(client, db, role=Role.OPERATIONS_LEAD)
    person = client.get(f"/org/staff/{doc.id}").text
    assert f'href="/org/staff/{doc.id}/edit"' in person and f'href="/org/staff/{doc.id}/teams"' in person

    form = client.get(f"/org/staff/{doc.id}/edit")
    assert form.status_code == 200
    assert '<fieldset class="field checkbox-group"' in form.text and "<legend>Credentials</legend>" in form.text
    assert 'id="credentials-MD" checked>' in form.text and 'id="credentials-DO">' in form.text
    assert f'value="{NPI_A}"' in form.text and "Clinician" in form.text  # roles shown, not editable here

    token = csrf(client)
    bad = client.post(
        f"/org/staff/{doc.id}/edit",
        data={"csrf_token": token, "credentials": ["MD", "DO"], "npi": "1234567890", "dea_number": "AB1234563"},
    )
    assert bad.status_code == 422
    assert 'class="error-summary"' in bad.text and "There are 2 problems" in bad.text
    assert 'id="f-npi-error"' in bad.text and "check digit" in bad.text
    assert 'id="f-dea_expires_on-error"' in bad.text and 'aria-invalid="true"' in bad.text
    assert 'id="credentials-DO" checked>' in bad.text  # what was sent is kept
    assert _staff(db, doc.id).credentials == ["MD"] and _staff(db, doc.id).dea_number is None

    done = client.post(
        f"/org/staff/{doc.id}/edit",
        data={
            "csrf_token": token,
            "credentials": ["MD", "DO"],
            "npi": NPI_A,
            "dea_number": "AB1234563",
            "dea_expires_on": "2027-01-31",
            "end_date": "",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/org/staff/{doc.id}"
    staff = _staff(db, doc.id)
    assert (staff.credentials, staff.npi, staff.dea_number, staff.dea_expires_on) == (
        ["MD", "DO"],
        NPI_A,
        "AB1234563",
        date(2027, 1, 31),
    )
    with db.unit_of_work() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "org.staff.update")).one()
        assert "credentials" in entry.reason and "dea_number" in entry.reason

    cleared = client.post(f"/org/staff/{doc.id}/edit", data={"csrf_token": token, "npi": NPI_A}, follow_redirects=False)
    assert cleared.status_code == 303
    staff = _staff(db, doc.id)
    assert (staff.credentials, staff.dea_number, staff.dea_expires_on) == ([], None, None)


def test_the_edit_page_applies_the_staff_rules_not_its_own(client, db):
    """NPI is required for a clinician, taken NPIs are refused, the end date is checked against the start:
    the service's rules, shown at their fields."""
    units_and_teams(db)
    doc = hire(db, npi=NPI_A)
    hire(db, npi=NPI_B, roles="pharmacist", credentials="RPh", display_name="Pat Pharm")
    login(client, db, role=Role.ADMINISTRATOR)
    token = csrf(client)
    missing = client.post(
        f"/org/staff/{doc.id}/edit", data={"csrf_token": token, "npi": "  ", "end_date": "2023-12-31"}
    )
    assert missing.status_code == 422
    assert "Clinicians and pharmacists need their 10-digit NPI." in missing.text
    assert "The end date cannot be before the start date." in missing.text
    assert '<a href="#f-npi">' in missing.text and '<a href="#f-end_date">' in missing.text
    taken = client.post(f"/org/staff/{doc.id}/edit", data={"csrf_token": token, "npi": NPI_B})
    assert taken.status_code == 422 and "Another staff member already has this NPI." in taken.text
    unknown = client.post(f"/org/staff/{doc.id}/edit", data={"csrf_token": token, "npi": NPI_A, "credentials": "XYZ"})
    assert unknown.status_code == 422 and "Unknown credential &#39;XYZ&#39;" in unknown.text
    assert _staff(db, doc.id).npi == NPI_A and _staff(db, doc.id).end_date is None


def test_only_those_who_manage_the_organisation_may_edit_or_change_teams(client, db):
    ids = units_and_teams(db)
    doc = hire(db, npi=NPI_A, unit="virtual_care", team="Async West")
    with db.unit_of_work() as s:
        membership = s.scalar(select(TeamMembership.id).where(TeamMembership.staff_id == doc.id))
    for role in (Role.CLINICIAN, Role.BILLER):
        client.cookies.clear()
        login(client, db, role=role)
        token = csrf(client)
        person = client.get(f"/org/staff/{doc.id}").text
        assert "/edit" not in person and "Team changes" not in person
        assert "Add or remove people" not in client.get(f"/org/units/{ids['virtual_care']}").text
        assert client.get(f"/org/staff/{doc.id}/edit").status_code == 403
        assert client.get(f"/org/staff/{doc.id}/teams").status_code == 403
        assert client.get(f"/org/teams/{ids['Async West']}/people").status_code == 403
        posts = [
            (f"/org/staff/{doc.id}/edit", {"npi": NPI_A, "credentials": "DO"}),
            (f"/org/staff/{doc.id}/edit", {}),  # an empty form is refused too, not answered with field errors
            (f"/org/staff/{doc.id}/teams", {"team_id": str(ids["Verification"])}),
            (f"/org/staff/{doc.id}/teams", {}),
            (f"/org/staff/{doc.id}/teams/{membership}/end", {}),
            (f"/org/teams/{ids['Verification']}/people", {"staff_id": str(doc.id)}),
            (f"/org/teams/{ids['Verification']}/people", {}),
            (f"/org/teams/{ids['Async West']}/people/{membership}/end", {}),
        ]
        for url, data in posts:
            assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    assert _staff(db, doc.id).credentials == ["MD"]
    assert _memberships(db, doc.id) == [("Async West", None)]


# ---------------------------------------------------------------- a person's teams


def test_a_persons_team_changes_page_adds_and_ends_memberships(client, db):
    clock.travel(NOON)
    ids = units_and_teams(db)
    doc = hire(db, npi=NPI_A, unit="virtual_care", team="Async West")
    login(client, db, role=Role.OPERATIONS_LEAD)
    url = f"/org/staff/{doc.id}/teams"
    page = client.get(url)
    assert page.status_code == 200 and "Remove from Async West" in page.text
    assert f'<option value="{ids["Verification"]}" >Verification (Pharmacy)</option>' in page.text
    token = csrf(client)

    empty = client.post(url, data={"csrf_token": token, "start_date": "31/10/2026"})  # no 31st month
    assert empty.status_code == 422 and "Choose a team." in empty.text
    assert (
        "Enter the start date as month, day and year (mm/dd/yyyy)" in empty.text
        and 'id="f-team_id-error"' in empty.text
    )
    early = client.post(
        url, data={"csrf_token": token, "team_id": str(ids["Verification"]), "start_date": "2023-01-01"}
    )
    assert early.status_code == 422 and "They cannot join a team before they start work." in early.text
    joined = client.post(url, data={"csrf_token": token, "team_id": str(ids["Verification"])}, follow_redirects=False)
    assert joined.status_code == 303 and joined.headers["location"] == url
    again = client.post(url, data={"csrf_token": token, "team_id": str(ids["Verification"])})
    assert again.status_code == 422 and "They are already in the team Verification." in again.text
    assert _memberships(db, doc.id) == [("Async West", None), ("Verification", None)]

    with db.unit_of_work() as s:
        west = s.scalar(
            select(TeamMembership.id)
            .join(TeamMembership.team)
            .where(TeamMembership.staff_id == doc.id, TeamMembership.team_id == ids["Async West"])
        )
    bad = client.post(f"{url}/{west}/end", data={"csrf_token": token, "end_date": "2023-01-01"})
    assert bad.status_code == 422 and "They cannot leave a team before they joined it." in bad.text
    assert f'id="f-end-{west}-error"' in bad.text and f'href="#f-end-{west}"' in bad.text
    ended = client.post(f"{url}/{west}/end", data={"csrf_token": token, "end_date": ""}, follow_redirects=False)
    assert ended.status_code == 303
    assert _memberships(db, doc.id) == [("Async West", TODAY), ("Verification", None)]
    other = hire(db, npi=NPI_B, roles="pharmacist", credentials="RPh")
    assert client.post(f"/org/staff/{other.id}/teams/{west}/end", data={"csrf_token": token}).status_code == 404


# ---------------------------------------------------------------- a team's people


def test_a_teams_people_page_adds_and_removes_people_from_the_unit_page(client, db):
    clock.travel(NOON)
    ids = units_and_teams(db)
    doc = hire(db, npi=NPI_A, unit="virtual_care", team="Async West", display_name="Dana Brown, MD")
    pharmacist = hire(db, npi=NPI_B, roles="pharmacist", credentials="RPh", display_name="Pat Pharm")
    login(client, db, role=Role.OPERATIONS_LEAD)
    team_url = f"/org/teams/{ids['Verification']}/people"
    assert f'href="{team_url}"' in client.get(f"/org/units/{ids['pharmacy']}").text
    page = client.get(team_url)
    assert page.status_code == 200 and "No one in this team yet." in page.text
    assert f'<option value="{pharmacist.id}" >Pat Pharm</option>' in page.text
    token = csrf(client)

    empty = client.post(team_url, data={"csrf_token": token})
    assert empty.status_code == 422 and "Choose a person." in empty.text and 'id="f-staff_id-error"' in empty.text
    added = client.post(team_url, data={"csrf_token": token, "staff_id": str(pharmacist.id)}, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == team_url
    page = client.get(team_url).text
    assert "Remove Pat Pharm from Verification" in page
    assert f'<option value="{pharmacist.id}"' not in page  # already in: not offered again
    again = client.post(team_url, data={"csrf_token": token, "staff_id": str(pharmacist.id)})
    assert again.status_code == 422 and "already in the team Verification" in again.text
    assert 'id="f-staff_id-error"' in again.text

    with db.unit_of_work() as s:
        membership = s.scalar(select(TeamMembership.id).where(TeamMembership.staff_id == pharmacist.id))
    assert (
        client.post(f"/org/teams/{ids['Async West']}/people/{membership}/end", data={"csrf_token": token}).status_code
        == 404
    )  # not a member of that team
    removed = client.post(f"{team_url}/{membership}/end", data={"csrf_token": token}, follow_redirects=False)
    assert removed.status_code == 303
    assert _memberships(db, pharmacist.id) == [("Verification", TODAY)]
    assert _memberships(db, doc.id) == [("Async West", None)]
    assert "Pat Pharm" not in client.get("/org").text.split("Verification", 1)[1].split("</section>", 1)[0]
