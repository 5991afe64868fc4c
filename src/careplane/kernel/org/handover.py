"""Hand-over of a departed person's open work, unit by unit.

Every unit that holds work registers here as a participant (its events module calls
:func:`participant` at import). Its ``StaffDeparted`` handler moves the person's open work and
calls :func:`report`; a departure is complete once every registered unit has reported.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane import wiring
from careplane.kernel import clock, work
from careplane.kernel.org.events import StaffDeparted
from careplane.kernel.org.models import Departure, HandoverReport, OrgUnit, StaffMember, StaffStatus

#: unit code -> the unit's name as registered (the org table's current name wins when shown).
_PARTICIPANTS: dict[str, str] = {}

#: How many departures in a row to follow when a successor has left too.
MAX_SUCCESSION = 20


def participant(unit_code: str, name: str) -> str:
    """Register a unit whose report every departure waits for; returns the code."""
    _PARTICIPANTS[unit_code] = name
    return unit_code


def registered_units() -> dict[str, str]:
    """unit code -> name of every unit that must report, in code order."""
    wiring.load_all()  # a web process must know every unit, not only those its routes imported
    return dict(sorted(_PARTICIPANTS.items()))


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


def move_open_work(
    session: Session,
    staff_id: uuid.UUID,
    unit_code: str,
    *,
    to_staff_id: uuid.UUID | None = None,
    to_queue_id: uuid.UUID | None = None,
) -> Counter[str]:
    """Reassign the person's open items in the queues of ``unit_code``'s teams to ``to_staff_id``,
    or move them into ``to_queue_id`` unassigned. Returns how many moved, by kind."""
    if (to_staff_id is None) == (to_queue_id is None):
        raise ValueError("move open work to exactly one of a person or a queue")
    moved: Counter[str] = Counter()
    now = clock.now()
    for item in work.open_items_of(session, staff_id, unit_code, lock=True):
        item.assignee_staff_id = to_staff_id
        if to_queue_id is not None:
            item.queue_id = to_queue_id
        item.updated_at = now
        moved[item.kind] += 1
    session.flush()
    return moved


def hand_over_unit_work(session: Session, event: StaffDeparted, unit_code: str, notes: str | None = None) -> HandoverReport:
    """What most units' ``StaffDeparted`` handlers do: move the open work items, then report."""
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
    if notes and notes != existing.notes:
        existing.notes = f"{existing.notes}\n{notes}" if existing.notes else notes
    return existing


@dataclass
class HandoverStatus:
    complete: bool
    #: Reports in, by unit code.
    reports: dict[str, HandoverReport] = field(default_factory=dict)
    #: unit code -> name of the registered units that have not reported yet.
    missing: dict[str, str] = field(default_factory=dict)


def status(session: Session, departure: Departure) -> HandoverStatus:
    reports = {
        r.unit_code: r
        for r in session.scalars(select(HandoverReport).where(HandoverReport.departure_id == departure.id))
    }
    names = unit_names(session)
    missing = {code: names.get(code, code) for code in registered_units() if code not in reports}
    return HandoverStatus(complete=not missing, reports=reports, missing=missing)
