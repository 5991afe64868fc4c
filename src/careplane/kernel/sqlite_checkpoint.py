"""SQLite: the write-ahead log is moved into the database file on a thread of its own.

In WAL mode every commit appends to the log, and by default the commit that takes the log past
1,000 pages also checkpoints it: copies the pages into the database file and syncs it to disk.
Group commits (:mod:`careplane.kernel.group_commit`) run on the event loop, so that checkpoint
held up every request in flight; it was the p99 of bench/patient_read.py (up to 600 ms, against
18 ms without it). Commits therefore never checkpoint (``wal_autocheckpoint=0``, set on every
connection) and this thread does, PASSIVE (it never waits for a reader or a writer), twice a
second. sqlite3 lets go of the GIL while it copies and syncs.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("careplane.db")

#: Seconds between checkpoints.
EVERY = 0.5


class Checkpointer:
    """Checkpoints one SQLite database file on a connection of its own (never one from the
    engine's pool, which a burst of requests may have taken)."""

    def __init__(self, path: str, every: float = EVERY) -> None:
        self.path = Path(path).resolve()
        self.every = every
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        #: Checkpoints that ran (a failed one is counted in ``failures`` instead).
        self.runs = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ensure_running(self) -> None:
        """Start the thread, if it is not running (first write, or again after :meth:`stop`)."""
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._stop.clear()
                    self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
                    self._thread.start()

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, pages in the log, pages checkpointed); all -1 before
        the database file exists."""
        with self._lock:
            if self._connection is None:
                if not self.path.exists():
                    return -1, -1, -1
                self._connection = sqlite3.connect(
                    f"{self.path.as_uri()}?mode=rw", uri=True, check_same_thread=False, isolation_level=None
                )
            busy, in_log, moved = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return busy, in_log, moved

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.checkpoint()
            except Exception:  # noqa: BLE001 - a failed checkpoint is tried again next time
                log.exception("SQLite checkpoint failed")
                self.failures += 1
            else:
                self.runs += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
