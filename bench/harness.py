"""Shared machinery for benchmarks: a fresh database, a real server process, and wrk as the load.

Benchmarks are not tests: they measure, print a table, and write their rows to
``bench/results/<name>.json`` and ``docs/benchmarks.md``. The load generator is ``wrk``
(Debian package ``wrk``), run on the same machine, so every number includes its CPU cost.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from careplane.kernel.db import Database  # noqa: E402
from careplane.kernel import schema  # noqa: E402


@dataclass
class Result:
    benchmark: str
    engine: str
    patients: int
    connections: int
    seconds: float
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    machine: str
    when: str
    #: The same load against a plain FastAPI endpoint returning fixed JSON, in the same run.
    plain_fastapi_rps: float | None = None
    #: CPU time the server process spent per request during the run (user + system): steadier than
    #: requests/s on a machine whose speed varies.
    server_cpu_us_per_request: float | None = None


@dataclass
class Count:
    """A run under callgrind (``--instructions``): what the server executes per request, in user
    space (the kernel's share, such as socket calls, is not counted)."""

    benchmark: str
    engine: str
    patients: int
    connections: int
    seconds: float
    instructions_per_request: float
    #: The same for the plain FastAPI endpoint returning fixed JSON, in the same run.
    plain_instructions_per_request: float
    commit: str
    machine: str
    when: str


@contextmanager
def fresh_database(engine: str) -> Iterator[Database]:
    """An empty database with the current schema, deleted afterwards."""
    if engine == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="careplane-bench-"))
        db = Database(f"sqlite:///{folder / 'bench.db'}")
        try:
            schema.upgrade(db)
            yield db
        finally:
            db.dispose()
            shutil.rmtree(folder, ignore_errors=True)
        return
    from tests import pg_server

    server = os.environ.get("CAREPLANE_BENCH_POSTGRES_URL") or pg_server.server_url()
    url = pg_server.create_database(server)
    db = Database(url)
    try:
        schema.upgrade(db)
        yield db
    finally:
        db.dispose()
        pg_server.drop_database(server, url)
        pg_server.stop_embedded()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    pid: int
    #: Where callgrind writes its counts, when the server runs under it (see ``counting``).
    callgrind_out: Path | None = None

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process so far (Linux ``/proc``)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @contextmanager
    def counting(self) -> Iterator[list[int]]:
        """Counts the instructions the server executes in user space inside the block (callgrind):
        the list it yields holds the total once the block ends. Unlike time, the count hardly
        moves with what else the machine is doing, so two builds compare on a noisy machine."""
        if self.callgrind_out is None:
            raise RuntimeError("the server does not run under callgrind (counting=True)")
        total: list[int] = []
        _callgrind_control("--zero", self.pid)
        _callgrind_control("--instr=on", self.pid)
        try:
            yield total
        finally:
            _callgrind_control("--instr=off", self.pid)
            _callgrind_control("--dump", self.pid)
        dumps = sorted(self.callgrind_out.parent.glob(self.callgrind_out.name + ".*"))
        total.append(max(int(m.group(1)) for m in re.finditer(r"^(?:summary|totals): (\d+)", dumps[-1].read_text(), re.M)))


def _callgrind_control(option: str, pid: int) -> None:
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True)


@contextmanager
def running_server(database_url: str, data_dir: Path, *, counting: bool = False,
                   request_log: Path | None = None) -> Iterator[Server]:
    """``careplane serve`` in its own process (one server process, no embedded worker); with
    ``counting``, under callgrind (:meth:`Server.counting`), about 50 times slower. With
    ``request_log``, the server logs every request there (JSON lines with its ``ms``: the time
    the server spent on it, see :func:`server_times`)."""
    port = free_port()
    env = dict(
        os.environ,
        CAREPLANE_DATABASE_URL=database_url,
        CAREPLANE_DATA_DIR=str(data_dir),
        CAREPLANE_SECRET_KEY="bench-secret",
        CAREPLANE_LOG_LEVEL="INFO" if request_log else "WARNING",
        CAREPLANE_LOG_JSON="true",
    )
    command = [sys.executable, "-m", "careplane.cli", "serve", "--port", str(port), "--no-worker"]
    with _serving(command, env, port, callgrind_out=data_dir / "callgrind.out" if counting else None,
                  log=request_log) as server:
        yield server


def server_times(request_log: Path, request_ids: set[str]) -> dict[str, float]:
    """The server's own time (ms, from request start to the last byte handed to uvicorn, as
    ``RequestContextMiddleware`` logs it) of each of these requests, by request id."""
    times: dict[str, float] = {}
    for line in request_log.read_text().splitlines():
        if '"request_id"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("request_id") in request_ids and "ms" in entry:
            times[entry["request_id"]] = float(entry["ms"])
    return times


def plain_fastapi_rps(*, seconds: int, connections: int) -> float:
    """Requests/s of bench.plain_app (fixed JSON) under the same load: how fast this machine is."""
    with _plain_server() as server:
        run_wrk(server.url + "/hello", None, seconds=2, connections=connections)  # warm-up
        return run_wrk(server.url + "/hello", None, seconds=seconds, connections=connections)["rps"]


def plain_fastapi_instructions(*, seconds: int, connections: int) -> float:
    """User-space instructions per request of bench.plain_app under the same load (callgrind)."""
    with tempfile.TemporaryDirectory() as tmp, _plain_server(callgrind_out=Path(tmp) / "callgrind.out") as server:
        return instructions_per_request(server, server.url + "/hello", None, seconds=seconds, connections=connections)


def instructions_per_request(server: Server, url: str, lua_script: Path | None, *, seconds: int,
                             connections: int) -> float:
    """Warm up (callgrind translates code as it first runs), then count over ``seconds`` of load.
    A request may take seconds under callgrind (wrk's default is to give up after two)."""
    run_wrk(url, lua_script, seconds=max(seconds // 2, 5), connections=connections, timeout_seconds=60)
    with server.counting() as total:
        stats = run_wrk(url, lua_script, seconds=seconds, connections=connections, timeout_seconds=60)
    if stats["errors"]:
        raise SystemExit(f"{int(stats['errors'])} of {int(stats['requests'])} requests failed: not a valid count")
    return total[0] / stats["requests"]


@contextmanager
def _plain_server(*, callgrind_out: Path | None = None) -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.plain_app:app", "--port", str(port), "--no-access-log"]
    with _serving(command, dict(os.environ), port, health="/hello", callgrind_out=callgrind_out) as server:
        yield server


@contextmanager
def _serving(command: list[str], env: dict[str, str], port: int, health: str = "/healthz", *,
             callgrind_out: Path | None = None, log: Path | None = None) -> Iterator[Server]:
    """The command's server, up and answering; under callgrind, writing to ``callgrind_out``, if given;
    its standard error into ``log``, if given (else kept only to explain a failed start)."""
    counting = callgrind_out is not None
    if counting:
        if not shutil.which("valgrind"):
            raise SystemExit("valgrind is not installed: apt-get install valgrind")
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={callgrind_out}",
                   *command]
    log_file = log.open("wb") if log is not None else None
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=log_file if log_file is not None else subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + (600 if counting else 30)
        while True:
            try:
                urllib.request.urlopen(base + health, timeout=60 if counting else 1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    said = log.read_text() if log is not None else proc.stderr.read().decode()  # type: ignore[union-attr]
                    raise RuntimeError("server did not start: " + said[-2000:]) from None
                time.sleep(0.2)
        yield Server(base, proc.pid, callgrind_out)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if log_file is not None:
            log_file.close()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(url: str, lua_script: Path | None, *, seconds: int, connections: int, threads: int = 1,
            timeout_seconds: int = 2) -> dict[str, float]:
    """wrk's numbers for the run; a request unanswered after ``timeout_seconds`` counts as an error."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    script = ["-s", str(lua_script)] if lua_script else []
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_seconds}s", "--latency",
         *script, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    for match in re.finditer(r"Non-2xx or 3xx responses: (\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in match.groups() if g)
    return {
        "requests": requests,
        "errors": errors,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
    }


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}"


def commit() -> str:
    """The checked-out commit, marked ``+changes`` when the code (not the results) differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "bench",
                            ":!bench/results"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return head + ("+changes" if dirty else "")


def save(results: Sequence[object], name: str) -> None:
    """Write dataclass ``results`` to bench/results/<name>.json and regenerate the docs."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")  # type: ignore[call-overload]
    write_docs()


def write_docs() -> None:
    """Regenerate docs/benchmarks.md from every results file."""
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python -m bench.<name>` from `bench/results/*.json`; do not edit by hand.",
        "Load comes from `wrk` on the same machine (it shares the CPU with the server). Each run also",
        "measures a plain FastAPI endpoint returning fixed JSON (`bench/plain_app.py`) under the same load:",
        "machines differ, and that column says how fast this one was.",
        "How to run them, and what limits the numbers: [bench/README.md](../bench/README.md).",
        "",
    ]
    for path in sorted(RESULTS.glob("*.json")):
        rows = json.loads(path.read_text())
        if rows:
            lines += [f"## {rows[0]['benchmark']}", "", *_table(rows), ""]
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines))


def _table(rows: list[dict]) -> list[str]:
    if "instructions_per_request" in rows[0]:
        return _count_table(rows)
    if "kind" in rows[0]:
        return _mixed_table(rows)
    if "view" in rows[0]:
        return _queue_table(rows)
    return _rate_table(rows)


def _queue_table(rows: list[dict]) -> list[str]:
    lines = [
        "Server time from the server's request log; one request at a time, clinicians in turn. The patient read "
        "is `bench.patient_read` (1,000 patients, 16 connections) in the same invocation.",
        "",
        "| engine | visits | clinicians | view | requests | errors | server p50 ms | server p95 ms "
        "| client p50 ms | client p95 ms | claimable (median) | patient read req/s, p99 ms | commit | machine | date |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        read = r.get("patient_read_rps")
        beside = f"{read:,.0f}, {r['patient_read_p99_ms']:.1f}" if read else "not measured"
        lines.append(
            f"| {r['engine']} | {r['visits']:,} | {r['clinicians']:,} | {r['view']} | {r['requests']:,} | "
            f"{r['errors']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['client_p50_ms']:.1f} | "
            f"{r['client_p95_ms']:.1f} | {r['claimable_median']:,} | {beside} | {r['commit']} | {r['machine']} | "
            f"{r['when']} |"
        )
    return lines


def _mixed_table(rows: list[dict]) -> list[str]:
    lines = [
        "| engine | readers + writers | kind | req/s | p50 ms | p99 ms | errors | requests "
        "| server CPU per request, all kinds | machine | date |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        cpu = r.get("server_cpu_us_per_request")
        lines.append(
            f"| {r['engine']} | {r['readers']} + {r['writers']} | {r['kind']} | {r['requests_per_second']:,.0f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {r['requests']:,} | "
            f"{f'{cpu:,.0f} µs' if cpu else 'not measured'} | {r['machine']} | {r['when']} |"
        )
    return lines


def _rate_table(rows: list[dict]) -> list[str]:
    lines = [
        "| engine | patients | connections | req/s | p50 ms | p99 ms | errors | requests "
        "| server CPU per request | plain FastAPI req/s, same run | machine | date |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        plain, cpu = r.get("plain_fastapi_rps"), r.get("server_cpu_us_per_request")
        lines.append(
            f"| {r['engine']} | {r['patients']:,} | {r['connections']} | {r['requests_per_second']:,.0f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {r['requests']:,} | "
            f"{f'{cpu:,.0f} µs' if cpu else 'not measured'} | "
            f"{f'{plain:,.0f}' if plain else 'not measured'} | {r['machine']} | {r['when']} |"
        )
    return lines


def _count_table(rows: list[dict]) -> list[str]:
    lines = [
        "Instructions the server executed in user space per request, counted by callgrind (`--instructions`).",
        "",
        "| engine | patients | connections | instructions per request | plain FastAPI, same run | ratio "
        "| commit | machine | date |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        count, plain = r["instructions_per_request"], r["plain_instructions_per_request"]
        lines.append(
            f"| {r['engine']} | {r['patients']:,} | {r['connections']} | {count / 1e6:,.2f} M | {plain / 1e6:,.2f} M | "
            f"{count / plain:.1f} | {r['commit']} | {r['machine']} | {r['when']} |"
        )
    return lines
