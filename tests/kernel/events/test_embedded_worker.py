"""The worker app.py runs inside ``careplane serve`` (embedded mode) delivers, and stops with the app."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from careplane.app import create_app
from careplane.kernel.events import DONE, EventDelivery, publish
from tests.kernel.events import sample
from tests.kernel.events.sample import SampleHappened


def _worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "careplane-worker-embedded"]


def test_app_runs_the_worker_while_it_serves(effects, worker_settings):
    app = create_app(worker_settings, effects, run_worker=True)
    with TestClient(app):
        assert len(_worker_threads()) == 1
        with effects.unit_of_work() as s:
            event_id = publish(s, SampleHappened(ref="embedded"))
        deadline = time.monotonic() + 15
        status = None
        while time.monotonic() < deadline and status != DONE:
            time.sleep(0.05)
            with effects.unit_of_work() as s:
                status = s.scalar(select(EventDelivery.status).where(EventDelivery.event_id == event_id))
        assert status == DONE
    assert _worker_threads() == []
    assert sample.effect_count(effects, "embedded") == 1


def test_app_without_run_worker_starts_no_worker(effects, worker_settings):
    with TestClient(create_app(worker_settings, effects)):
        assert _worker_threads() == []
