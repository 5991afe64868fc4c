"""Open slots for video visits, and the rules of time around a booking: the slot length, how soon
one may be booked, how far ahead, until when it may be changed, and when one may check in or be
marked missed. Each rule lives here once; booking, the reminders, the call and the pages read it.

Slots are cut from each clinician's hours (weekly hours, or a one-off change of that date, in the
zone they were given in), from the start of each range, and those overlapping a booking that is
not cancelled are left out. Only clinicians licensed in the patient's state today are offered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.errors import Conflict
from careplane.kernel.org.models import StaffMember
from careplane.kernel.org.staff.licensure import clinicians_licensed_in
from careplane.kernel.state_zones import zone_of_state
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.video_models import Booking, HoursChange, WeeklyHours

#: The length of a video visit's slot.
SLOT = timedelta(minutes=20)
#: The soonest a slot may be booked: a clinician is not booked by surprise.
LEAD = timedelta(hours=2)
#: How far ahead slots are offered.
HORIZON = timedelta(days=14)
#: Rescheduling and cancelling are open until this long before the start.
CHANGE_CUTOFF = timedelta(hours=2)
#: The reminders e-mailed before the start (each once).
REMIND_DAY_BEFORE = timedelta(hours=24)
REMIND_HOUR_BEFORE = timedelta(hours=1)
#: The patient may check in (and join the call) from this long before the start.
CHECK_IN_OPENS = timedelta(minutes=15)
#: The clinician may mark a patient who has not joined as a no-show from this long after the start.
NO_SHOW_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Slot:
    clinician_staff_id: uuid.UUID
    clinician_name: str
    starts_at: datetime

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + SLOT

    @property
    def key(self) -> str:
        """How a form or a client names the slot: ``<clinician staff id>@<start, ISO 8601 UTC>``."""
        return f"{self.clinician_staff_id}@{self.starts_at.isoformat()}"


def parse_key(key: str) -> tuple[uuid.UUID, datetime] | None:
    """The clinician and start a slot key names, or None when it names none."""
    staff, _, when = key.strip().partition("@")
    try:
        staff_id, starts_at = uuid.UUID(staff), datetime.fromisoformat(when)
    except ValueError:
        return None
    return (staff_id, starts_at) if starts_at.tzinfo is not None else None


def _ranges(
    weekly: list[WeeklyHours], changes: dict[date, HoursChange], day: date
) -> Iterator[tuple[datetime, datetime]]:
    """The clinician's hours on ``day`` (of their own calendar) as moments."""
    change = changes.get(day)
    if change is not None:
        if change.starts is not None and change.ends is not None:
            yield _moment(day, change.starts, change.zone), _moment(day, change.ends, change.zone)
        return
    for row in weekly:
        if row.weekday == day.weekday():
            yield _moment(day, row.starts, row.zone), _moment(day, row.ends, row.zone)


def _moment(day: date, at: time, zone: str) -> datetime:
    found = clock.zone_named(zone)
    assert found is not None  # zones are checked when hours are saved
    return datetime.combine(day, at, tzinfo=found)


def slot_starts(
    weekly: list[WeeklyHours], changes: list[HoursChange], frm: datetime, until: datetime
) -> list[datetime]:
    """Every slot start of these hours in [frm, until), UTC, in order."""
    by_day = {c.on: c for c in changes}
    starts: set[datetime] = set()
    day = frm.date() - timedelta(days=1)
    while day <= until.date() + timedelta(days=1):
        for begin, end in _ranges(weekly, by_day, day):
            at = begin
            while at + SLOT <= end:
                utc = at.astimezone(frm.tzinfo)
                if frm <= utc < until:
                    starts.add(utc)
                at += SLOT
        day += timedelta(days=1)
    return sorted(starts)


def _overlaps(start: datetime, taken: Iterable[tuple[datetime, datetime]]) -> bool:
    return any(start < end and begin < start + SLOT for begin, end in taken)


def open_slots(
    session: Session, state: str, *, clinician_staff_id: uuid.UUID | None = None, now: datetime | None = None
) -> list[Slot]:
    """Open slots from now + :data:`LEAD` to now + :data:`HORIZON` with clinicians licensed in
    ``state`` today (one of them only, when ``clinician_staff_id`` is given), soonest first."""
    now = now or clock.now()
    frm, until = now + LEAD, now + HORIZON
    clinicians: list[StaffMember] = [
        c for c in clinicians_licensed_in(session, state) if clinician_staff_id in (None, c.id)
    ]
    if not clinicians:
        return []
    ids = [c.id for c in clinicians]
    weekly: dict[uuid.UUID, list[WeeklyHours]] = {i: [] for i in ids}
    for row in session.scalars(select(WeeklyHours).where(WeeklyHours.clinician_staff_id.in_(ids))):
        weekly[row.clinician_staff_id].append(row)
    changes: dict[uuid.UUID, list[HoursChange]] = {i: [] for i in ids}
    for change in session.scalars(
        select(HoursChange).where(HoursChange.clinician_staff_id.in_(ids), HoursChange.on >= frm.date() - timedelta(1))
    ):
        changes[change.clinician_staff_id].append(change)
    taken: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {i: [] for i in ids}
    for booking in session.scalars(
        select(Booking).where(
            Booking.clinician_staff_id.in_(ids),
            Booking.cancelled_at.is_(None),
            Booking.ends_at > frm,
            Booking.starts_at < until,
        )
    ):
        taken[booking.clinician_staff_id].append((booking.starts_at, booking.ends_at))
    found = [
        Slot(c.id, c.user.display_name, start)
        for c in clinicians
        for start in slot_starts(weekly[c.id], changes[c.id], frm, until)
        if not _overlaps(start, taken[c.id])
    ]
    return sorted(found, key=lambda s: (s.starts_at, s.clinician_name, str(s.clinician_staff_id)))


def zone_of_visit(visit: Visit) -> tzinfo:
    """The patient's zone for this visit: that of the state they are in for it."""
    return zone_of_state(visit.state)


def booking_of(session: Session, visit_id: uuid.UUID, *, lock: bool = False) -> Booking | None:
    """The visit's booking (cancelled or not), or None."""
    query = select(Booking).where(Booking.visit_id == visit_id)
    return session.scalar(query.with_for_update() if lock else query)


def change_refusal(booking: Booking, verb: str, now: datetime | None = None) -> str | None:
    """Why the booking may no longer be rescheduled or cancelled (``verb``), or None."""
    if (now or clock.now()) > booking.starts_at - CHANGE_CUTOFF:
        hours = int(CHANGE_CUTOFF / timedelta(hours=1))
        return f"A video visit can be {verb} until {hours} hours before it starts; this one can no longer be."
    return None


def free(session: Session, visit: Visit) -> None:
    """Give back the slot of a booked visit the patient cancels: refused (409) after the cutoff."""
    booking = booking_of(session, visit.id, lock=True)
    if booking is None or booking.cancelled_at is not None:
        return
    if reason := change_refusal(booking, "cancelled"):
        raise Conflict(reason)
    booking.cancelled_at = clock.now()
