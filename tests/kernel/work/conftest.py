"""The work-queue tests drive the units' queues through the kernel's generic claim and close."""

from collections.abc import Iterator

import pytest

from tests.helpers import generic_work_queues


@pytest.fixture(autouse=True)
def _generic_queues() -> Iterator[None]:
    with generic_work_queues():
        yield
