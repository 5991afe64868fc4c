"""Benchmark: readers and writers at once through the JSON API, on SQLite and PostgreSQL.

N readers (``GET /api/v1/patients/{id}``) beside M writers, each writer taking in turn a patient
registration (with its duplicate check), a patient change (``PATCH``) and a consent grant, all
with a clinician's API token, against one ``careplane serve`` process (default settings: four
request threads). Per kind of request: requests/s, p50/p99 latency and errors (any answer
other than 2xx, or none within 30 s).

    python -m bench.mixed_load                             # 1+1, 8+8 and 32+32 on both engines
    python -m bench.mixed_load --engine sqlite --levels 8 --seconds 10
    python -m bench.mixed_load --levels 1 --levels 8 --writes register --readers 0 --no-save

Each row also carries the server's CPU time (user + system, from /proc) over the run, divided by
the requests answered in it, all kinds together: on a noisy machine it compares two builds better
than requests/s. With ``--writes register --readers 0`` it is the CPU time of one registration.

Targets (issue "Hardening before the units"): zero errors and zero timeouts at every level on
both engines; on SQLite, patient registration at least 600/s; on PostgreSQL, at least 300
registrations/s at 8+8, not falling as writers grow.
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench import http_load
from bench.harness import fresh_database, machine, running_server, save
from careplane.kernel import clock
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.service import create_api_token
from careplane.kernel.identity.users import create_user
from careplane.kernel.patients.synthetic import insert_synthetic_patients

TITLE = "Mixed load: patient reads beside registrations, changes and consent grants (JSON API)"
KINDS = ["read", "register", "change", "consent"]
WRITES = ["register", "change", "consent"]
PATIENTS = 1_000


@dataclass
class MixedResult:
    benchmark: str
    engine: str
    readers: int
    writers: int
    kind: str
    seconds: float
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    #: The server's CPU time over the run / the requests answered in it (every kind together).
    server_cpu_us_per_request: float
    machine: str
    when: str


def _requests(ids: list[str], writes: list[str] = WRITES
              ) -> tuple[Callable[[], http_load.Request], Callable[[], http_load.Request]]:
    """How a reader and a writer pick their next request (writers take the ``writes`` in turn)."""
    rng = random.Random(3)
    turn = itertools.count()
    cities = ["Albany", "Boston", "Chicago", "Denver", "El Paso"]

    def read() -> http_load.Request:
        return "read", "GET", f"/api/v1/patients/{rng.choice(ids)}", None

    def write() -> http_load.Request:
        n = next(turn)
        kind = writes[n % len(writes)]
        if kind == "register":
            # Names and birth dates at random, so that the duplicate check finds no one (a 409).
            return kind, "POST", "/api/v1/patients", {
                "given_name": _name(rng), "family_name": _name(rng),
                "birth_date": f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "sex_at_birth": rng.choice(["female", "male"])}
        if kind == "change":
            return kind, "PATCH", f"/api/v1/patients/{rng.choice(ids)}", {"city": rng.choice(cities)}
        return kind, "POST", f"/api/v1/patients/{rng.choice(ids)}/consents", {"kind": "telehealth", "version": f"v{n}"}

    return read, write


def _name(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=9)).title()


def run_engine(engine: str, levels: list[int], seconds: int, console: Console, *, writes: list[str] = WRITES,
               readers: int | None = None) -> list[MixedResult]:
    """``readers``: that many readers at every level instead of as many as writers."""
    results: list[MixedResult] = []
    with fresh_database(engine) as db, tempfile.TemporaryDirectory() as tmp:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"seeding {PATIENTS:,} patients on {engine}", total=PATIENTS)
            ids = [str(i) for i in insert_synthetic_patients(db, PATIENTS, seed=11,
                                                              on_progress=lambda n: progress.advance(task, n))]
        with db.unit_of_work() as session:
            user = create_user(session, email="mixed@example.org", display_name="Bench", roles=[Role.CLINICIAN],
                               unit="virtual_care")
            token, _ = create_api_token(session, user, "bench", via="cli")
        headers = {"Authorization": f"Bearer {token}"}
        with running_server(db.url, Path(tmp)) as server:
            read, write = _requests(ids, writes)
            http_load.run(server.url, groups=[(2, read), (2, write)], headers=headers, seconds=2, kinds=KINDS)  # warm-up
            for level in levels:
                n_readers = level if readers is None else readers
                with console.status(f"{engine}: {n_readers} readers + {level} writers for {seconds} s"):
                    cpu_before = server.cpu_seconds()
                    stats = http_load.run(server.url, groups=[(n_readers, read), (level, write)], headers=headers,
                                          seconds=seconds, kinds=KINDS)
                    cpu = server.cpu_seconds() - cpu_before
                answered = sum(len(s.latencies) + s.errors for s in stats.values())
                for kind in KINDS:
                    s = stats[kind]
                    if kind != "read" and kind not in writes or kind == "read" and not n_readers:
                        continue
                    results.append(MixedResult(
                        benchmark=TITLE, engine=engine, readers=n_readers, writers=level, kind=kind, seconds=seconds,
                        requests=len(s.latencies) + s.errors, errors=s.errors,
                        requests_per_second=round(len(s.latencies) / seconds, 1),
                        p50_ms=round(s.percentile(50) * 1000, 2), p99_ms=round(s.percentile(99) * 1000, 2),
                        server_cpu_us_per_request=round(cpu / max(answered, 1) * 1e6),
                        machine=machine(), when=clock.today().isoformat()))
                    if s.errors:
                        console.print(f"[red]{engine} {level}+{level} {kind}: {s.errors} errors {s.failures}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Readers beside writers through the JSON API; writes bench/results/mixed_load.json and "
                    "docs/benchmarks.md.")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], action="append",
                        help="sqlite or postgresql (repeatable; default both)")
    parser.add_argument("--levels", type=int, action="append",
                        help="readers (and as many writers) at once (repeatable; default 1, 8 and 32)")
    parser.add_argument("--seconds", type=int, default=30, help="length of each measured run (default 30)")
    parser.add_argument("--writes", default=",".join(WRITES),
                        help=f"the writes each writer takes in turn, comma-separated (default {','.join(WRITES)})")
    parser.add_argument("--readers", type=int, help="readers at every level (default: as many as writers)")
    parser.add_argument("--no-save", action="store_true", help="print the table only")
    args = parser.parse_args()
    console = Console()
    writes = [w.strip() for w in args.writes.split(",") if w.strip()]
    if not writes or set(writes) - set(WRITES):
        parser.error(f"--writes: choose from {', '.join(WRITES)}")
    results: list[MixedResult] = []
    for engine in args.engine or ["sqlite", "postgresql"]:
        results += run_engine(engine, args.levels or [1, 8, 32], args.seconds, console, writes=writes,
                              readers=args.readers)
    table = Table(title=TITLE)
    for column in ("engine", "readers+writers", "kind", "req/s", "p50 ms", "p99 ms", "errors",
                   "server CPU µs/req (all)"):
        table.add_column(column)
    for r in results:
        table.add_row(r.engine, f"{r.readers}+{r.writers}", r.kind, f"{r.requests_per_second:,.0f}", f"{r.p50_ms:.1f}",
                      f"{r.p99_ms:.1f}", str(r.errors), f"{r.server_cpu_us_per_request:,.0f}")
    console.print(table)
    if not args.no_save:
        save(results, "mixed_load")


if __name__ == "__main__":
    main()
