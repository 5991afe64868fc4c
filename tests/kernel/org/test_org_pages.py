"""Organisation pages: chart, unit, history and the restructuring forms, for managers and for everyone else."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from careplane.kernel import clock
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgChange, OrgUnit, Team
from careplane.kernel.web import CSRF_COOKIE
from careplane.kernel.work.models import WorkItem, WorkQueue
from tests.helpers import login
from tests.kernel.org.test_structure import add_items, count, first_team, seed, staff_member


def csrf(client) -> dict[str, str]:  # noqa: ANN001
    client.get("/org")
    return {"csrf_token": client.cookies[CSRF_COOKIE]}


def section(html: str, unit_name: str) -> str:
    """The chart's section for one unit (up to the next unit's section)."""
    start = html.index(f">{unit_name}<")
    end = html.find('<section class="panel org-unit"', start)
    return html[start : end if end > 0 else None]


def test_merge_through_the_forms_keeps_everything_and_the_chart_shows_it(client, db):
    """Acceptance: merging two units keeps every team, queue and history entry; the org chart shows it."""
    ids = seed(db)
    team_id, queue_id = first_team(db, ids["pharmacy"])
    pharmacist = staff_member(db, role=Role.PHARMACIST, team_id=team_id, unit="pharmacy")
    add_items(db, queue_id, open_=2)
    admin = login(client, db, role=Role.ADMINISTRATOR)
    token = csrf(client)
    added = client.post(
        f"/org/units/{ids['pharmacy']}/teams", data={**token, "name": "Compounding"}, follow_redirects=False
    )
    assert added.status_code == 303
    before = {m: count(db, m) for m in (OrgUnit, Team, WorkQueue, WorkItem, OrgChange)}

    form = client.get(f"/org/units/{ids['pharmacy']}/merge")
    assert form.status_code == 200 and 'name="into_unit_id"' in form.text
    assert f'value="{ids["pharmacy"]}"' not in form.text  # cannot pick itself
    merged = client.post(
        f"/org/units/{ids['pharmacy']}/merge",
        data={**token, "into_unit_id": str(ids["primary_care"]), "effective_on": ""},
        follow_redirects=False,
    )
    assert merged.status_code == 303 and merged.headers["location"] == f"/org/units/{ids['primary_care']}"

    after = {m: count(db, m) for m in (OrgUnit, Team, WorkQueue, WorkItem, OrgChange)}
    assert after == {**before, OrgChange: before[OrgChange] + 1}
    html = client.get("/org").text
    survivor = section(html, "Primary Care")
    for name in ("Care teams", "Verification", "Compounding", "Verification queue", "Test Pharmacist"):
        assert name in survivor
    assert f'href="/org/staff/{pharmacist}">Test Pharmacist</a>' in survivor
    assert client.get(f"/org/staff/{pharmacist}").status_code == 200
    gone = section(html, "Pharmacy")
    assert "merged" in gone and "Merged into" in gone and "Primary Care" in gone
    assert f"/org/history?unit={ids['pharmacy']}" in gone and "Verification" not in gone
    history = client.get(f"/org/history?unit={ids['pharmacy']}").text
    assert "Pharmacy merged into Primary Care (2 teams and 1 person moved)" in history and admin.email in history
    assert "Team Compounding created in Pharmacy" in history and "Unit Pharmacy (pharmacy) created" in history
    # the merged unit offers no more restructuring
    assert client.get(f"/org/units/{ids['pharmacy']}/rename").status_code == 404


def test_clinician_sees_the_chart_but_cannot_restructure(client, db):
    ids = seed(db)
    login(client, db, role=Role.CLINICIAN)
    page = client.get("/org")
    assert page.status_code == 200 and "Virtual Care" in page.text and "Async visits" in page.text
    assert '<a href="/org"' in page.text  # nav item
    assert "/org/units/new" not in page.text
    unit = client.get(f"/org/units/{ids['virtual_care']}")
    assert unit.status_code == 200 and "/merge" not in unit.text and "/move" not in unit.text
    token = csrf(client)
    assert client.get("/org/units/new").status_code == 403
    assert client.get(f"/org/units/{ids['virtual_care']}/merge").status_code == 403
    refused = client.post(
        f"/org/units/{ids['virtual_care']}/merge", data={**token, "into_unit_id": str(ids["primary_care"])}
    )
    assert refused.status_code == 403
    team_id, _ = first_team(db, ids["virtual_care"])
    assert client.post(f"/org/teams/{team_id}/move", data={**token, "unit_id": str(ids["pharmacy"])}).status_code == 403
    assert (
        client.post("/org/units/new", data={**token, "code": "x_unit", "name": "X", "function": "pharmacy"}).status_code
        == 403
    )
    assert count(db, OrgChange) == 6
    with db.unit_of_work() as s:
        assert s.get(OrgUnit, ids["virtual_care"]).status == "active"


def test_patient_cannot_see_the_chart_and_forms_need_csrf(client, db):
    seed(db)
    login(client, db, role=Role.PATIENT)
    assert client.get("/org").status_code == 403
    login(client, db, role=Role.OPERATIONS_LEAD)
    assert client.post("/org/units/new", data={"code": "care_nav", "name": "Care Navigation"}).status_code == 403
    assert count(db, OrgUnit) == 6


def test_form_errors_are_field_level_and_nothing_changes(client, db):
    ids = seed(db)
    login(client, db, role=Role.OPERATIONS_LEAD)
    token = csrf(client)
    bad = client.post(
        "/org/units/new",
        data={**token, "code": "Bad Code!", "name": "pharmacy", "effective_on": "", "function": "benefits"},
    )
    assert bad.status_code == 422
    assert 'id="f-code-error"' in bad.text and 'id="f-name-error"' in bad.text
    assert "There are 2 problems" in bad.text and 'aria-invalid="true"' in bad.text
    assert 'value="Bad Code!"' in bad.text  # what was typed is kept
    assert '<option value="benefits" selected>' in bad.text

    team_id, _ = first_team(db, ids["virtual_care"])
    with db.unit_of_work() as s:
        s.get(OrgUnit, ids["benefits"]).status = "merged"
    moved = client.post(f"/org/teams/{team_id}/move", data={**token, "unit_id": str(ids["benefits"])})
    assert moved.status_code == 422 and 'id="f-unit_id-error"' in moved.text
    split = client.post(
        f"/org/units/{ids['virtual_care']}/split",
        data={**token, "new_code": "video", "new_name": "Video", "effective_on": "31/12/2030"},
    )
    assert split.status_code == 422 and "Enter the date as month, day and year (mm/dd/yyyy)" in split.text
    none_chosen = client.post(
        f"/org/units/{ids['virtual_care']}/split", data={**token, "new_code": "video", "new_name": "Video"}
    )
    assert none_chosen.status_code == 422 and 'id="f-team_ids-error"' in none_chosen.text
    with db.unit_of_work() as s:
        assert s.get(Team, team_id).unit_id == ids["virtual_care"]
        assert s.scalar(select(func.count()).select_from(OrgUnit)) == 6
    assert count(db, OrgChange) == 6


def test_manager_creates_splits_moves_and_sees_future_dates_in_history(client, db):
    ids = seed(db)
    lead = staff_member(db, role=Role.OPERATIONS_LEAD)
    login(client, db, role=Role.OPERATIONS_LEAD)
    token = csrf(client)
    assert "Create a unit" in client.get("/org").text
    future = (clock.today() + timedelta(days=14)).isoformat()
    created = client.post(
        "/org/units/new",
        data={
            **token,
            "code": "care_nav",
            "name": "Care Navigation",
            "function": "primary_care",
            "lead_staff_id": str(lead),
            "effective_on": future,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    new_id = uuid.UUID(created.headers["location"].rsplit("/", 1)[1])
    unit_page = client.get(f"/org/units/{new_id}").text
    assert "Test Operations lead" in unit_page and "future" in unit_page and future in unit_page
    assert "<dt>Kind of work</dt><dd>Primary Care</dd>" in unit_page
    assert "kind of work: Primary Care" in unit_page  # the unit.created entry

    team_id, _ = first_team(db, ids["virtual_care"])
    form = client.get(f"/org/teams/{team_id}/move")
    assert form.status_code == 200 and "Its queues and their open work move with it" in form.text
    too_early = client.post(f"/org/teams/{team_id}/move", data={**token, "unit_id": str(new_id)})
    assert too_early.status_code == 422 and 'id="f-effective_on-error"' in too_early.text  # before the unit begins
    moved = client.post(f"/org/teams/{team_id}/move", data={**token, "unit_id": str(new_id), "effective_on": future})
    assert moved.status_code == 200 and "moved to Care Navigation" in moved.text
    queue = client.post(f"/org/teams/{team_id}/queues", data={**token, "name": "Callbacks"})
    assert queue.status_code == 200 and "Queue Callbacks created" in queue.text

    split = client.post(
        f"/org/units/{new_id}/split",
        data={
            **token,
            "new_code": "async_care",
            "new_name": "Async Care",
            "team_ids": [str(team_id)],
            "effective_on": future,
        },
        follow_redirects=True,
    )
    assert split.status_code == 200 and "Async visits" in split.text and "Callbacks" in split.text
    assert "<dt>Kind of work</dt><dd>Primary Care</dd>" in split.text  # inherited from Care Navigation
    renamed = client.post(f"/org/units/{ids['health_tech']}/rename", data={**token, "name": "Platform"})
    assert renamed.status_code == 200
    history = client.get("/org/history").text
    kinds = re.findall(r"\((unit\.\w+|team\.\w+|queue\.\w+|units\.\w+)\)", history)
    assert kinds[:5] == ["unit.renamed", "unit.split", "queue.created", "team.moved", "unit.created"]
    assert client.get("/org/history?unit=not-a-uuid").status_code == 200


def test_the_create_form_asks_for_the_kind_of_work(client, db):
    seed(db)
    login(client, db, role=Role.OPERATIONS_LEAD)
    token = csrf(client)
    form = client.get("/org/units/new").text
    assert '<label for="f-function">Kind of work' in form
    assert 'aria-describedby="f-function-hint"' in form
    assert "Decides which patient records the unit&#39;s staff may open" in form
    assert '<option value="benefits" >Employer Benefits</option>' in form
    missing = client.post("/org/units/new", data={**token, "code": "care_nav", "name": "Care Navigation"})
    assert missing.status_code == 422 and "There is a problem" in missing.text
    assert '<p class="error" id="f-function-error">Choose what kind of work the unit does.</p>' in missing.text
    assert 'aria-describedby="f-function-hint f-function-error"' in missing.text
    assert 'href="#f-function"' in missing.text  # the error summary leads to the select
    assert 'value="care_nav"' in missing.text
    forged = client.post(
        "/org/units/new", data={**token, "code": "care_nav", "name": "Care Navigation", "function": "dentistry"}
    )
    assert forged.status_code == 422 and 'id="f-function-error">Choose one of the kinds of work' in forged.text
    assert count(db, OrgUnit) == 6


def test_chart_and_merge_form_show_the_kind_of_work_and_who_moves(client, db):
    ids = seed(db)
    from tests.helpers import make_user

    for _ in range(2):
        make_user(db, role=Role.PHARMACIST, unit="pharmacy")
    login(client, db, role=Role.ADMINISTRATOR)
    html = client.get("/org").text
    assert "<dt>Kind of work</dt><dd>Employer Benefits</dd>" in section(html, "Employer Benefits")
    assert "<dt>Kind of work</dt><dd>Pharmacy</dd>" in section(html, "Pharmacy")
    form = client.get(f"/org/units/{ids['pharmacy']}/merge").text
    assert "2 people work in Pharmacy" in form and "not Pharmacy, decides which patient" in form
    assert f'<option value="{ids["primary_care"]}" >Primary Care (Primary Care)</option>' in form
    token = csrf(client)
    done = client.post(
        f"/org/units/{ids['pharmacy']}/merge",
        data={**token, "into_unit_id": str(ids["primary_care"])},
        follow_redirects=True,
    )
    assert "its teams and people now belong to Primary Care" in done.text
    assert "Pharmacy merged into Primary Care (1 team and 2 people moved)" in done.text
    merged = section(client.get("/org").text, "Pharmacy")
    assert "Kind of work: Pharmacy." in merged


def test_a_unit_made_before_units_had_a_kind_of_work_says_so(client, db):
    seed(db)
    with db.unit_of_work() as s:
        s.add(OrgUnit(code="legacy_desk", name="Legacy Desk", effective_from=clock.today()))
    login(client, db, role=Role.CLINICIAN)
    legacy = section(client.get("/org").text, "Legacy Desk")
    assert "<dt>Kind of work</dt><dd>Not set" in legacy and "its staff open no patient records" in legacy


def test_a_unit_without_a_lead_is_flagged_on_the_chart(client, db):
    ids = seed(db)
    lead = staff_member(db, role=Role.PHARMACIST, unit="pharmacy")
    with db.unit_of_work() as s:
        s.get(OrgUnit, ids["pharmacy"]).lead_staff_id = lead
        merged = OrgUnit(
            code="old_desk",
            name="Old desk",
            function=None,
            effective_from=clock.today(),
            status="merged",
            merged_into_id=ids["primary_care"],
        )
        s.add(merged)
    login(client, db, role=Role.CLINICIAN)
    html = client.get("/org").text
    badge = (
        '<span class="badge warn no-lead"><span class="visually-hidden">Warning: this unit has </span>No lead</span>'
    )
    assert badge in section(html, "Primary Care") and badge in section(html, "Health Technology")
    assert "No lead" not in section(html, "Pharmacy"), "a unit with a lead is not flagged"
    assert "No lead" not in section(html, "Old desk"), "nor is a merged one: it needs none"
    assert "Appoint a lead" not in html, "only those who may appoint one are offered the form"
    unit_page = client.get(f"/org/units/{ids['benefits']}").text
    assert badge in unit_page

    login(client, db, role=Role.OPERATIONS_LEAD)
    chart = client.get("/org").text
    assert f'<a href="/org/units/{ids["benefits"]}/lead">Appoint a lead for Employer Benefits</a>' in chart
