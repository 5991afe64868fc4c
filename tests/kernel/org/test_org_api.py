"""The organisation JSON API: /api/v1/org."""

from __future__ import annotations

import uuid

from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgChange, OrgUnit, Team
from careplane.kernel.work.models import WorkItem, WorkQueue
from tests.helpers import api_token, bearer, make_user
from tests.kernel.org.test_structure import add_items, count, first_team, seed, staff_member


def auth(db, role: Role = Role.ADMINISTRATOR) -> dict[str, str]:  # noqa: ANN001
    return bearer(api_token(db, make_user(db, role=role)))


def test_units_with_teams_queues_and_open_counts(client, db):
    ids = seed(db)
    team_id, queue_id = first_team(db, ids["virtual_care"])
    staff_member(db, team_id=team_id)
    add_items(db, queue_id, open_=3, done=1)
    response = client.get("/api/v1/org/units", headers=auth(db, Role.CLINICIAN))
    assert response.status_code == 200
    units = {u["code"]: u for u in response.json()}
    assert set(units) == {"virtual_care", "primary_care", "pharmacy", "revenue_cycle", "benefits", "health_tech"}
    (team,) = units["virtual_care"]["teams"]
    assert team["name"] == "Async visits" and team["queues"] == [
        {"id": str(queue_id), "name": "Visit queue", "open_items": 3}
    ]
    assert team["people"][0]["roles"] == ["Clinician"]
    assert {code: u["function"] for code, u in units.items()} == {code: code for code in units}
    one = client.get(f"/api/v1/org/units/{ids['benefits']}", headers=auth(db, Role.BILLER)).json()
    assert one["name"] == "Employer Benefits" and one["status"] == "active"
    assert client.get(f"/api/v1/org/units/{uuid.uuid4()}", headers=auth(db)).status_code == 404
    assert client.get("/api/v1/org/units").status_code == 401
    assert client.get("/api/v1/org/units", headers=auth(db, Role.PATIENT)).status_code == 403


def test_merge_via_api_keeps_everything_and_is_idempotent(client, db):
    ids = seed(db)
    headers = auth(db)
    _, queue_id = first_team(db, ids["pharmacy"])
    add_items(db, queue_id, open_=2)
    before = {m: count(db, m) for m in (OrgUnit, Team, WorkQueue, WorkItem, OrgChange)}
    keyed = {**headers, "Idempotency-Key": "merge-pharmacy-1"}
    body = {"into_unit_id": str(ids["primary_care"]), "effective_on": "2030-07-01"}
    first = client.post(f"/api/v1/org/units/{ids['pharmacy']}/merge", json=body, headers=keyed)
    assert first.status_code == 200, first.text
    assert first.json()["code"] == "primary_care"
    assert {t["name"] for t in first.json()["teams"]} == {"Care teams", "Verification"}
    again = client.post(f"/api/v1/org/units/{ids['pharmacy']}/merge", json=body, headers=keyed)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    after = {m: count(db, m) for m in (OrgUnit, Team, WorkQueue, WorkItem, OrgChange)}
    assert after == {**before, OrgChange: before[OrgChange] + 1}

    merged = client.get(f"/api/v1/org/units/{ids['pharmacy']}", headers=headers).json()
    assert merged["status"] == "merged" and merged["merged_into_id"] == str(ids["primary_care"])
    assert merged["effective_to"] == "2030-07-01" and merged["teams"] == []
    history = client.get(f"/api/v1/org/history?unit_id={ids['pharmacy']}", headers=headers).json()
    assert [c["kind"] for c in history] == ["units.merged", "unit.created"]
    assert history[0]["details"]["people_moved"] == 0 and history[1]["details"]["function"] == "pharmacy"
    assert history[0]["actor"].endswith("@example.org") and history[0]["effective_on"] == "2030-07-01"

    # without a key a repeat is a new request, refused: the unit is merged already
    repeat = client.post(f"/api/v1/org/units/{ids['pharmacy']}/merge", json=body, headers=headers)
    assert repeat.status_code == 422 and repeat.json()["errors"][0]["field"] == "unit_id"
    reused = client.post(f"/api/v1/org/units/{ids['benefits']}/merge", json=body, headers=keyed)
    assert reused.status_code == 422 and "Idempotency" in reused.json()["title"]


def test_create_team_queue_move_split_and_patch(client, db):
    ids = seed(db)
    headers = auth(db, Role.OPERATIONS_LEAD)
    lead = staff_member(db, role=Role.OPERATIONS_LEAD)
    unit = client.post(
        "/api/v1/org/units",
        json={"code": "care_nav", "name": "Care Navigation", "function": "primary_care"},
        headers=headers,
    )
    assert unit.status_code == 201, unit.text
    assert unit.json()["function"] == "primary_care"
    unit_id = unit.json()["id"]
    team = client.post("/api/v1/org/teams", json={"unit_id": unit_id, "name": "Navigators"}, headers=headers)
    assert team.status_code == 201 and team.json()["unit_id"] == unit_id
    queue = client.post("/api/v1/org/queues", json={"team_id": team.json()["id"], "name": "Callbacks"}, headers=headers)
    assert queue.status_code == 201 and queue.json()["name"] == "Callbacks"
    add_items(db, uuid.UUID(queue.json()["id"]), open_=4)

    moved = client.post(
        f"/api/v1/org/teams/{team.json()['id']}/move", json={"unit_id": str(ids["primary_care"])}, headers=headers
    )
    assert moved.status_code == 200 and moved.json()["unit_id"] == str(ids["primary_care"])
    assert moved.json()["queues"] == [{"id": queue.json()["id"], "name": "Callbacks", "open_items": 4}]

    split = client.post(
        f"/api/v1/org/units/{ids['primary_care']}/split",
        json={"new_code": "navigation", "new_name": "Navigation", "team_ids": [team.json()["id"]]},
        headers=headers,
    )
    assert split.status_code == 201 and [t["name"] for t in split.json()["teams"]] == ["Navigators"]
    assert split.json()["function"] == "primary_care"  # inherited from Primary Care

    patched = client.patch(
        f"/api/v1/org/units/{unit_id}", json={"name": "Care Nav", "lead_staff_id": str(lead)}, headers=headers
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Care Nav" and patched.json()["lead_name"] == "Test Operations lead"
    cleared = client.patch(f"/api/v1/org/units/{unit_id}", json={"lead_staff_id": None}, headers=headers)
    assert cleared.json()["lead_staff_id"] is None
    kinds = [c["kind"] for c in client.get("/api/v1/org/history", headers=headers).json()]
    assert kinds[:7] == [
        "unit.lead_changed",
        "unit.lead_changed",
        "unit.renamed",
        "unit.split",
        "team.moved",
        "queue.created",
        "team.created",
    ]


def test_refusals_and_field_errors(client, db):
    ids = seed(db)
    clinician = auth(db, Role.CLINICIAN)
    refused = client.post(
        f"/api/v1/org/units/{ids['pharmacy']}/merge", json={"into_unit_id": str(ids["primary_care"])}, headers=clinician
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (
        client.post(
            "/api/v1/org/units", json={"code": "x_unit", "name": "X", "function": "pharmacy"}, headers=clinician
        ).status_code
        == 403
    )

    headers = auth(db)
    bad = client.post(
        "/api/v1/org/units", json={"code": "Pharmacy", "name": " ", "function": "dentistry"}, headers=headers
    )
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in bad.json()["errors"]} == {"code", "name", "function"}
    itself = client.post(
        f"/api/v1/org/units/{ids['pharmacy']}/merge", json={"into_unit_id": str(ids["pharmacy"])}, headers=headers
    )
    assert itself.status_code == 422 and itself.json()["errors"] == [
        {"field": "into_unit_id", "message": "A unit cannot be merged into itself."}
    ]
    unknown_unit = client.post(
        f"/api/v1/org/units/{ids['pharmacy']}/merge", json={"into_unit_id": str(uuid.uuid4())}, headers=headers
    )
    assert unknown_unit.status_code == 422 and unknown_unit.json()["errors"][0]["field"] == "into_unit_id"
    team_id, _ = first_team(db, ids["virtual_care"])
    client.post(
        f"/api/v1/org/units/{ids['benefits']}/merge", json={"into_unit_id": str(ids["pharmacy"])}, headers=headers
    )
    into_merged = client.post(
        f"/api/v1/org/teams/{team_id}/move", json={"unit_id": str(ids["benefits"])}, headers=headers
    )
    assert into_merged.status_code == 422 and into_merged.json()["errors"][0]["field"] == "unit_id"
    empty_patch = client.patch(f"/api/v1/org/units/{ids['pharmacy']}", json={}, headers=headers)
    assert empty_patch.status_code == 422
    unknown = client.post(
        "/api/v1/org/teams", json={"unit_id": str(ids["pharmacy"]), "name": "A", "extra": 1}, headers=headers
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "extra"
    assert (
        client.post(
            f"/api/v1/org/teams/{uuid.uuid4()}/move", json={"unit_id": str(ids["pharmacy"])}, headers=headers
        ).status_code
        == 404
    )
    assert count(db, OrgChange) == 7  # the six seeds and the one merge


def test_a_new_unit_needs_its_kind_of_work(client, db):
    seed(db)
    headers = auth(db, Role.OPERATIONS_LEAD)
    missing = client.post("/api/v1/org/units", json={"code": "care_nav", "name": "Care Navigation"}, headers=headers)
    assert missing.status_code == 422 and missing.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in missing.json()["errors"]] == ["function"]
    for value, message in (
        ("", "Choose what kind of work the unit does."),
        (
            "care",
            "Choose one of the kinds of work: Virtual Care, Primary Care, Pharmacy, "
            "Revenue Cycle, Employer Benefits, Health Technology.",
        ),
    ):
        refused = client.post(
            "/api/v1/org/units",
            json={"code": "care_nav", "name": "Care Navigation", "function": value},
            headers=headers,
        )
        assert refused.status_code == 422
        assert refused.json()["errors"] == [{"field": "function", "message": message}]
    assert count(db, OrgUnit) == 6
    created = client.post(
        "/api/v1/org/units",
        json={"code": "care_nav", "name": "Care Navigation", "function": "virtual_care"},
        headers=headers,
    )
    assert created.status_code == 201 and created.json()["function"] == "virtual_care"
    fetched = client.get(f"/api/v1/org/units/{created.json()['id']}", headers=headers).json()
    assert fetched["function"] == "virtual_care"


def test_openapi_documents_the_function_field(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    create = schemas["UnitCreate"]
    assert "function" in create["required"]
    field = create["properties"]["function"]
    assert field["enum"] == ["virtual_care", "primary_care", "pharmacy", "revenue_cycle", "benefits", "health_tech"]
    assert "patient records" in field["description"] and field["examples"] == ["primary_care"]
    assert "function" in schemas["UnitOut"]["properties"]
