"""A small closed-loop HTTP/1.1 load generator: each connection sends a request, waits for its
answer, and sends the next, for a fixed time; latencies and failures are kept per kind of request.

wrk reports one latency distribution per run; a mixed load (reads beside three kinds of write)
needs one per kind, and every write needs a body of its own (a new patient each time). This
client is asyncio on raw sockets (keep-alive, Content-Length bodies), cheap enough to leave
most of the machine to the server.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

#: A request: (kind, method, path, JSON body or None).
Request = tuple[str, str, str, object | None]


@dataclass
class KindStats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    #: Status codes of the failed answers (0: no answer in time, or the connection broke).
    failures: dict[int, int] = field(default_factory=dict)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _one_connection(host: str, port: int, headers: dict[str, str], next_request: Callable[[], Request],
                          stop_at: float, timeout: float, stats: dict[str, KindStats]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    fixed = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    try:
        while time.monotonic() < stop_at:
            kind, method, path, body = next_request()
            payload = json.dumps(body).encode() if body is not None else b""
            head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{fixed}"
            if body is not None:
                head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            started = time.monotonic()
            writer.write(head.encode() + b"\r\n" + payload)
            try:
                status = await asyncio.wait_for(_read_response(reader), timeout)
            except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                _fail(stats[kind], 0)
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            if 200 <= status < 300:
                stats[kind].latencies.append(time.monotonic() - started)
            else:
                _fail(stats[kind], status)
    finally:
        writer.close()


def _fail(stats: KindStats, status: int) -> None:
    stats.errors += 1
    stats.failures[status] = stats.failures.get(status, 0) + 1


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


def run(url: str, *, groups: list[tuple[int, Callable[[], Request]]], headers: dict[str, str], seconds: float,
        kinds: list[str], timeout: float = 30.0) -> dict[str, KindStats]:
    """``groups``: (connections, how each picks its next request). Returns the stats per kind."""
    host, _, port = url.removeprefix("http://").partition(":")
    stats = {kind: KindStats() for kind in kinds}

    async def main() -> None:
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(
            _one_connection(host, int(port), headers, pick, stop_at, timeout, stats)
            for connections, pick in groups for _ in range(connections)
        ))

    # On a thread of its own: the caller may have an event loop running (a test after browser tests).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, main()).result()
    return stats
