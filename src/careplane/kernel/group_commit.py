"""Group commit: the writes that reads leave behind (audit rows, last-used stamps), many requests'
in one transaction, each request waiting until its own are durable.

A read through :meth:`careplane.kernel.db.Database.read` takes no write lock. What it must still
write is handed here; the first waiter starts a flush, and every request that finished its read
while that flush was starting or running joins the next one. A request returns only after the
transaction holding its rows has committed, so nothing is disclosed without its audit row; if
that commit fails, every request in it fails with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.sql import Executable

if TYPE_CHECKING:
    from careplane.kernel.db import Database

#: One deferred write: a statement and its parameters.
Write = tuple[Executable, dict[str, Any]]


@dataclass
class _Waiting:
    writes: Sequence[Write]
    done: asyncio.Future[None]


@dataclass
class GroupCommit:
    """One per database and event loop (futures belong to a loop)."""

    db: Database
    _queue: list[_Waiting] = field(default_factory=list)
    _flusher: asyncio.Task[None] | None = None

    async def write(self, writes: Sequence[Write]) -> None:
        """Commit ``writes`` with whatever else is waiting; return when durable."""
        if not writes:
            return
        loop = asyncio.get_running_loop()
        waiting = _Waiting(writes, loop.create_future())
        self._queue.append(waiting)
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush())
        await waiting.done

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    await self.db.commit_writes([write for waiting in batch for write in waiting.writes])
                except Exception as exc:  # noqa: BLE001 - handed to every request in the batch
                    for waiting in batch:
                        if not waiting.done.done():
                            waiting.done.set_exception(exc)
                else:
                    for waiting in batch:
                        if not waiting.done.done():
                            waiting.done.set_result(None)
        finally:
            self._flusher = None
