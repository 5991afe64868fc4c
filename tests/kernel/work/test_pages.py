"""The work-queue pages: the queue list, a queue's items with deadlines, and the claim, done and
put-back buttons, refused or told "taken" as the service decides."""

from __future__ import annotations

from datetime import timedelta

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.web import SESSION_COOKIE
from careplane.kernel.work.models import WorkItem
from tests.helpers import session_cookie
from tests.kernel.work.builders import VERIFY, VISITS, item, patient, person, seed, staff_id


def log_in(client, db: Database, actor: Actor) -> str:  # noqa: ANN001
    with db.unit_of_work() as s:
        user = s.get(User, actor.user_id)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, session_cookie(db, client.app.state.settings, user))
    client.get("/work")
    return client.cookies.get("cp_csrf")


def test_a_clinician_sees_the_queue_claims_and_finishes(client, db):
    ids = seed(db)
    pid = patient(db)
    late = item(db, VISITS.key, title="Sore throat", patient_id=pid, due_at=clock.now() - timedelta(minutes=90))
    item(db, VISITS.key, title="Rash", due_at=clock.now() + timedelta(hours=3))
    clinician = person(db)
    csrf = log_in(client, db, clinician)

    listing = client.get("/work")
    assert listing.status_code == 200 and f'href="/work/queues/{ids[VISITS.key]}"' in listing.text
    page = client.get(f"/work/queues/{ids[VISITS.key]}")
    assert page.status_code == 200
    assert page.text.index("Sore throat") < page.text.index("Rash"), "overdue first"
    assert "late by 1 h 30 min" in page.text and f"/patients/{pid}" in page.text

    back = f"/work/queues/{ids[VISITS.key]}?view=open&offset=0"
    claimed = client.post(f"/work/items/{late}/claim", data={"csrf_token": csrf, "back": back}, follow_redirects=False)
    assert claimed.status_code == 303 and claimed.headers["location"] == back
    mine = client.get(f"/work/queues/{ids[VISITS.key]}?view=mine")
    assert "Sore throat" in mine.text and "Rash" not in mine.text and "Put back" in mine.text

    other = person(db)
    other_csrf = log_in(client, db, other)
    taken = client.post(
        f"/work/items/{late}/claim",
        data={"csrf_token": other_csrf, "back": "https://evil.example"},
        follow_redirects=False,
    )
    assert taken.status_code == 303 and taken.headers["location"] == "/work"
    assert "already taken" in client.get("/work").text
    refused = client.post(f"/work/items/{late}/complete", data={"csrf_token": other_csrf}, follow_redirects=False)
    assert refused.status_code == 403
    with db.unit_of_work() as s:
        assert s.get(WorkItem, late).assignee_staff_id == staff_id(db, clinician)


def test_someone_outside_the_queue_is_refused_its_page(client, db):
    ids = seed(db)
    log_in(client, db, person(db, Role.PHARMACIST))
    assert client.get(f"/work/queues/{ids[VISITS.key]}").status_code == 403
    assert "You work in no queue" in client.get("/work").text, "verification is its team's alone"
    log_in(client, db, person(db, Role.PHARMACIST, team_of=ids[VERIFY.key]))
    assert f'href="/work/queues/{ids[VERIFY.key]}"' in client.get("/work").text
