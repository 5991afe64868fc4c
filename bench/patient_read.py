"""Benchmark: an authenticated patient read through the JSON API, audit included.

``GET /api/v1/patients/{id}`` with a clinician's API token, random patients, one server
process, on SQLite and PostgreSQL with 1,000 and 100,000 patients. Each request authenticates
the token, checks the access policy, reads the patient and writes its audit row.

    python -m bench.patient_read                       # the full matrix (a few minutes)
    python -m bench.patient_read --engine sqlite --patients 1000 --seconds 5
    python -m bench.patient_read --instructions --engine postgresql --patients 1000   # callgrind

Target (issue "Foundation"): at least 1,000 requests/s.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from bench.harness import (
    Count,
    Result,
    commit,
    fresh_database,
    instructions_per_request,
    machine,
    plain_fastapi_instructions,
    plain_fastapi_rps,
    run_wrk,
    running_server,
    save,
)
from careplane.kernel import clock
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.db import Database
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.service import create_api_token
from careplane.kernel.identity.users import create_user
from careplane.kernel.patients.synthetic import insert_synthetic_patients

TITLE = "Patient read via JSON API (auth + access check + audit row)"

LUA = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
local auth = "Bearer %(token)s"
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/v1/patients/" .. ids[math.random(#ids)], {["Authorization"] = auth})
end
"""


@contextmanager
def seeded(engine: str, patients: int, console: Console) -> Iterator[tuple[Database, Path, Path]]:
    """A fresh database with ``patients`` synthetic patients and a clinician's API token; the wrk
    script that reads random ones with it; a scratch folder."""
    with fresh_database(engine) as db, tempfile.TemporaryDirectory() as tmp:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"seeding {patients:,} patients on {engine}", total=patients)
            ids = insert_synthetic_patients(db, patients, seed=7, on_progress=lambda n: progress.advance(task, n))
        with db.unit_of_work() as session:
            user = create_user(session, email="bench@example.org", display_name="Bench", roles=[Role.CLINICIAN],
                               unit="virtual_care")
            token, _ = create_api_token(session, user, "bench", via="cli")
        ids_file = Path(tmp) / "ids.txt"
        sample = random.Random(1).sample(ids, min(len(ids), 10_000))
        ids_file.write_text("\n".join(str(i) for i in sample) + "\n")
        script = Path(tmp) / "read.lua"
        script.write_text(LUA % {"ids": ids_file, "token": token})
        yield db, script, Path(tmp)


def run_one(engine: str, patients: int, seconds: int, connections: int, console: Console) -> Result:
    with seeded(engine, patients, console) as (db, script, tmp):
        with running_server(db.url, tmp) as server:
            run_wrk(server.url, script, seconds=2, connections=connections)  # warm-up
            cpu_before = server.cpu_seconds()
            stats = run_wrk(server.url, script, seconds=seconds, connections=connections)
            cpu = server.cpu_seconds() - cpu_before
        if stats["errors"]:
            raise SystemExit(f"{int(stats['errors'])} of {int(stats['requests'])} reads failed: not a valid measurement")
        with db.unit_of_work() as session:
            audited = session.scalar(select(func.count()).select_from(AuditEntry))
        if audited < stats["requests"]:
            raise SystemExit(f"only {audited} audit rows for {stats['requests']} reads: audit lost")
        return Result(
            benchmark=TITLE,
            engine=engine,
            patients=patients,
            connections=connections,
            seconds=seconds,
            requests=int(stats["requests"]),
            errors=int(stats["errors"]),
            requests_per_second=round(stats["rps"], 1),
            p50_ms=round(stats["p50"], 2),
            p99_ms=round(stats["p99"], 2),
            server_cpu_us_per_request=round(cpu / stats["requests"] * 1e6) if stats["requests"] else None,
            machine=machine(),
            when=clock.today().isoformat(),
        )


def count_one(engine: str, patients: int, seconds: int, connections: int, console: Console, plain: float) -> Count:
    with seeded(engine, patients, console) as (db, script, tmp), console.status(f"counting on {engine} under callgrind"):
        with running_server(db.url, tmp, counting=True) as server:
            count = instructions_per_request(server, server.url, script, seconds=seconds, connections=connections)
    return Count(benchmark=TITLE + ", instructions", engine=engine, patients=patients, connections=connections,
                 seconds=seconds, instructions_per_request=round(count), plain_instructions_per_request=round(plain),
                 commit=commit(), machine=machine(), when=clock.today().isoformat())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], action="append", help="default: both")
    parser.add_argument("--patients", type=int, action="append", help="default: 1000 and 100000")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--instructions", action="store_true",
                        help="count the server's instructions per request under callgrind (needs valgrind) instead "
                             "of measuring its rate: slow, but the same on a busy machine as on an idle one")
    parser.add_argument("--no-save", action="store_true", help="print only; leave results and docs alone")
    args = parser.parse_args()
    console = Console()
    matrix = [(engine, n) for engine in args.engine or ["sqlite", "postgresql"] for n in args.patients or [1000, 100_000]]
    if args.instructions:
        count_matrix(matrix, args, console)
    else:
        rate_matrix(matrix, args, console)


def rate_matrix(matrix: list[tuple[str, int]], args: argparse.Namespace, console: Console) -> None:
    with console.status("measuring a plain FastAPI endpoint for comparison"):
        plain = round(plain_fastapi_rps(seconds=args.seconds, connections=args.connections), 1)
    results = [replace(run_one(engine, n, args.seconds, args.connections, console), plain_fastapi_rps=plain)
               for engine, n in matrix]
    table = Table(title=f"Patient read via JSON API (plain FastAPI endpoint here: {plain:,.0f} req/s)")
    for column in ("engine", "patients", "req/s", "p50 ms", "p99 ms", "errors", "server CPU/request", "share of plain"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(r.engine, f"{r.patients:,}", f"{r.requests_per_second:,.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}",
                      str(r.errors), f"{r.server_cpu_us_per_request:,.0f} µs", f"1/{plain / r.requests_per_second:.1f}")
    console.print(table)
    if not args.no_save:
        save(results, "patient_read")


def count_matrix(matrix: list[tuple[str, int]], args: argparse.Namespace, console: Console) -> None:
    with console.status("counting a plain FastAPI endpoint under callgrind for comparison"):
        plain = plain_fastapi_instructions(seconds=args.seconds, connections=args.connections)
    counts = [count_one(engine, n, args.seconds, args.connections, console, plain) for engine, n in matrix]
    table = Table(title=f"Patient read: instructions per request (plain FastAPI endpoint: {plain / 1e6:,.2f} M)")
    for column in ("engine", "patients", "instructions/request", "times plain"):
        table.add_column(column, justify="right")
    for c in counts:
        table.add_row(c.engine, f"{c.patients:,}", f"{c.instructions_per_request / 1e6:,.2f} M",
                      f"{c.instructions_per_request / plain:.1f}")
    console.print(table)
    if not args.no_save:
        save(counts, "patient_read_instructions")


if __name__ == "__main__":
    main()
