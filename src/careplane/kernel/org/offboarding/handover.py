"""Hand-over of a departed person's open work, unit by unit.

Every installed unit (:mod:`careplane.kernel.units`) takes part, through a ``StaffDeparted``
handler of its own (:func:`register_handlers`): the unit's own hand-over (``Unit.hand_over``)
moves its records of the person, or, for a unit that declares none, the kernel moves the person's
work items in the unit's queues; then the unit's :func:`report` is recorded. A departure is
complete once every installed unit has reported and the person holds no open item.

The organisation may change while the units hand over: a merge or a team moved can carry an item
from a unit whose hand-over has not run yet into one (of another kind of work) whose hand-over
already has. So the units of one departure hand over one at a time (the departure's row is
locked), and each one, after its own, moves on what such a restructuring left behind
(:func:`catch_up`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from careplane.kernel import clock, units
from careplane.kernel.events import handlers_for, handles
from careplane.kernel.org.events import StaffDeparted
from careplane.kernel.org.models import Departure, HandoverReport, OrgUnit, StaffMember, StaffStatus, Team
from careplane.kernel.work.models import WorkItem, WorkItemStatus, WorkQueue

#: How many departures in a row to follow when a successor has left too.
MAX_SUCCESSION = 20


def registered_units() -> dict[str, str]:
    """unit code -> name of every unit that must report, in code order."""
    return dict(sorted((unit.code, unit.name) for unit in units.installed()))


def unit_names(session: Session) -> dict[str, str]:
    """Registered names, overridden by the organisation's current names (units get renamed)."""
    names = registered_units()
    names.update({code: name for code, name in session.execute(select(OrgUnit.code, OrgUnit.name))})
    return names


# ---------------------------------------------------------------- moving work


@dataclass(frozen=True)
class Successor:
    staff_id: uuid.UUID | None = None
    queue_id: uuid.UUID | None = None


def successor_of(session: Session, departure: Departure) -> Successor:
    """Where the work goes. A successor person who has since left hands on to their own successor."""
    current = departure
    for _ in range(MAX_SUCCESSION):
        if current.successor_staff_id is None:
            return Successor(queue_id=current.successor_queue_id)
        person = session.get(StaffMember, current.successor_staff_id)
        if person is None or person.status == StaffStatus.ACTIVE.value:
            return Successor(staff_id=current.successor_staff_id)
        onward = session.scalar(select(Departure).where(Departure.staff_id == person.id))
        if onward is None:
            return Successor(staff_id=current.successor_staff_id)
        current = onward
    raise RuntimeError(f"the succession from departure {departure.id} does not end")


def _open_items_in_units_doing(session: Session, staff_id: uuid.UUID, function: str) -> list[WorkItem]:
    """The person's open items in the queues of every unit doing ``function``'s work: the unit of
    that code, and the units made later by splitting it or created to do its work."""
    return list(
        session.scalars(
            select(WorkItem)
            .join(WorkQueue, WorkQueue.id == WorkItem.queue_id)
            .join(Team, Team.id == WorkQueue.team_id)
            .join(OrgUnit, OrgUnit.id == Team.unit_id)
            .where(
                WorkItem.assignee_staff_id == staff_id,
                WorkItem.status == WorkItemStatus.OPEN.value,
                or_(OrgUnit.function == function, OrgUnit.code == function),
            )
            .order_by(WorkItem.created_at, WorkItem.id)
            .with_for_update(of=WorkItem)
        )
    )


def move_open_work(
    session: Session,
    staff_id: uuid.UUID,
    unit_code: str,
    *,
    to_staff_id: uuid.UUID | None = None,
    to_queue_id: uuid.UUID | None = None,
) -> Counter[str]:
    """Reassign the person's open items in the queues of the units doing ``unit_code``'s work to ``to_staff_id``,
    or move them into ``to_queue_id`` unassigned. Returns how many moved, by kind."""
    if (to_staff_id is None) == (to_queue_id is None):
        raise ValueError("move open work to exactly one of a person or a queue")
    moved: Counter[str] = Counter()
    now = clock.now()
    for item in _open_items_in_units_doing(session, staff_id, unit_code):
        item.assignee_staff_id = to_staff_id
        if to_queue_id is not None:
            item.queue_id = to_queue_id
        item.updated_at = now
        moved[item.kind] += 1
    session.flush()
    return moved


def handler_name(unit_code: str) -> str:
    """The name of a unit's ``StaffDeparted`` handler (its deliveries are named so)."""
    return f"careplane.handover.{unit_code}"


def register_handlers() -> None:
    """A ``StaffDeparted`` handler for each installed unit, so that each unit's hand-over is
    delivered, retried and dead-lettered on its own: one unit's failure holds up no other."""
    registered = handlers_for(StaffDeparted.event_name())
    for unit in units.installed():
        if handler_name(unit.code) not in registered:
            handles(StaffDeparted, name=handler_name(unit.code))(_hand_over_in(unit.code))


def _hand_over_in(unit_code: str) -> Callable[[Session, StaffDeparted], None]:
    def hand_over_in_unit(session: Session, event: StaffDeparted) -> None:
        """The unit's own hand-over (``Unit.hand_over``) moves its records of the departed person,
        or the kernel moves the person's work items in its queues; then the unit reports. A
        redelivered event moves nothing twice (the work is no longer the person's)."""
        unit = units.by_code(unit_code)
        if unit is None:
            return  # no longer installed: nothing of it to hand over
        # One unit's hand-over of this departure at a time, so that each sees what the others reported.
        if session.get(Departure, event.departure_id, with_for_update=True) is None:
            raise LookupError(f"departure {event.departure_id} is missing")
        if unit.hand_over:
            moved = units.load(unit.hand_over)(session, event)
            report(session, event.departure_id, unit.code, dict(moved))
        else:
            hand_over_unit_work(session, event, unit.code)
        catch_up(session, event)

    return hand_over_in_unit


#: The note a unit's report gets when it is given work a restructuring carried in after it reported.
CAUGHT_UP = "Work that a restructuring moved here after this unit had handed over was handed over too."


def catch_up(session: Session, event: StaffDeparted) -> Counter[str]:
    """Move on the person's open items in the units whose hand-over for this departure has run.

    An item there was missed: a restructuring (a merge, a team moved) carried it in from a unit that
    had not handed over yet, after this one had. It goes to the same successor, and is
    added to the report of the unit whose work it now is (with :data:`CAUGHT_UP` as a note). One
    query over all of those units, so an item cannot slip between two of them while it runs.
    Returns how many moved, by kind."""
    departure = session.get(Departure, event.departure_id)
    if departure is None:
        raise LookupError(f"departure {event.departure_id} is missing")
    reported = set(session.scalars(select(HandoverReport.unit_code).where(HandoverReport.departure_id == departure.id)))
    if not reported:
        return Counter()
    rows = session.execute(
        select(WorkItem, OrgUnit.code, OrgUnit.function)
        .join(WorkQueue, WorkQueue.id == WorkItem.queue_id)
        .join(Team, Team.id == WorkQueue.team_id)
        .join(OrgUnit, OrgUnit.id == Team.unit_id)
        .where(
            WorkItem.assignee_staff_id == departure.staff_id,
            WorkItem.status == WorkItemStatus.OPEN.value,
            or_(OrgUnit.function.in_(reported), OrgUnit.code.in_(reported)),
        )
        .order_by(WorkItem.created_at, WorkItem.id)
        .with_for_update(of=WorkItem)
    ).all()
    if not rows:
        return Counter()
    to = successor_of(session, departure)
    now = clock.now()
    by_unit: dict[str, Counter[str]] = {}
    for item, code, function in rows:
        item.assignee_staff_id = to.staff_id
        if to.queue_id is not None:
            item.queue_id = to.queue_id
        item.updated_at = now
        by_unit.setdefault(function if function in reported else code, Counter())[item.kind] += 1
    session.flush()
    for unit_code, moved in sorted(by_unit.items()):
        report(session, departure.id, unit_code, dict(moved), CAUGHT_UP)
    return sum(by_unit.values(), Counter())


def hand_over_unit_work(
    session: Session, event: StaffDeparted, unit_code: str, notes: str | None = None
) -> HandoverReport:
    """What the kernel does for a unit without a hand-over of its own: move the person's open work
    items in the unit's queues, then report."""
    departure = session.get(Departure, event.departure_id)
    if departure is None:
        raise LookupError(f"departure {event.departure_id} is missing")
    to = successor_of(session, departure)
    moved = move_open_work(session, event.staff_id, unit_code, to_staff_id=to.staff_id, to_queue_id=to.queue_id)
    return report(session, event.departure_id, unit_code, dict(moved), notes)


# ---------------------------------------------------------------- reports and status


def report(
    session: Session, departure_id: uuid.UUID, unit_code: str, moved: dict[str, int], notes: str | None = None
) -> HandoverReport:
    """Record what a unit moved. One row per unit and departure: a repeated report (a redelivered
    event) adds what it moved this time (usually nothing) instead of adding a row."""
    existing = session.scalar(
        select(HandoverReport)
        .where(HandoverReport.departure_id == departure_id, HandoverReport.unit_code == unit_code)
        .with_for_update()
    )
    if existing is None:
        row = HandoverReport(
            departure_id=departure_id,
            unit_code=unit_code,
            reported_at=clock.now(),
            moved={k: int(v) for k, v in moved.items() if v},
            notes=notes,
        )
        session.add(row)
        session.flush()
        return row
    if any(moved.values()):
        total = Counter(existing.moved)
        total.update({k: int(v) for k, v in moved.items() if v})
        existing.moved = dict(total)
    if notes and notes not in (existing.notes or "").split("\n"):
        existing.notes = f"{existing.notes}\n{notes}" if existing.notes else notes
    return existing


@dataclass
class HandoverStatus:
    complete: bool
    #: Reports in, by unit code.
    reports: dict[str, HandoverReport] = field(default_factory=dict)
    #: unit code -> name of the registered units that have not reported yet.
    missing: dict[str, str] = field(default_factory=dict)
    #: Open work items the person still holds anywhere (in a unit no hand-over covers, say).
    still_held: int = 0


def status(session: Session, departure: Departure) -> HandoverStatus:
    reports = {
        r.unit_code: r
        for r in session.scalars(select(HandoverReport).where(HandoverReport.departure_id == departure.id))
    }
    names = unit_names(session)
    missing = {code: names.get(code, code) for code in registered_units() if code not in reports}
    held = (
        session.scalar(
            select(func.count())
            .select_from(WorkItem)
            .where(WorkItem.assignee_staff_id == departure.staff_id, WorkItem.status == WorkItemStatus.OPEN.value)
        )
        or 0
    )
    return HandoverStatus(complete=not missing and not held, reports=reports, missing=missing, still_held=held)
