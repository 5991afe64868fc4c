"""Runs a real worker process against a database: ``python -m tests.kernel.events.worker_script URL``.

Works until it has done something and then finds nothing more to do (or a deadline passes: a
PostgreSQL backend of a killed worker may hold its row lock for a moment), then prints the count.
"""

from __future__ import annotations

import sys
import time

from careplane import wiring
from careplane.kernel import jobs
from careplane.kernel.db import Database
from careplane.kernel.worker import Worker
from careplane.settings import Settings
from tests.kernel.events import sample  # noqa: F401 - registers the handlers


def main(url: str, deadline_seconds: float = 20.0) -> int:
    settings = Settings(database_url=url, secret_key="x", worker_max_attempts=3, _env_file=None)  # type: ignore[call-arg]
    db = Database(url)
    # Deliveries only: the platform's own scheduled jobs would blur the count this test reads.
    wiring.load_all()
    jobs._JOBS.clear()
    worker = Worker(db, settings, name="subprocess")
    total = 0
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        done = worker.run_once()
        total += done
        if total and not done:
            break
        if not done:
            time.sleep(0.1)
    print(total)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
