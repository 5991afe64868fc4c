"""The work-queue JSON API: /api/v1/work (queues, items, claim, assign, release, complete)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from tests.helpers import api_token, bearer
from tests.kernel.work.builders import VISITS, item, patient, person, seed, staff_id


def auth(db: Database, actor: Actor) -> dict[str, str]:
    with db.unit_of_work() as s:
        user = s.get(User, actor.user_id)
    return bearer(api_token(db, user))


def test_a_clinician_lists_claims_and_completes_and_retries_replay(client, db):
    ids = seed(db)
    clinician = person(db, licences=("TX",))
    headers = auth(db, clinician)
    pid = patient(db)
    visit = item(
        db,
        VISITS.key,
        title="Sore throat",
        patient_id=pid,
        state="TX",
        due_at=clock.now() - timedelta(minutes=1),
        subject_type="virtual_care.visit",
        subject_id="v-1",
    )
    item(db, VISITS.key, title="Rash")

    queues = client.get("/api/v1/work/queues", headers=headers).json()
    assert [(q["key"], q["open_items"], q["overdue"], q["unassigned"]) for q in queues] == [(VISITS.key, 2, 1, 2)]
    page = client.get(f"/api/v1/work/queues/{ids[VISITS.key]}/items?limit=1", headers=headers).json()
    assert (page["total"], page["next_offset"], page["queue"]) == (2, 1, "Virtual Care / Async visits / Visit queue")
    (first,) = page["items"]
    assert (first["title"], first["overdue"], first["patient_id"], first["state"]) == (
        "Sore throat",
        True,
        str(pid),
        "TX",
    )
    assert first["seconds_left"] < 0 and first["subject_id"] == "v-1"

    keyed = {**headers, "Idempotency-Key": "claim-1"}
    claimed = client.post(f"/api/v1/work/items/{visit}/claim", headers=keyed)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["assignee_staff_id"] == str(staff_id(db, clinician)) and claimed.json()["claimed_at"]
    again = client.post(f"/api/v1/work/items/{visit}/claim", headers=keyed)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == claimed.json()

    done = client.post(f"/api/v1/work/items/{visit}/complete", headers={**headers, "Idempotency-Key": "done-1"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    replay = client.post(f"/api/v1/work/items/{visit}/complete", headers={**headers, "Idempotency-Key": "done-1"})
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    unkeyed = client.post(f"/api/v1/work/items/{visit}/complete", headers=headers)
    assert unkeyed.status_code == 409 and unkeyed.headers["content-type"] == "application/problem+json"
    mine = client.get(f"/api/v1/work/queues/{ids[VISITS.key]}/items?status=done&assignee=me", headers=headers).json()
    assert [i["title"] for i in mine["items"]] == ["Sore throat"]


def test_refusals_are_problems_that_say_why(client, db):
    ids = seed(db)
    ny = person(db, licences=("NY",))
    texan = person(db, licences=("TX",))
    pharmacist = person(db, Role.PHARMACIST)
    visit = item(db, VISITS.key, state="TX")

    refused = client.post(f"/api/v1/work/items/{visit}/claim", headers=auth(db, ny))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert "no DO/MD/NP/PA licence for TX valid today" in refused.json()["detail"]
    hidden = client.get(f"/api/v1/work/queues/{ids[VISITS.key]}/items", headers=auth(db, pharmacist))
    assert hidden.status_code == 403 and "worked by the staff of Virtual Care" in hidden.json()["detail"]
    assert client.post(f"/api/v1/work/items/{visit}/claim", headers=auth(db, texan)).status_code == 200
    taken = client.post(f"/api/v1/work/items/{visit}/claim", headers=auth(db, person(db, licences=("TX",))))
    assert taken.status_code == 409 and "already taken" in taken.json()["detail"]
    assert client.post(f"/api/v1/work/items/{uuid.uuid4()}/claim", headers=auth(db, texan)).status_code == 404
    bad = client.get(f"/api/v1/work/queues/{ids[VISITS.key]}/items?status=closed&limit=0", headers=auth(db, texan))
    assert bad.status_code == 422
    assert client.get("/api/v1/work/queues").status_code == 401


def test_the_operations_lead_sees_every_queue_and_hands_work_out(client, db):
    ids = seed(db)
    lead = person(db, Role.OPERATIONS_LEAD, unit="primary_care")
    headers = auth(db, lead)
    ny, texan = person(db, licences=("NY",)), person(db, licences=("TX",))
    visit = item(db, VISITS.key, state="TX")

    assert len(client.get("/api/v1/work/queues", headers=headers).json()) == 6
    wrong = client.post(f"/api/v1/work/items/{visit}/assign", json={"staff_id": str(staff_id(db, ny))}, headers=headers)
    assert wrong.status_code == 422 and [e["field"] for e in wrong.json()["errors"]] == ["staff_id"]
    given = client.post(
        f"/api/v1/work/items/{visit}/assign", json={"staff_id": str(staff_id(db, texan))}, headers=headers
    )
    assert given.status_code == 200 and given.json()["assignee_staff_id"] == str(staff_id(db, texan))
    mine = client.get(f"/api/v1/work/queues/{ids[VISITS.key]}/items?assignee=me", headers=auth(db, texan)).json()
    assert [i["id"] for i in mine["items"]] == [str(visit)]
    back = client.post(f"/api/v1/work/items/{visit}/release", headers=headers)
    assert back.status_code == 200 and back.json()["assignee_staff_id"] is None
    also = client.post(f"/api/v1/work/items/{visit}/assign", json={"staff_id": None}, headers=headers)
    assert also.status_code == 200 and also.json()["assignee_staff_id"] is None
    by_clinician = client.post(
        f"/api/v1/work/items/{visit}/assign", json={"staff_id": str(staff_id(db, texan))}, headers=auth(db, texan)
    )
    assert by_clinician.status_code == 403
