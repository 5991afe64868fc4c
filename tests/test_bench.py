"""The benchmarks stay runnable: their commands explain themselves and their tables read right.

The measurements themselves need wrk (and valgrind for ``--instructions``) and minutes of load, so
they run by hand (bench/README.md), not here.
"""

from __future__ import annotations

import subprocess
import sys

from bench.harness import ROOT, _count_table


def test_the_patient_read_benchmark_explains_its_options():
    result = subprocess.run(
        [sys.executable, "-m", "bench.patient_read", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    for option in ("--engine", "--patients", "--seconds", "--instructions", "--no-save"):
        assert option in result.stdout


def test_an_instruction_count_is_shown_in_millions_beside_the_plain_endpoint_and_their_ratio():
    row = {
        "engine": "postgresql",
        "patients": 1000,
        "connections": 16,
        "instructions_per_request": 1_750_000,
        "plain_instructions_per_request": 437_500,
        "commit": "abc1234",
        "machine": "2 cores",
        "when": "2026-12-02",
    }
    assert (
        _count_table([row])[-1]
        == "| postgresql | 1,000 | 16 | 1.75 M | 0.44 M | 4.0 | abc1234 | 2 cores | 2026-12-02 |"
    )


def test_the_mixed_load_benchmark_explains_its_options():
    result = subprocess.run(
        [sys.executable, "-m", "bench.mixed_load", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    for option in ("--engine", "--levels", "--seconds", "--no-save"):
        assert option in result.stdout


def test_a_short_mixed_load_reads_and_writes_every_kind_without_an_error(live_server):
    from bench import http_load, mixed_load

    from careplane.kernel.identity.roles import Role
    from careplane.kernel.patients.synthetic import insert_synthetic_patients
    from tests.helpers import api_token, bearer, make_user

    ids = [str(i) for i in insert_synthetic_patients(live_server.db, 20, seed=5)]
    token = api_token(live_server.db, make_user(live_server.db, role=Role.CLINICIAN))
    read, write = mixed_load._requests(ids)
    stats = http_load.run(
        live_server.url, groups=[(2, read), (2, write)], headers=bearer(token), seconds=2, kinds=mixed_load.KINDS
    )
    assert {kind: s.errors for kind, s in stats.items()} == dict.fromkeys(mixed_load.KINDS, 0)
    assert all(s.latencies for s in stats.values())
