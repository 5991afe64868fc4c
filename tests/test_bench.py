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


def test_the_queue_benchmark_explains_its_options():
    result = subprocess.run(
        [sys.executable, "-m", "bench.vc_queue", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    for option in ("--engine", "--visits", "--clinicians", "--requests", "--no-patient-read", "--no-save"):
        assert option in result.stdout


def test_a_queue_row_shows_server_and_client_times_beside_the_patient_read():
    from bench.harness import _queue_table

    row = {
        "engine": "postgresql",
        "visits": 10000,
        "clinicians": 300,
        "view": "waiting",
        "requests": 400,
        "errors": 0,
        "p50_ms": 41.23,
        "p95_ms": 55.0,
        "client_p50_ms": 42.0,
        "client_p95_ms": 56.11,
        "claimable_median": 2113,
        "commit": "abc1234",
        "machine": "2 cores",
        "when": "2026-12-04",
        "patient_read_rps": 1460.2,
        "patient_read_p99_ms": 25.16,
    }
    assert _queue_table([row])[-1] == (
        "| postgresql | 10,000 | 300 | waiting | 400 | 0 | 41.2 | 55.0 | 42.0 | 56.1 | 2,113 | 1,460, 25.2 "
        "| abc1234 | 2 cores | 2026-12-04 |"
    )


def test_the_queue_benchmark_seeds_visits_as_the_services_queue_them(db):
    from bench import vc_queue
    from sqlalchemy import select

    from careplane.kernel.payments.models import Payment, PaymentOperation
    from careplane.kernel.work.models import WorkItem
    from careplane.units.virtual_care.models import Visit, VisitMessage

    made = vc_queue.seed(db, visits=40, clinicians=6)
    with db.unit_of_work() as s:
        queued = s.scalars(select(Visit)).all()
        items = {i.id: i for i in s.scalars(select(WorkItem))}
        paid = {p.id: p for p in s.scalars(select(Payment))}
        operations = {o.payment_id: o for o in s.scalars(select(PaymentOperation))}
        notices = {m.visit_id for m in s.scalars(select(VisitMessage))}
        assert len(queued) == 40 and len(made.clinicians) == 6
        assert len({v.state for v in queued}) > 5
        for visit in queued:
            item, payment = items[visit.work_item_id], paid[visit.payment_id]
            assert visit.status == "queued" and visit.answers and visit.price == payment.amount
            assert (item.queue_id, item.status, item.assignee_staff_id) == (made.queue_id, "open", None)
            assert (item.subject_type, item.subject_id, item.patient_id) == (
                "virtual_care.visit",
                str(visit.id),
                visit.patient_id,
            )
            assert (item.state, item.due_at, item.kind) == (visit.state, visit.reply_due_at, "message_visit")
            assert (payment.status, payment.subject_id, payment.patient_id) == (
                "authorised",
                str(visit.id),
                visit.patient_id,
            )
            assert operations[payment.id].idempotency_key == f"visit-pay-{visit.id}"
            assert visit.id in notices
        # Copies leave no column empty that the services fill, nor fill one they leave empty.
        for table in (Visit, WorkItem, Payment):
            rows = s.execute(select(table.__table__)).mappings().all()
            assert len({tuple(k for k, v in row.items() if v is None) for row in rows}) == 1, table.__tablename__


def test_a_short_queue_run_serves_both_views_with_the_visits_listed(live_server):
    import urllib.request

    from bench import vc_queue

    from careplane.kernel.web import SESSION_COOKIE

    made = vc_queue.seed(live_server.db, visits=30, clinicians=4)
    assert vc_queue.claim_some(live_server.db, made.clinicians[0], 2) == 2
    cookies = vc_queue.cookies(live_server.db, made.clinicians, live_server.settings)
    for view in vc_queue.VIEWS:
        answered = vc_queue.request_pages(live_server.url, cookies, view, 6)
        assert [a.status for a in answered] == [200] * 6
        assert all(a.request_id and a.client_ms > 0 for a in answered)
    page = urllib.request.Request(
        live_server.url + "/virtual-care/queue?view=mine", headers={"Cookie": f"{SESSION_COOKIE}={cookies[0]}"}
    )
    with urllib.request.urlopen(page) as response:
        assert response.read().decode().count("/virtual-care/visits/") >= 2
