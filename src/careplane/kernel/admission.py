"""How many requests may be inside a unit of work at once, and how long the others queue.

A request's unit of work runs in several thread-pool tasks (its dependencies, its handler, the
commit), and between them it may hold a lock: SQLite's writer (kernel.sqlite_writer) or a
PostgreSQL row lock. If every thread of the pool were taken by requests waiting for that lock,
the holder could not get a thread to finish, and all of them would wait until they timed out.
So requests queue *here*, on the event loop, where waiting costs no thread, and at most one
fewer than the pool's threads are let in: the holder always finds a thread. A request that
waits longer than the admission wait gets 503 with ``Retry-After`` and nothing is done.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread

from careplane.kernel.errors import Overloaded


class Admission:
    """One per app: a queue for each event loop that serves it (asyncio primitives belong to one loop)."""

    def __init__(self, wait_seconds: float, *, slots: int | None = None) -> None:
        """``slots``: how many at once; by default one fewer than the request threads."""
        self.wait_seconds = wait_seconds
        self._slots = slots
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            slots = self._slots
            if slots is None:
                slots = int(anyio.to_thread.current_default_thread_limiter().total_tokens) - 1
            gate = self._gates[loop] = asyncio.Semaphore(max(slots, 1))
        return gate

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        gate = self._gate()
        try:
            await asyncio.wait_for(gate.acquire(), self.wait_seconds)
        except TimeoutError:
            raise Overloaded(
                f"The server is busy (waited {self.wait_seconds:g} s for a turn). Nothing was done; "
                "try again in a moment.",
                retry_after=1,
            ) from None
        try:
            yield
        finally:
            gate.release()
