from __future__ import annotations

import pytest

from careplane import wiring
from careplane.kernel import jobs
from careplane.kernel.db import Database
from careplane.settings import Settings
from tests.kernel.events import sample


@pytest.fixture
def effects(db: Database) -> Database:
    """The database, with an empty effects table for the sample handlers to write."""
    sample.prepare_effects(db)
    return db


@pytest.fixture
def worker_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"worker_max_attempts": 3, "worker_poll_seconds": 0.05})


@pytest.fixture(autouse=True)
def only_this_tests_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers in these tests run only the jobs the test itself registers.

    The real jobs are imported first, so they register in the real registry and are back after the test.
    """
    wiring.load_all()
    monkeypatch.setattr(jobs, "_JOBS", {})
