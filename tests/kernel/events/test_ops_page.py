"""The operations page for events and jobs: who may see it, dead letters, replay."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from careplane.kernel import clock
from careplane.kernel.events import DEAD, PENDING, EventDelivery, publish
from careplane.kernel.identity.roles import Role
from careplane.kernel.jobs import JobSchedule
from careplane.kernel.web import CSRF_COOKIE, CSRF_FIELD
from careplane.kernel.worker import Worker
from tests.helpers import login
from tests.kernel.events.sample import SampleHappened


def _dead_letter(db, settings, ref="poison"):
    with db.unit_of_work() as s:
        publish(s, SampleHappened(ref=ref, mode="fail"))
    Worker(db, settings.model_copy(update={"worker_max_attempts": 1})).run_once()
    with db.unit_of_work() as s:
        delivery = s.scalar(select(EventDelivery).where(EventDelivery.status == DEAD))
    assert delivery is not None
    return delivery


def _status(db, delivery_id):
    with db.unit_of_work() as s:
        return s.get(EventDelivery, delivery_id).status


def test_clinician_is_refused(client, effects):
    login(client, effects, role=Role.CLINICIAN)
    assert client.get("/ops/events").status_code == 403
    assert "Events &amp; jobs" not in client.get("/").text


def test_anonymous_is_sent_to_log_in(client, effects):
    response = client.get("/ops/events", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_operations_lead_sees_dead_letter_and_jobs(client, effects, settings):
    delivery = _dead_letter(effects, settings)
    with effects.unit_of_work() as s:
        s.add(
            JobSchedule(
                name="billing.statements",
                schedule="cron 0 2 * * *",
                next_run_at=clock.now() + timedelta(hours=3),
                last_run_at=clock.now(),
                last_status="failed",
                last_error="printer offline",
            )
        )
    login(client, effects, role=Role.OPERATIONS_LEAD)
    page = client.get("/ops/events")
    assert page.status_code == 200
    assert "downstream refused poison" in page.text
    assert f"/ops/events/{delivery.id}/replay" in page.text
    assert "tests.kernel.events.sample.record_effect" in page.text
    assert "billing.statements" in page.text and "printer offline" in page.text
    assert 'href="/ops/events"' in page.text  # the nav item


def test_replay_one_and_all(client, effects, settings):
    first = _dead_letter(effects, settings, "p1")
    login(client, effects, role=Role.OPERATIONS_LEAD)
    client.get("/ops/events")
    token = client.cookies[CSRF_COOKIE]

    # Without the CSRF token the form is refused and nothing changes.
    assert client.post(f"/ops/events/{first.id}/replay").status_code == 403
    assert _status(effects, first.id) == DEAD

    response = client.post(f"/ops/events/{first.id}/replay", data={CSRF_FIELD: token}, follow_redirects=False)
    assert response.status_code == 303
    assert _status(effects, first.id) == PENDING
    # Replaying it again is a conflict: it is no longer dead.
    assert client.post(f"/ops/events/{first.id}/replay", data={CSRF_FIELD: token}).status_code == 409
    assert client.post(f"/ops/events/{uuid.uuid4()}/replay", data={CSRF_FIELD: token}).status_code == 404

    second = _dead_letter(effects, settings, "p2")
    response = client.post("/ops/events/replay-dead", data={CSRF_FIELD: token}, follow_redirects=False)
    assert response.status_code == 303
    assert _status(effects, second.id) == PENDING


def test_clinician_cannot_replay(client, effects, settings):
    delivery = _dead_letter(effects, settings)
    login(client, effects, role=Role.CLINICIAN)
    client.get("/")
    token = client.cookies[CSRF_COOKIE]
    assert client.post(f"/ops/events/{delivery.id}/replay", data={CSRF_FIELD: token}).status_code == 403
    assert client.post("/ops/events/replay-dead", data={CSRF_FIELD: token}).status_code == 403
    assert _status(effects, delivery.id) == DEAD
