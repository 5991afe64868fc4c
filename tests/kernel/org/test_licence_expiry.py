"""Licence and DEA expiry warnings: 60, 30 and 7 days ahead, each once, to the person and their unit lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from careplane.kernel import clock, jobs
from careplane.kernel.identity.models import User
from careplane.kernel.mail import OutboxMail
from careplane.kernel.org.models import LicenceWarning, OrgUnit, StaffMember
from careplane.kernel.org.staff import licence_expiry
from careplane.kernel.org.staff import service as staff_service
from careplane.kernel.worker import Worker
from tests.kernel.org.test_staff import NPI_A, NPI_B, OPS, hire, licence, units_and_teams

START = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
DAY0 = START.date()


def _run(db, days: int = 0) -> list[tuple[str, int]]:  # noqa: ANN001
    clock.travel(START + timedelta(days=days))
    with db.unit_of_work() as s:
        return [(w.subject.split(":")[0], w.days_before) for w in licence_expiry.send_expiry_warnings(s)]


def _mail(db) -> list[tuple[str, str]]:  # noqa: ANN001
    with db.unit_of_work() as s:
        return [(m.to_address, m.subject) for m in s.scalars(select(OutboxMail).order_by(OutboxMail.created_at))]


def _with_lead(db):  # noqa: ANN001, ANN202
    """A clinician in Virtual Care (a team there) whose unit has a lead; returns (clinician, lead emails)."""
    units_and_teams(db)
    lead = hire(db, email="lead@example.org", npi=NPI_B, display_name="Lee Lead, MD")
    doc = hire(db, email="doc@example.org", npi=NPI_A, unit="virtual_care", team="Async West")
    with db.unit_of_work() as s:
        s.execute(update(OrgUnit).where(OrgUnit.code == "virtual_care").values(lead_staff_id=lead.id))
    return doc


def test_warned_once_each_at_60_30_and_7_days_with_the_unit_lead(db):
    clock.travel(START)
    doc = _with_lead(db)
    licence(db, doc.id, "NY", "MD", DAY0 + timedelta(days=60), number="NY-1")
    assert _run(db) == [("licence", 60)]
    assert _run(db) == []  # the job ran twice today: nothing sent twice
    assert _mail(db) == [
        ("doc@example.org", "Your NY MD licence NY-1 expires in 60 days"),
        ("lead@example.org", "Dana Brown, MD's NY MD licence NY-1 expires in 60 days"),
    ]
    assert _run(db, 1) == [] and _run(db, 29) == []
    assert _run(db, 30) == [("licence", 30)]
    assert _run(db, 31) == [] and _run(db, 52) == []
    assert _run(db, 53) == [("licence", 7)]
    assert _run(db, 54) == [] and _run(db, 60) == [] and _run(db, 61) == []
    with db.unit_of_work() as s:
        rows = s.scalars(select(LicenceWarning).order_by(LicenceWarning.days_before)).all()
        assert [(r.days_before, r.recipients) for r in rows] == [
            (d, "doc@example.org, lead@example.org") for d in (7, 30, 60)
        ]
    assert len(_mail(db)) == 6


def test_a_missed_day_sends_only_the_most_urgent_warning_and_a_renewal_starts_afresh(db):
    clock.travel(START)
    doc = hire(db, email="doc@example.org", npi=NPI_A)
    added = licence(db, doc.id, "CA", "MD", DAY0 + timedelta(days=25))
    assert _run(db) == [("licence", 30)]  # no lead: only the person is told
    assert _mail(db) == [("doc@example.org", f"Your CA MD licence {added.number} expires in 25 days")]
    with db.unit_of_work() as s:
        staff_service.renew_licence(s, OPS, doc.id, added.id, {"expires_on": DAY0 + timedelta(days=55)})
    assert _run(db, 1) == [("licence", 60)]


def test_dea_registration_is_warned_too_and_departed_or_expired_are_not(db):
    clock.travel(START)
    doc = hire(
        db,
        email="doc@example.org",
        npi=NPI_A,
        dea_number="AB1234563",
        dea_expires_on=(DAY0 + timedelta(days=7)).isoformat(),
    )
    gone = hire(db, npi=NPI_B, display_name="Gone Person")
    licence(db, gone.id, "TX", "MD", DAY0 + timedelta(days=7))
    licence(db, doc.id, "TX", "MD", DAY0 - timedelta(days=1))  # already expired: shown in red, not mailed
    with db.unit_of_work() as s:
        s.execute(update(StaffMember).where(StaffMember.id == gone.id).values(status="departed"))
    assert _run(db) == [("dea", 7)]
    assert _mail(db) == [("doc@example.org", "Your DEA registration AB1234563 expires in 7 days")]
    with db.unit_of_work() as s:
        s.execute(update(User).where(User.id == doc.user_id).values(is_active=False))
        s.execute(update(StaffMember).where(StaffMember.id == doc.id).values(dea_expires_on=DAY0 + timedelta(days=30)))
    assert _run(db) == []


def test_the_worker_runs_the_daily_job(db, settings):
    clock.travel(START)
    doc = hire(db, email="doc@example.org", npi=NPI_A)
    licence(db, doc.id, "NY", "MD", DAY0 + timedelta(days=30), number="NY-30")
    worker = Worker(db, settings)
    assert "org.licence_expiry_warnings" in jobs.registered()
    worker.run_once()  # schedules it: next 13:00 UTC is tomorrow
    assert _mail(db) == []
    clock.travel(START + timedelta(hours=23, minutes=1))
    worker.run_once()
    worker.run_once()
    with db.unit_of_work() as s:
        schedule = s.get(jobs.JobSchedule, "org.licence_expiry_warnings")
        assert schedule.last_status == "ok"
    # 29 days left on the day it ran: the 30-day warning, once.
    assert _mail(db) == [("doc@example.org", "Your NY MD licence NY-30 expires in 29 days")]
