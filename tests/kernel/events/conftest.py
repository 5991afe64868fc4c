from __future__ import annotations

import pytest

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
