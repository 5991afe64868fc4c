"""What the unit lead watches: open visits, how fast clinicians first reply, broken promises, visits
and revenue per day, and clinicians per state. Counts and sums only: no patient is named, so
reading it is not a read of anyone's record."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission
from careplane.kernel.errors import AccessDenied
from careplane.kernel.money import Money
from careplane.kernel.org.staff import licensure
from careplane.kernel.work import policy, queue_by_key
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services.visits import QUEUE_KEY
from careplane.units.virtual_care.visit_states import VisitStatus

DAYS = 30


@dataclass(frozen=True)
class Day:
    day: date
    visits: int
    revenue: Money


@dataclass(frozen=True)
class StateRow:
    state: str
    licensed: int
    treating_now: int
    waiting: int


@dataclass(frozen=True)
class LeadReport:
    queued: int
    in_progress: int
    late: int
    median_first_reply: timedelta | None
    replies_measured: int
    broken_today: int
    broken_this_week: int
    days: list[Day]
    states: list[StateRow]


def may_read(session: Session, actor: Actor) -> None:
    """The unit's lead and operations read the report; anyone else is refused."""
    queue = queue_by_key(session, QUEUE_KEY)
    if queue is None:
        raise AccessDenied("Virtual Care's visit queue has not been set up on this installation.")
    if actor.can(Permission.OPERATIONS):
        return
    if not policy.manages(actor, policy.place_of(session, queue), policy.acting_worker(session, actor)):
        raise AccessDenied("The Virtual Care lead's page is for the unit's lead and operations.")


def report(session: Session, actor: Actor, zone: tzinfo) -> LeadReport:
    may_read(session, actor)
    now = clock.now()
    local_today = now.astimezone(zone).date()
    midnight = datetime.combine(local_today, datetime.min.time(), zone)
    week_start = midnight - timedelta(days=local_today.weekday())
    since = midnight - timedelta(days=DAYS - 1)

    status_counts = dict(
        session.execute(
            select(Visit.status, func.count())
            .where(Visit.status.in_([VisitStatus.QUEUED.value, VisitStatus.IN_PROGRESS.value]))
            .group_by(Visit.status)
        ).all()
    )
    late = session.scalar(
        select(func.count())
        .select_from(Visit)
        .where(
            Visit.status.in_([VisitStatus.QUEUED.value, VisitStatus.IN_PROGRESS.value]),
            Visit.first_reply_at.is_(None),
            Visit.reply_due_at < now,
        )
    )
    replies: list[timedelta] = [
        first - queued
        for queued, first in session.execute(
            select(Visit.queued_at, Visit.first_reply_at).where(
                Visit.first_reply_at >= since, Visit.queued_at.is_not(None)
            )
        )
        if queued is not None and first is not None
    ]
    broken = [
        b
        for b in session.scalars(select(Visit.promise_broken_at).where(Visit.promise_broken_at >= week_start))
        if b is not None
    ]

    per_day: dict[date, list[Money]] = {local_today - timedelta(days=n): [] for n in range(DAYS)}
    for closed, price in session.execute(
        select(Visit.closed_at, Visit.price).where(
            Visit.status == VisitStatus.COMPLETED.value, Visit.closed_at >= since
        )
    ):
        day = closed.astimezone(zone).date() if closed else None
        if day in per_day:
            per_day[day].append(price or Money.zero())
    days = [Day(d, len(per_day[d]), Money.sum(per_day[d])) for d in sorted(per_day)]

    return LeadReport(
        queued=status_counts.get(VisitStatus.QUEUED.value, 0),
        in_progress=status_counts.get(VisitStatus.IN_PROGRESS.value, 0),
        late=late or 0,
        median_first_reply=_median(replies),
        replies_measured=len(replies),
        broken_today=len([b for b in broken if b >= midnight]),
        broken_this_week=len(broken),
        days=days,
        states=_states(session),
    )


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered, middle = sorted(values), len(values) // 2
    return ordered[middle] if len(values) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _states(session: Session) -> list[StateRow]:
    licensed = licensure.clinicians_per_state(session)
    open_visits = session.execute(
        select(Visit.state, Visit.status, Visit.clinician_staff_id).where(
            Visit.status.in_([VisitStatus.QUEUED.value, VisitStatus.IN_PROGRESS.value])
        )
    ).all()
    waiting = Counter(state for state, status, _ in open_visits if status == VisitStatus.QUEUED.value)
    treating: dict[str, set[object]] = {}
    for state, status, staff in open_visits:
        if status == VisitStatus.IN_PROGRESS.value:
            treating.setdefault(state, set()).add(staff)
    states = sorted(set(licensed) | set(waiting))
    return [StateRow(s, licensed.get(s, 0), len(treating.get(s, ())), waiting.get(s, 0)) for s in states]
