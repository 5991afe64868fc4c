"""Benchmark: the Virtual Care clinician queue page with a full queue.

``GET /virtual-care/queue`` (views ``waiting``: the open, unassigned visits the clinician is
licensed for today, and ``mine``: those they hold), 50 a page, soonest deadline first, as a
sample of clinicians logged in with a web session cookie, one request at a time, against one
``careplane serve`` process. The figure is the server's own time per request, from its request
log (``RequestContextMiddleware``: from the request's arrival to the last byte handed to
uvicorn); the client's latency over loopback is kept beside it.

The queue: ``--visits`` queued message visits (default 10,000) of synthetic patients in the 15
most populous states, and ``--clinicians`` clinicians (default 300) in the queue's team with
licences in 1 to 5 of those states. A few visits per (condition, state) go through the unit's own
services (start, submit, pay: visit, payment and its operation, work item, notice, audit rows);
the rest are copies of those rows made with bulk inserts (new ids, patient, ages and deadlines;
no audit rows or mails of their own). Each measured clinician then claims a few visits through
the services, so that ``mine`` has something to show.

    python -m bench.vc_queue                                  # both engines, 10,000 visits
    python -m bench.vc_queue --engine postgresql --requests 200 --no-save

The patient read (``bench.patient_read``, 1,000 patients) runs in the same invocation on each
engine, so that the table says how fast the machine was; ``--no-patient-read`` skips it (it needs
``wrk``).

Target (issue "Virtual Care queue"): with 10,000 open visits and 300 clinicians on PostgreSQL,
p95 server time of the queue page under 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Table as SqlTable
from sqlalchemy import func, insert, select

from bench.harness import commit, fresh_database, machine, running_server, save, server_times
from careplane.kernel import clock, payments, work
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.identity import authn
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from careplane.kernel.org.models import Licence, StaffMember, TeamMembership
from careplane.kernel.org.staff import licensure
from careplane.kernel.org.staff.service import CLINICIAN_LICENCE_KINDS
from careplane.kernel.org.structure.service import ensure_units
from careplane.kernel.patients.models import Patient
from careplane.kernel.patients.synthetic import insert_synthetic_patients
from careplane.kernel.payments.lifecycle import _request_hash
from careplane.kernel.payments.models import OperationKind, Payment, PaymentOperation
from careplane.kernel.web import SESSION_COOKIE
from careplane.kernel.work.models import WorkItem
from careplane.settings import Settings
from careplane.standards.npi import generate_npi
from careplane.units.virtual_care import promise
from careplane.units.virtual_care.catalog import shipped
from careplane.units.virtual_care.demo import _answers
from careplane.units.virtual_care.models import Visit, VisitMessage
from careplane.units.virtual_care.services import treatment
from careplane.units.virtual_care.services import visits as visit_service

TITLE = "Virtual Care clinician queue page (GET /virtual-care/queue, server time)"
VIEWS = ("waiting", "mine")
#: The 15 most populous states (2020 Census).
STATES = ("CA", "TX", "FL", "NY", "PA", "IL", "OH", "GA", "NC", "MI", "NJ", "VA", "WA", "AZ", "MA")
#: Conditions the visits are for (adults, teenagers and small children among them).
CONDITIONS = (
    "uti",
    "pink_eye",
    "sinus_infection",
    "seasonal_allergies",
    "acne",
    "cold_sores",
    "eczema",
    "head_lice",
    "influenza",
    "hair_loss",
)
CARD = payments.Card(number="4242424242424242", expiry="12/39", cvc="123")
#: Queued visits are up to this old (their promises fall due in that spread, some already late).
MAX_AGE_MINUTES = 8 * 60
BATCH = 2000


@dataclass
class QueueResult:
    benchmark: str
    engine: str
    visits: int
    clinicians: int
    view: str
    requests: int
    errors: int
    #: The server's own time (its request log), and the client's latency over loopback.
    p50_ms: float
    p95_ms: float
    client_p50_ms: float
    client_p95_ms: float
    #: Visits a measured clinician may claim (median over the sample): what ``waiting`` counts.
    claimable_median: int
    commit: str
    machine: str
    when: str
    #: ``bench.patient_read`` (1,000 patients, 16 connections) in the same invocation, same engine.
    patient_read_rps: float | None = None
    patient_read_p99_ms: float | None = None


@dataclass
class Seeded:
    queue_id: uuid.UUID
    #: The clinicians' user ids, in the order they were made.
    clinicians: list[uuid.UUID]
    visits: int


# ---------------------------------------------------------------- seeding


def seed(
    db: Database, *, visits: int, clinicians: int, rng_seed: int = 7, on_progress: Callable[[int], None] | None = None
) -> Seeded:
    """``clinicians`` clinicians and ``visits`` queued visits (see the module's docstring)."""
    rng = random.Random(rng_seed)
    with db.unit_of_work() as session:
        ensure_units(session)
        queue = work.queue_by_key(session, visit_service.QUEUE_KEY)
        assert queue is not None
        queue_id, team_id = queue.id, queue.team_id
    users, covered = _clinicians(db, clinicians, team_id, rng)
    patients = _patients(db, visits, rng_seed)
    by_kind: dict[tuple[str, str], list[uuid.UUID]] = {}
    for patient_id, eligible in patients:
        by_kind.setdefault((rng.choice(eligible), rng.choice(covered)), []).append(patient_id)
    for (condition, state), group in by_kind.items():
        template = _through_services(db, group[0], condition, state, rng)
        _copies(db, template, group[1:], rng)
        if on_progress:
            on_progress(len(group))
    return Seeded(queue_id, users, visits)


def _clinicians(db: Database, count: int, team_id: uuid.UUID, rng: random.Random) -> tuple[list[uuid.UUID], list[str]]:
    """Clinicians of Virtual Care in the queue's team, each licensed in 1 to 5 of ``STATES`` (every
    state by someone, given 15 or more), as the staff pages make them; the states they cover."""
    today = clock.today()
    ids = []
    covered: set[str] = set()
    with db.unit_of_work() as session:
        for n in range(count):
            credential = rng.choice(CLINICIAN_LICENCE_KINDS)
            user = create_user(
                session,
                email=f"clinician{n}@bench.example.org",
                display_name=f"Clinician {n}, {credential}",
                roles=[Role.CLINICIAN],
                unit="virtual_care",
                mfa_secret=pyotp.random_base32(),
                email_verified=True,
            )
            staff = StaffMember(
                user_id=user.id, credentials=[credential], npi=generate_npi(rng), start_date=today - timedelta(days=200)
            )
            session.add(staff)
            session.flush()
            states = set(rng.sample(STATES, rng.randint(1, 5))) | ({STATES[n]} if n < len(STATES) else set())
            covered |= states
            for state in sorted(states):
                session.add(
                    Licence(
                        staff_id=staff.id,
                        state=state,
                        kind=credential,
                        number=f"{state}-{rng.randrange(10**6, 10**7)}",
                        issued_on=today - timedelta(days=300),
                        expires_on=today + timedelta(days=rng.randint(200, 900)),
                    )
                )
            session.add(TeamMembership(team_id=team_id, staff_id=staff.id, start_date=staff.start_date))
            ids.append(user.id)
    return ids, sorted(covered)


def _patients(db: Database, count: int, rng_seed: int) -> list[tuple[uuid.UUID, list[str]]]:
    """``count`` synthetic patients, each with the conditions they may be seen for (infants, who may
    be seen for none, are left out)."""
    conditions = [c for c in (shipped().get(code) for code in CONDITIONS) if c is not None]
    today = clock.today()
    found: list[tuple[uuid.UUID, list[str]]] = []
    round_ = 0
    while len(found) < count:
        ids = insert_synthetic_patients(db, int((count - len(found)) * 1.15) + 10, seed=rng_seed * 1000 + round_)
        round_ += 1
        with db.unit_of_work() as session:
            for patient in session.scalars(select(Patient).where(Patient.id.in_(ids))):
                eligible = [c.code for c in conditions if visit_service.eligibility_refusal(c, patient, today) is None]
                if eligible and len(found) < count:
                    found.append((patient.id, eligible))
    return found


@dataclass
class _Template:
    visit: dict[str, Any]
    item: dict[str, Any]
    payment: dict[str, Any]
    operation: dict[str, Any]
    message: dict[str, Any]


def _patient_actor(patient_id: uuid.UUID) -> Actor:
    return Actor(user_id=None, label="bench patient", roles=frozenset({Role.PATIENT}), patient_id=patient_id, via="web")


def _through_services(db: Database, patient_id: uuid.UUID, condition: str, state: str, rng: random.Random) -> _Template:
    """A visit started, submitted and paid through the unit's services; its rows, to copy."""
    who = _patient_actor(patient_id)
    with db.unit_of_work() as session:
        visit = visit_service.start_visit(session, who, condition_code=condition, state=state)
        visit_service.submit(session, who, visit.id, _answers(visit_service.condition_of(visit), rng))
        visit_service.pay(session, who, visit.id, CARD)
        visit_id = visit.id
    with db.unit_of_work() as session:
        row = _row(session, Visit.__table__, Visit.__table__.c.id == visit_id)
        return _Template(
            visit=row,
            item=_row(session, WorkItem.__table__, WorkItem.__table__.c.id == row["work_item_id"]),
            payment=_row(session, Payment.__table__, Payment.__table__.c.id == row["payment_id"]),
            operation=_row(
                session, PaymentOperation.__table__, PaymentOperation.__table__.c.payment_id == row["payment_id"]
            ),
            message=_row(session, VisitMessage.__table__, VisitMessage.__table__.c.visit_id == visit_id),
        )


def _row(session: Any, table: SqlTable, where: Any) -> dict[str, Any]:
    rows = session.execute(select(table).where(where)).mappings().all()
    assert len(rows) == 1, f"{table.name}: {len(rows)} rows"
    return dict(rows[0])


def _copies(db: Database, template: _Template, patient_ids: list[uuid.UUID], rng: random.Random) -> None:
    """The template visit's rows again for each patient, queued ``0..MAX_AGE_MINUTES`` ago."""
    for start in range(0, len(patient_ids), BATCH):
        rows: dict[str, list[dict[str, Any]]] = {
            "payments": [],
            "operations": [],
            "items": [],
            "visits": [],
            "messages": [],
        }
        for patient_id in patient_ids[start : start + BATCH]:
            shift = timedelta(minutes=rng.uniform(0, MAX_AGE_MINUTES))
            visit_id, item_id, payment_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            v = _shifted(template.visit, shift, "created_at", "updated_at", "submitted_at", "queued_at")
            v.update(id=visit_id, patient_id=patient_id, payment_id=payment_id, work_item_id=item_id)
            v["reply_due_at"] = promise.due_by(v["queued_at"], v["state"])
            p = _shifted(template.payment, shift, "created_at", "updated_at", "authorised_at")
            p.update(
                id=payment_id,
                patient_id=patient_id,
                subject_id=str(visit_id),
                processor_ref=f"loc_auth_{uuid.uuid4().hex}",
            )
            o = _shifted(template.operation, shift, "created_at")
            o.update(
                id=uuid.uuid4(),
                payment_id=payment_id,
                idempotency_key=f"visit-pay-{visit_id}",
                processor_ref=p["processor_ref"],
                request_hash=_request_hash(
                    OperationKind.AUTHORISE,
                    p["amount"].cents,
                    patient_id,
                    p["subject_type"],
                    p["subject_id"],
                    p["card_brand"],
                    p["card_last4"],
                    p["card_expiry"],
                ),
            )
            i = _shifted(template.item, shift, "created_at", "updated_at")
            i.update(id=item_id, patient_id=patient_id, subject_id=str(visit_id), due_at=v["reply_due_at"])
            m = _shifted(template.message, shift, "created_at")
            m.update(id=uuid.uuid4(), visit_id=visit_id)
            for key, row in (("payments", p), ("operations", o), ("items", i), ("visits", v), ("messages", m)):
                rows[key].append(row)
        with db.unit_of_work() as session:
            session.execute(insert(Payment.__table__), rows["payments"])
            session.execute(insert(PaymentOperation.__table__), rows["operations"])
            session.execute(insert(WorkItem.__table__), rows["items"])
            session.execute(insert(Visit.__table__), rows["visits"])
            session.execute(insert(VisitMessage.__table__), rows["messages"])


def _shifted(row: dict[str, Any], shift: timedelta, *columns: str) -> dict[str, Any]:
    copy = dict(row)
    for column in columns:
        if copy[column] is not None:
            copy[column] = copy[column] - shift
    return copy


def clinician_actor(db: Database, user_id: uuid.UUID) -> Actor:
    with db.unit_of_work() as session:
        user = session.get(User, user_id)
        assert user is not None
        return Actor(
            user_id=user.id,
            label=user.email,
            roles=frozenset(user.roles),
            unit=user.unit,
            unit_function=user.unit,
            via="web",
        )


def claim_some(db: Database, user_id: uuid.UUID, count: int) -> int:
    """The clinician claims up to ``count`` visits they may take (soonest due first), through the services."""
    actor = clinician_actor(db, user_id)
    with db.unit_of_work() as session:
        staff_id = session.scalar(select(StaffMember.id).where(StaffMember.user_id == user_id))
        assert staff_id is not None
        states = licensure.licensed_states(session, staff_id, CLINICIAN_LICENCE_KINDS)
        subjects = session.scalars(
            select(WorkItem.subject_id)
            .where(WorkItem.status == "open", WorkItem.assignee_staff_id.is_(None), WorkItem.state.in_(sorted(states)))
            .order_by(WorkItem.due_at)
            .limit(count)
        ).all()
    for subject in subjects:
        with db.unit_of_work() as session:
            treatment.claim(session, actor, uuid.UUID(subject))
    return len(subjects)


def claimable(db: Database, user_id: uuid.UUID) -> int:
    with db.unit_of_work() as session:
        staff_id = session.scalar(select(StaffMember.id).where(StaffMember.user_id == user_id))
        states = licensure.licensed_states(session, staff_id, CLINICIAN_LICENCE_KINDS) if staff_id else set()
        return (
            session.scalar(
                select(func.count())
                .select_from(WorkItem)
                .where(
                    WorkItem.status == "open", WorkItem.assignee_staff_id.is_(None), WorkItem.state.in_(sorted(states))
                )
            )
            or 0
        )


def cookies(db: Database, user_ids: list[uuid.UUID], settings: Settings) -> list[str]:
    """A logged-in (MFA-verified) web session for each user, as the login page makes it."""
    raw = []
    with db.unit_of_work() as session:
        for user_id in user_ids:
            user = session.get(User, user_id)
            assert user is not None
            value, _ = authn.start_web_session(
                session, user, settings, mfa_verified=True, ip="127.0.0.1", user_agent="bench"
            )
            raw.append(value)
    return raw


# ---------------------------------------------------------------- measuring


@dataclass
class Answered:
    request_id: str
    status: int
    client_ms: float


def request_pages(url: str, cookie_values: list[str], view: str, requests: int) -> list[Answered]:
    """``requests`` queue pages of ``view``, one at a time on one kept-alive connection, taking the
    clinicians in turn."""
    host, _, port = url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    answered = []
    try:
        for n in range(requests):
            cookie = cookie_values[n % len(cookie_values)]
            started = time.perf_counter()
            connection.request(
                "GET", f"/virtual-care/queue?view={view}", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
            )
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            answered.append(Answered(response.getheader("x-request-id") or "", response.status, elapsed))
    finally:
        connection.close()
    return answered


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@contextmanager
def seeded(
    engine: str, n_visits: int, n_clinicians: int, sample: int, held: int, console: Console
) -> Iterator[tuple[Database, Seeded, list[uuid.UUID]]]:
    with fresh_database(engine) as db:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"seeding {n_visits:,} visits on {engine}", total=n_visits)
            made = seed(db, visits=n_visits, clinicians=n_clinicians, on_progress=lambda n: progress.advance(task, n))
        measured = random.Random(5).sample(made.clinicians, min(sample, len(made.clinicians)))
        with console.status(f"{len(measured)} clinicians claim {held} visits each"):
            for user_id in measured:
                claim_some(db, user_id, held)
        if db.is_postgres:  # the statistics autovacuum would have gathered by now on a server in use
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        yield db, made, measured


def run_engine(engine: str, args: argparse.Namespace, console: Console) -> list[QueueResult]:
    results = []
    with (
        seeded(engine, args.visits, args.clinicians, args.sample, args.held, console) as (db, made, measured),
        tempfile.TemporaryDirectory() as tmp,
    ):
        open_claimable = sorted(claimable(db, u) for u in measured)
        log = Path(tmp) / "requests.log"
        settings = Settings()
        values = cookies(db, measured, settings)
        with running_server(db.url, Path(tmp), request_log=log) as server:
            for view in VIEWS:  # warm-up: every clinician's first page of each view
                request_pages(server.url, values, view, len(values))
            for view in VIEWS:
                with console.status(f"{engine}: {args.requests} {view} pages"):
                    answered = request_pages(server.url, values, view, args.requests)
                ok = [a for a in answered if a.status == 200]
                time.sleep(0.5)  # the log line is written after the answer
                served = server_times(log, {a.request_id for a in ok})
                results.append(
                    QueueResult(
                        benchmark=TITLE,
                        engine=engine,
                        visits=made.visits,
                        clinicians=len(made.clinicians),
                        view=view,
                        requests=len(answered),
                        errors=len(answered) - len(ok),
                        p50_ms=round(percentile(list(served.values()), 50), 2),
                        p95_ms=round(percentile(list(served.values()), 95), 2),
                        client_p50_ms=round(percentile([a.client_ms for a in ok], 50), 2),
                        client_p95_ms=round(percentile([a.client_ms for a in ok], 95), 2),
                        claimable_median=open_claimable[len(open_claimable) // 2] if open_claimable else 0,
                        commit=commit(),
                        machine=machine(),
                        when=clock.today().isoformat(),
                    )
                )
                if len(ok) < len(answered):
                    console.print(f"[red]{engine} {view}: {len(answered) - len(ok)} answers were not 200")
                if len(served) < len(ok):
                    console.print(f"[yellow]{engine} {view}: server time of only {len(served)} of {len(ok)} requests")
    if not args.no_patient_read:
        from bench import patient_read

        read = patient_read.run_one(engine, 1000, args.patient_read_seconds, 16, console)
        for r in results:
            r.patient_read_rps, r.patient_read_p99_ms = read.requests_per_second, read.p99_ms
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], action="append", help="default: both")
    parser.add_argument("--visits", type=int, default=10_000, help="queued visits (default 10,000)")
    parser.add_argument("--clinicians", type=int, default=300, help="clinicians in the queue's team (default 300)")
    parser.add_argument("--sample", type=int, default=20, help="clinicians whose pages are requested (default 20)")
    parser.add_argument("--held", type=int, default=5, help="visits each of them claims first, for 'mine' (default 5)")
    parser.add_argument("--requests", type=int, default=400, help="pages per view (default 400)")
    parser.add_argument("--patient-read-seconds", type=int, default=10)
    parser.add_argument("--no-patient-read", action="store_true", help="skip the patient read beside it (needs wrk)")
    parser.add_argument("--no-save", action="store_true", help="print only; leave results and docs alone")
    args = parser.parse_args()
    console = Console()
    results: list[QueueResult] = []
    for engine in args.engine or ["sqlite", "postgresql"]:
        results += run_engine(engine, args, console)
    table = Table(title=TITLE)
    for column in (
        "engine",
        "view",
        "requests",
        "errors",
        "server p50 ms",
        "server p95 ms",
        "client p50 ms",
        "client p95 ms",
        "claimable",
        "patient read req/s",
    ):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.engine,
            r.view,
            str(r.requests),
            str(r.errors),
            f"{r.p50_ms:.1f}",
            f"{r.p95_ms:.1f}",
            f"{r.client_p50_ms:.1f}",
            f"{r.client_p95_ms:.1f}",
            f"{r.claimable_median:,}",
            f"{r.patient_read_rps:,.0f}" if r.patient_read_rps else "not measured",
        )
    console.print(table)
    if not args.no_save:
        save(results, "vc_queue")


if __name__ == "__main__":
    main()
