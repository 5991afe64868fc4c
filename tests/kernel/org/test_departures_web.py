"""Offboarding through the pages and the JSON API: access refused on the next request, the
hand-over report per unit, incomplete until every unit reported, and who may offboard."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from careplane.kernel.db import Database
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import Departure, OrgUnit, StaffMember, Team
from careplane.kernel.web import CSRF_COOKIE
from careplane.kernel.work.models import WorkItem, WorkQueue
from careplane.settings import Settings
from tests import a11y
from tests.helpers import api_token, bearer, login, make_user
from tests.kernel.org.test_departures import START, UNITS, add_items, lead_actor, make_org, make_staff, offboard
from tests.kernel.org.test_handover import drain


def staff_of(db: Database, user) -> StaffMember:  # noqa: ANN001
    with db.unit_of_work() as s:
        staff = StaffMember(user_id=user.id, start_date=START, credentials=["MD"])
        s.add(staff)
    return staff


def csrf(client: TestClient) -> str:
    if not client.cookies.get(CSRF_COOKIE):
        client.get("/login")
    return client.cookies.get(CSRF_COOKIE)


def test_an_offboarded_clinicians_session_and_token_are_refused_on_the_next_request(db: Database, client: TestClient):
    make_org(db)
    clinician = login(client, db, role=Role.CLINICIAN)
    leaver = staff_of(db, clinician)
    token = api_token(db, clinician)
    _, successor = make_staff(db)
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    offboard(db, lead_actor(db), leaver, successor_staff_id=successor.id)

    page = client.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    api = client.get("/api/v1/me", headers=bearer(token))
    assert api.status_code == 401 and api.headers["content-type"].startswith("application/problem+json")


def test_offboarding_through_the_pages_shows_the_report_until_complete(
    db: Database, client: TestClient, settings: Settings
):
    queues = make_org(db)
    login(client, db, role=Role.OPERATIONS_LEAD)
    _, leaver = make_staff(db, name="Dr Ada Leaving")
    _, successor = make_staff(db, name="Dr Grace Next")
    visits = add_items(db, queues["virtual_care"], leaver, 12, kind="visit")
    checks = add_items(db, queues["pharmacy"], leaver, 1, kind="verification")

    form = client.get(f"/org/staff/{leaver.id}/offboard")
    assert form.status_code == 200
    assert "12 open visits" in form.text and "1 open verification" in form.text
    assert "Dr Grace Next" in form.text and "Pharmacy / Pharmacy team / Pharmacy queue" in form.text
    assert f'value="{leaver.id}"' not in form.text, "the leaver is not offered as their own successor"

    refused = client.post(f"/org/staff/{leaver.id}/offboard", data={"csrf_token": csrf(client)})
    assert refused.status_code == 422 and "exactly one" in refused.text
    no_csrf = client.post(f"/org/staff/{leaver.id}/offboard", data={"successor_staff_id": str(successor.id)})
    assert no_csrf.status_code == 403

    done = client.post(
        f"/org/staff/{leaver.id}/offboard",
        data={"csrf_token": csrf(client), "successor_staff_id": str(successor.id), "reason": "Retiring"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with db.unit_of_work() as s:
        departure = s.scalar(select(Departure).where(Departure.staff_id == leaver.id))
    assert done.headers["location"] == f"/org/departures/{departure.id}"

    report = client.get(done.headers["location"])
    assert "Incomplete - waiting for:" in report.text
    for name in UNITS.values():
        assert name in report.text
    assert f'hx-get="/org/departures/{departure.id}/report"' in report.text and 'hx-trigger="every' in report.text

    drain(db, settings)

    fragment = client.get(f"/org/departures/{departure.id}/report")
    assert "Complete" in fragment.text and "Incomplete" not in fragment.text
    assert "hx-trigger" not in fragment.text, "polling stops once complete"
    assert "12 visits" in fragment.text and "1 verification" in fragment.text
    assert "<html" not in fragment.text
    listing = client.get("/org/departures")
    assert "Dr Ada Leaving" in listing.text and "complete" in listing.text
    with db.unit_of_work() as s:
        owners = {i.assignee_staff_id for i in s.scalars(select(WorkItem).where(WorkItem.id.in_(visits + checks)))}
    assert owners == {successor.id}
    again = client.get(f"/org/staff/{leaver.id}/offboard", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].endswith(str(departure.id))
    history = client.get("/org/history")
    assert "Dr Ada Leaving offboarded (last day" in history.text
    assert "13 open work items handed over to Dr Grace Next" in history.text and "staff.offboarded" in history.text


def test_a_clinician_cannot_offboard(db: Database, client: TestClient):
    make_org(db)
    clinician = login(client, db, role=Role.CLINICIAN)
    token = api_token(db, clinician)
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    assert client.get(f"/org/staff/{leaver.id}/offboard").status_code == 403
    posted = client.post(
        f"/org/staff/{leaver.id}/offboard", data={"csrf_token": csrf(client), "successor_staff_id": str(successor.id)}
    )
    assert posted.status_code == 403
    api = client.post(
        f"/api/v1/org/staff/{leaver.id}/offboard", json={"successor_staff_id": str(successor.id)}, headers=bearer(token)
    )
    assert api.status_code == 403
    assert client.get("/org/departures").status_code == 403
    with db.unit_of_work() as s:
        assert s.get(StaffMember, leaver.id).status == "active"


def test_the_json_api_offboards_and_reports_per_unit(db: Database, client: TestClient, settings: Settings):
    queues = make_org(db)
    lead = make_user(db, role=Role.OPERATIONS_LEAD)
    headers = bearer(api_token(db, lead))
    _, leaver = make_staff(db)
    add_items(db, queues["revenue_cycle"], leaver, 2, kind="denial")
    url = f"/api/v1/org/staff/{leaver.id}/offboard"

    preview = client.get(url, headers=headers).json()
    assert next(u for u in preview["units"] if u["unit_code"] == "revenue_cycle")["open_items"] == {"denial": 2}

    both = client.post(
        url,
        json={"successor_staff_id": str(leaver.id), "successor_queue_id": str(queues["pharmacy"].id)},
        headers=headers,
    )
    assert both.status_code == 422 and [e["field"] for e in both.json()["errors"]] == ["successor"]

    body = {"successor_queue_id": str(queues["revenue_cycle"].id), "reason": "contract ended"}
    key = {**headers, "Idempotency-Key": "offboard-1"}
    made = client.post(url, json=body, headers=key)
    assert made.status_code == 201, made.text
    data = made.json()
    assert data["complete"] is False and data["waiting_for"] == sorted(UNITS)
    assert data["successor"] == "Revenue Cycle / Revenue Cycle team / Revenue Cycle queue"
    replay = client.post(url, json=body, headers=key)
    assert (
        replay.status_code == 201
        and replay.headers["Idempotent-Replayed"] == "true"
        and replay.json()["id"] == data["id"]
    )
    assert client.post(url, json=body, headers=headers).status_code == 409

    drain(db, settings)
    read = client.get(f"/api/v1/org/departures/{data['id']}", headers=headers).json()
    assert read["complete"] is True and read["waiting_for"] == []
    assert {r["unit_code"]: r["moved"] for r in read["reports"]}["revenue_cycle"] == {"denial": 2}
    assert all(r["reported"] for r in read["reports"])
    assert client.get(f"/api/v1/org/departures/{leaver.id}", headers=headers).status_code == 404
    assert re.fullmatch(r"[0-9a-f-]{36}", read["id"])
    history = client.get("/api/v1/org/history", headers=headers).json()
    entry = next(c for c in history if c["kind"] == "staff.offboarded")
    assert (entry["details"]["departure_id"], entry["details"]["items_handed_over"]) == (data["id"], 2)
    assert (
        "2 open work items handed over to Revenue Cycle / Revenue Cycle team / Revenue Cycle queue" in entry["summary"]
    )


def make_uncovered_queue(db: Database):  # noqa: ANN201
    """A unit made before units had a kind of work: no hand-over covers its queue."""
    with db.unit_of_work() as s:
        unit = OrgUnit(code="old_desk", name="Old desk", function=None, effective_from=START)
        queue = WorkQueue(name="Old queue", team=Team(name="Old team", unit=unit, effective_from=START))
        s.add_all([unit, queue])
    return queue


def test_the_api_refuses_to_leave_uncovered_work_behind_until_confirmed(db: Database, client: TestClient):
    queues = make_org(db)
    old_queue = make_uncovered_queue(db)
    headers = bearer(api_token(db, make_user(db, role=Role.OPERATIONS_LEAD)))
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    add_items(db, old_queue, leaver, 2, kind="note")
    add_items(db, queues["virtual_care"], leaver, 1)
    url = f"/api/v1/org/staff/{leaver.id}/offboard"
    body = {"successor_staff_id": str(successor.id)}

    refused = client.post(url, json=body, headers={**headers, "Idempotency-Key": "leave-1"})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/uncovered-work") and problem["status"] == 409
    assert problem["uncovered_items"] == 2
    assert problem["uncovered_units"] == [{"unit_code": "old_desk", "unit": "Old desk", "open_items": {"note": 2}}]
    assert "2 open work items in Old desk" in problem["detail"] and '"confirm_uncovered": true' in problem["detail"]
    with db.unit_of_work() as s:
        assert s.get(StaffMember, leaver.id).status == "active"
        assert s.scalar(select(Departure).where(Departure.staff_id == leaver.id)) is None

    made = client.post(url, json={**body, "confirm_uncovered": True}, headers={**headers, "Idempotency-Key": "leave-1"})
    assert made.status_code == 201, made.text


def test_the_offboarding_form_asks_to_confirm_work_no_hand_over_covers(db: Database, client: TestClient):
    queues = make_org(db)
    old_queue = make_uncovered_queue(db)
    login(client, db, role=Role.OPERATIONS_LEAD)
    _, leaver = make_staff(db, name="Dr Ada Leaving")
    _, successor = make_staff(db)
    _, covered = make_staff(db)
    add_items(db, old_queue, leaver, 1, kind="note")
    add_items(db, queues["virtual_care"], covered, 1)
    url = f"/org/staff/{leaver.id}/offboard"
    assert "confirm_uncovered" not in client.get(f"/org/staff/{covered.id}/offboard").text, "only asked when needed"

    form = client.get(url)
    assert 'name="confirm_uncovered"' in form.text and "will not be handed over" in form.text
    assert a11y.problems(form.text) == []

    refused = client.post(url, data={"csrf_token": csrf(client), "successor_staff_id": str(successor.id)})
    assert refused.status_code == 409
    assert 'id="f-confirm_uncovered-error"' in refused.text and 'href="#f-confirm_uncovered"' in refused.text
    assert "1 open work item in Old desk will not be handed over" in refused.text
    assert 'aria-invalid="true"' in refused.text and f'value="{successor.id}" selected' in refused.text
    assert a11y.problems(refused.text) == []
    with db.unit_of_work() as s:
        assert s.get(StaffMember, leaver.id).status == "active"

    done = client.post(
        url,
        data={"csrf_token": csrf(client), "successor_staff_id": str(successor.id), "confirm_uncovered": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with db.unit_of_work() as s:
        assert s.get(StaffMember, leaver.id).status == "departed"
