"""Staff pages and JSON API: list, person page (expiry badges, open work), hiring, licences, CSV upload,
licensure; refusals for people without org.manage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from careplane.kernel import clock
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import Licence, StaffMember
from careplane.kernel.web import CSRF_COOKIE
from careplane.kernel.work.models import WorkItem, WorkQueue
from tests.helpers import api_token, bearer, login, make_user
from tests.kernel.org.test_staff import NPI_A, NPI_B, hire, licence, units_and_teams

DATA = Path(__file__).parent / "data"
NOON = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
TODAY = NOON.date()


def csrf(client) -> str:  # noqa: ANN001
    client.get("/login")
    return client.cookies.get(CSRF_COOKIE)


def count(db, model) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model))


def _doc_with_licences(db):  # noqa: ANN001, ANN202
    ids = units_and_teams(db)
    doc = hire(
        db,
        email="dana@example.org",
        npi=NPI_A,
        unit="virtual_care",
        team="Async West",
        dea_number="AS1234563",
        dea_expires_on=(TODAY + timedelta(days=20)).isoformat(),
    )
    licence(db, doc.id, "NY", "MD", TODAY - timedelta(days=1), number="NY-OLD")
    licence(db, doc.id, "NJ", "MD", TODAY + timedelta(days=45), number="NJ-SOON")
    licence(db, doc.id, "CA", "MD", TODAY + timedelta(days=400), number="CA-LONG")
    with db.unit_of_work() as s:
        queue = WorkQueue(name="Async visits", team_id=ids["Async West"])
        s.add(queue)
        s.flush()
        s.add_all(
            [WorkItem(queue_id=queue.id, kind="visit", title=f"v{i}", assignee_staff_id=doc.id) for i in range(12)]
        )
    return doc


def test_person_page_shows_licences_with_expiry_warnings_and_open_work(client, db):
    clock.travel(NOON)
    doc = _doc_with_licences(db)
    viewer = login(client, db, role=Role.CLINICIAN)
    page = client.get(f"/org/staff/{doc.id}")
    assert page.status_code == 200
    html = page.text
    # the page header still names the person logged in, not the person shown
    assert f'<a href="/profile">{viewer.display_name}</a>' in html
    assert "Dana Brown, MD" in html and NPI_A in html and "AS1234563" in html
    assert 'class="error">2026-05-09' in html and "expired: permits no work" in html  # red
    assert "expires in 45 days" in html and "(20 days)" in html  # amber, licence and DEA
    assert "Async West" in html and "<td>Async visits</td><td>12</td>" in html
    assert "Add a licence" not in html and "Offboard" not in html  # read-only for a clinician
    # The DEA's second letter is S, the name is Brown: flagged for a person to check.
    assert "is not the initial of the last name" in html


def test_staff_list_filters_and_badges(client, db):
    clock.travel(NOON)
    _doc_with_licences(db)
    hire(db, roles="pharmacist", credentials="RPh", npi=NPI_B, display_name="Pat Pharm", email="pat@example.org")
    login(client, db, role=Role.BILLER)
    html = client.get("/org/staff").text
    assert "Dana Brown, MD" in html and "Pat Pharm" in html and '<span class="badge danger">expired</span>' in html
    only_pharmacists = client.get("/org/staff", params={"role": "pharmacist"}).text
    assert "Pat Pharm" in only_pharmacists and "Dana Brown" not in only_pharmacists
    in_vc = client.get("/org/staff", params={"unit": "virtual_care"}).text
    assert "Dana Brown" in in_vc and "Pat Pharm" not in in_vc
    assert "Add a staff member" not in html


def test_operations_lead_adds_staff_and_licences_through_the_forms(client, db):
    clock.travel(NOON)
    units_and_teams(db)
    login(client, db, role=Role.OPERATIONS_LEAD)
    token = csrf(client)
    assert client.get("/org/staff/new").status_code == 200
    bad = client.post(
        "/org/staff/new",
        data={
            "csrf_token": token,
            "email": "x@example.org",
            "display_name": "X",
            "roles": "clinician",
            "npi": "1234567890",
        },
    )
    assert bad.status_code == 422 and "check digit" in bad.text and count(db, StaffMember) == 0
    done = client.post(
        "/org/staff/new",
        data={
            "csrf_token": token,
            "email": "kim@example.org",
            "display_name": "Kim Lee, NP",
            "roles": "clinician",
            "credentials": ["NP", "RN"],
            "npi": NPI_A,
            "unit": "virtual_care",
            "start_date": "2026-05-01",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    staff_url = done.headers["location"]
    assert "Kim Lee, NP" in client.get(staff_url).text
    bad_licence = client.post(
        f"{staff_url}/licences",
        data={"csrf_token": token, "state": "ZZ", "kind": "NP", "number": "1", "expires_on": "2027-01-01"},
    )
    assert bad_licence.status_code == 422 and "Choose a US state" in bad_licence.text
    added = client.post(
        f"{staff_url}/licences",
        data={"csrf_token": token, "state": "TX", "kind": "NP", "number": "AP-1", "expires_on": "2026-06-01"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    with db.unit_of_work() as s:
        lic = s.scalar(select(Licence))
    early = client.post(f"{staff_url}/licences/{lic.id}/renew", data={"csrf_token": token, "expires_on": "2026-01-01"})
    assert early.status_code == 422 and "after the current expiry" in early.text
    renewed = client.post(
        f"{staff_url}/licences/{lic.id}/renew",
        data={"csrf_token": token, "expires_on": "2028-06-01"},
        follow_redirects=False,
    )
    assert renewed.status_code == 303
    with db.unit_of_work() as s:
        assert s.get(Licence, lic.id).expires_on == date(2028, 6, 1)


def test_a_clinician_cannot_add_staff_or_licences(client, db):
    doc = hire(db, npi=NPI_A)
    login(client, db, role=Role.CLINICIAN)
    token = csrf(client)
    assert client.get("/org/staff/new").status_code == 403
    assert (
        client.post(
            "/org/staff/new",
            data={"csrf_token": token, "email": "x@example.org", "display_name": "X", "roles": "biller"},
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/org/staff/{doc.id}/licences",
            data={"csrf_token": token, "state": "NY", "kind": "MD", "number": "1", "expires_on": "2030-01-01"},
        ).status_code
        == 403
    )
    assert client.get("/org/staff/import").status_code == 403
    assert count(db, StaffMember) == 1 and count(db, Licence) == 0


def test_csv_upload_with_one_bad_row_lists_it_and_imports_nothing(client, db):
    units_and_teams(db)
    login(client, db, role=Role.OPERATIONS_LEAD)
    token = csrf(client)
    bad = client.post(
        "/org/staff/import",
        data={"csrf_token": token},
        files={"file": ("staff.csv", (DATA / "staff_one_bad_row.csv").read_bytes(), "text/csv")},
    )
    assert bad.status_code == 422
    assert "nothing was imported" in bad.text and "<td>5</td><td>npi</td>" in bad.text
    assert count(db, StaffMember) == 0
    dry = client.post(
        "/org/staff/import",
        data={"csrf_token": token, "dry_run": "1"},
        files={"file": ("staff.csv", (DATA / "staff_valid.csv").read_bytes(), "text/csv")},
    )
    assert dry.status_code == 200 and "Dry run" in dry.text and "Amara Okafor" in dry.text
    assert count(db, StaffMember) == 0
    done = client.post(
        "/org/staff/import",
        data={"csrf_token": token},
        files={"file": ("staff.csv", (DATA / "staff_valid.csv").read_bytes(), "text/csv")},
    )
    assert done.status_code == 200 and "Imported 4 staff members and 5 licences" in done.text
    assert count(db, StaffMember) == 4 and count(db, Licence) == 5
    not_utf8 = client.post(
        "/org/staff/import",
        data={"csrf_token": token},
        files={"file": ("staff.csv", "email\nzoë@example.org\n".encode("latin-1"), "text/csv")},
    )
    assert not_utf8.status_code == 422 and "not UTF-8" in not_utf8.text


# ---------------------------------------------------------------- API


def test_api_create_get_list_and_licences(client, db):
    clock.travel(NOON)
    units_and_teams(db)
    ops = bearer(api_token(db, make_user(db, role=Role.OPERATIONS_LEAD)))
    created = client.post(
        "/api/v1/org/staff",
        headers={**ops, "Idempotency-Key": "hire-1"},
        json={
            "email": "kim@example.org",
            "name": "Kim Lee, MD",
            "roles": ["clinician"],
            "credentials": ["MD"],
            "npi": NPI_A,
            "unit": "virtual_care",
            "team": "Async West",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["npi"] == NPI_A and body["memberships"][0]["team"] == "Async West" and body["open_work"] == []
    again = client.post(
        "/api/v1/org/staff",
        headers={**ops, "Idempotency-Key": "hire-1"},
        json={
            "email": "kim@example.org",
            "name": "Kim Lee, MD",
            "roles": ["clinician"],
            "credentials": ["MD"],
            "npi": NPI_A,
            "unit": "virtual_care",
            "team": "Async West",
        },
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true" and count(db, StaffMember) == 1
    staff_id = body["id"]
    lic = client.post(
        f"/api/v1/org/staff/{staff_id}/licences",
        headers=ops,
        json={"state": "NY", "kind": "MD", "number": "NY-9", "expires_on": TODAY.isoformat()},
    )
    assert lic.status_code == 201 and lic.json()["status"] == "expiring" and lic.json()["days_left"] == 0
    listed = client.get(f"/api/v1/org/staff/{staff_id}/licences", headers=ops).json()
    assert [x["number"] for x in listed] == ["NY-9"]
    assert [m["email"] for m in client.get("/api/v1/org/staff", headers=ops, params={"role": "clinician"}).json()] == [
        "kim@example.org"
    ]
    assert client.get(f"/api/v1/org/staff/{staff_id}", headers=ops).json()["licences"][0]["state"] == "NY"
    renewed = client.post(
        f"/api/v1/org/staff/{staff_id}/licences/{lic.json()['id']}/renew",
        headers=ops,
        json={"expires_on": "2027-05-10"},
    )
    assert renewed.status_code == 200 and renewed.json()["status"] == "ok"


def test_api_errors_are_problem_json(client, db):
    units_and_teams(db)
    ops = bearer(api_token(db, make_user(db, role=Role.OPERATIONS_LEAD)))
    bad = client.post(
        "/api/v1/org/staff",
        headers=ops,
        json={"email": "x@example.org", "name": "X", "roles": ["clinician"], "npi": "1234567890"},
    )
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert {"field": "npi", "message": "This NPI's check digit is wrong: check for a typing error."} in bad.json()[
        "errors"
    ]
    missing = client.get("/api/v1/org/staff/00000000-0000-0000-0000-000000000000", headers=ops)
    assert missing.status_code == 404 and missing.json()["title"] == "Not found"
    assert client.get("/api/v1/org/staff").status_code == 401


def test_api_refuses_a_clinician_adding_staff_or_licences(client, db):
    doc = hire(db, npi=NPI_A)
    clinician = bearer(api_token(db, make_user(db, role=Role.CLINICIAN)))
    refused = client.post(
        "/api/v1/org/staff", headers=clinician, json={"email": "x@example.org", "name": "X", "roles": ["biller"]}
    )
    assert refused.status_code == 403 and refused.json()["type"].endswith("access-denied")
    assert (
        client.post(
            f"/api/v1/org/staff/{doc.id}/licences",
            headers=clinician,
            json={"state": "NY", "kind": "MD", "number": "1", "expires_on": "2030-01-01"},
        ).status_code
        == 403
    )
    assert client.get("/api/v1/org/staff", headers=clinician).status_code == 200  # every employee may read
    patient = bearer(api_token(db, make_user(db, role=Role.PATIENT)))
    assert client.get("/api/v1/org/staff", headers=patient).status_code == 403
    assert client.get("/api/v1/org/licensure", headers=patient, params={"state": "NY"}).status_code == 403
    assert count(db, StaffMember) == 1


def test_api_licensure_by_state_and_day(client, db):
    clock.travel(NOON)
    doc = hire(db, npi=NPI_A, email="doc@example.org")
    licence(db, doc.id, "NY", "MD", TODAY, number="NY-TODAY")
    reader = bearer(api_token(db, make_user(db, role=Role.PHARMACIST)))
    today = client.get("/api/v1/org/licensure", headers=reader, params={"state": "ny"}).json()
    assert [(c["email"], c["licence"]["number"]) for c in today] == [("doc@example.org", "NY-TODAY")]
    tomorrow = client.get(
        "/api/v1/org/licensure", headers=reader, params={"state": "NY", "on": (TODAY + timedelta(days=1)).isoformat()}
    ).json()
    assert tomorrow == []
    clock.travel(NOON + timedelta(days=1))
    assert client.get("/api/v1/org/licensure", headers=reader, params={"state": "NY"}).json() == []
    bad = client.get("/api/v1/org/licensure", headers=reader, params={"state": "QQ"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "state"


def test_api_may_a_pharmacist_verify_for_a_state_by_day(client, db):
    clock.travel(NOON)
    pharmacist = hire(db, roles="pharmacist", credentials="PharmD;RPh", npi=NPI_B, display_name="Gus Pharm")
    licence(db, pharmacist.id, "NY", "RPh", TODAY, number="NY-TODAY")
    reader = bearer(api_token(db, make_user(db, role=Role.CLINICIAN)))
    url = f"/api/v1/org/staff/{pharmacist.id}/may-verify"
    today = client.get(url, headers=reader, params={"state": "ny"})
    assert today.status_code == 200
    assert today.json() == {"staff_id": str(pharmacist.id), "state": "NY", "on": TODAY.isoformat(), "may_verify": True}
    assert client.get(url, headers=reader, params={"state": "NJ"}).json()["may_verify"] is False
    later = (TODAY + timedelta(days=1)).isoformat()
    assert client.get(url, headers=reader, params={"state": "NY", "on": later}).json()["may_verify"] is False
    clock.travel(NOON + timedelta(days=1))  # expired yesterday: no restart, no job needed
    assert client.get(url, headers=reader, params={"state": "NY"}).json()["may_verify"] is False
    bad = client.get(url, headers=reader, params={"state": "QQ"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "state"
    unknown = client.get(
        "/api/v1/org/staff/00000000-0000-0000-0000-000000000000/may-verify", headers=reader, params={"state": "NY"}
    )
    assert unknown.status_code == 404
    patient = bearer(api_token(db, make_user(db, role=Role.PATIENT)))
    assert client.get(url, headers=patient, params={"state": "NY"}).status_code == 403


def test_api_changes_credentials_and_team_memberships(client, db):
    clock.travel(NOON)
    ids = units_and_teams(db)
    doc = hire(db, npi=NPI_A, unit="virtual_care", team="Async West")
    ops = bearer(api_token(db, make_user(db, role=Role.OPERATIONS_LEAD)))
    url = f"/api/v1/org/staff/{doc.id}"
    changed = client.patch(
        url, headers=ops, json={"credentials": ["MD", "DO"], "dea_number": "AB1234563", "dea_expires_on": "2027-01-31"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["credentials"] == ["MD", "DO"] and changed.json()["dea_number"] == "AB1234563"
    bad = client.patch(url, headers=ops, json={"npi": "1234567890"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "npi"
    assert client.patch(url, headers=ops, json={"email": "x@example.org"}).status_code == 422  # not changeable here

    joined = client.post(f"{url}/teams", headers=ops, json={"team_id": str(ids["Verification"])})
    assert joined.status_code == 201, joined.text
    membership = joined.json()
    assert (membership["team"], membership["unit"], membership["start_date"]) == (
        "Verification",
        "pharmacy",
        TODAY.isoformat(),
    )
    again = client.post(f"{url}/teams", headers=ops, json={"team_id": str(ids["Verification"])})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "team_id"
    left = client.post(f"{url}/teams/{membership['id']}/end", headers=ops, json={})
    assert left.status_code == 200 and left.json()["end_date"] == TODAY.isoformat()
    detail = client.get(url, headers=ops).json()
    assert sorted((m["team"], m["end_date"]) for m in detail["memberships"]) == [
        ("Async West", None),
        ("Verification", TODAY.isoformat()),
    ]
    other = hire(db, npi=NPI_B, roles="pharmacist", credentials="RPh")
    wrong = client.post(f"/api/v1/org/staff/{other.id}/teams/{membership['id']}/end", headers=ops, json={})
    assert wrong.status_code == 404  # the membership belongs to someone else

    clinician = bearer(api_token(db, make_user(db, role=Role.CLINICIAN)))
    assert client.patch(url, headers=clinician, json={"credentials": ["MD"]}).status_code == 403
    assert client.post(f"{url}/teams", headers=clinician, json={"team_id": str(ids["Async West"])}).status_code == 403
    assert client.post(f"{url}/teams/{membership['id']}/end", headers=clinician, json={}).status_code == 403
    assert client.get(url, headers=ops).json()["credentials"] == ["MD", "DO"]


def test_the_staff_list_sorts_by_a_column_and_says_which(client, db):
    clock.travel(NOON)
    _doc_with_licences(db)  # Dana Brown: a licence expired
    hire(db, roles="pharmacist", credentials="RPh", npi=NPI_B, display_name="Pat Pharm", email="pat@example.org")
    login(client, db, role=Role.BILLER)

    def order(**params: str) -> list[str]:
        html = client.get("/org/staff", params=params).text
        return sorted(("Dana Brown", "Pat Pharm"), key=html.index)

    assert order() == ["Dana Brown", "Pat Pharm"]
    assert order(sort="-name") == ["Pat Pharm", "Dana Brown"]
    assert order(sort="expiry")[0] == "Dana Brown"  # the expired licence first
    html = client.get("/org/staff", params={"sort": "-name", "role": ""}).text
    assert 'aria-sort="descending"><a class="sort" href="?unit=&amp;role=&amp;sort=name">Name' in html
    assert client.get("/org/staff", params={"sort": "salary"}).status_code == 200  # unknown: by name
