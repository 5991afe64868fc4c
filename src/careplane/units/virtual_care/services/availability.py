"""A clinician's availability for video visits: weekly hours (weekday, start, end, in their own IANA
time zone) and one-off changes (a date off, or other hours that date). Clinicians keep their own;
the open slots (:mod:`.slots`) are computed from them.

Saving the weekly hours replaces them whole (all-or-nothing: one bad row and nothing changes).
Changing hours never moves a booked visit: the bookings stand, and only new slots follow the hours.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.audit.record import record
from careplane.kernel.errors import AccessDenied, ValidationFailed
from careplane.kernel.identity.roles import Role
from careplane.kernel.work import policy
from careplane.units.virtual_care.video_models import HoursChange, WeeklyHours

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: The furthest ahead a one-off change may be given.
CHANGES_AHEAD_DAYS = 366


@dataclass(frozen=True)
class Hours:
    """Hours on a weekday (``weekday`` 0 Monday .. 6 Sunday)."""

    weekday: int
    starts: time
    ends: time


@dataclass(frozen=True)
class Availability:
    zone: str
    weekly: list[WeeklyHours]
    changes: list[HoursChange]


def acting_clinician(session: Session, actor: Actor) -> uuid.UUID:
    """The staff id of the clinician acting; anyone else keeps no hours."""
    who = policy.acting_worker(session, actor)
    if who is None or not who.active or Role.CLINICIAN not in actor.roles:
        raise AccessDenied("Only clinicians keep hours for video visits.")
    return who.staff_id


def check_zone(zone: str) -> str | None:
    """Why ``zone`` is not an IANA time zone, or None."""
    if clock.zone_named(zone) is None:
        return "Choose a time zone, e.g. America/New_York."
    return None


def of(session: Session, staff_id: uuid.UUID) -> Availability:
    weekly = list(
        session.scalars(
            select(WeeklyHours)
            .where(WeeklyHours.clinician_staff_id == staff_id)
            .order_by(WeeklyHours.weekday, WeeklyHours.starts)
        )
    )
    changes = list(
        session.scalars(
            select(HoursChange)
            .where(HoursChange.clinician_staff_id == staff_id, HoursChange.on >= clock.today())
            .order_by(HoursChange.on)
        )
    )
    zone = weekly[0].zone if weekly else (changes[0].zone if changes else "")
    return Availability(zone, weekly, changes)


def mine(session: Session, actor: Actor) -> Availability:
    return of(session, acting_clinician(session, actor))


def set_weekly_hours(session: Session, actor: Actor, zone: str, hours: list[Hours]) -> Availability:
    """Replace the clinician's weekly hours. Refused whole when a zone, weekday or range is wrong or
    two ranges of a weekday overlap; errors are keyed ``hours[n]``."""
    staff_id = acting_clinician(session, actor)
    zone = zone.strip()
    errors: dict[str, str] = {}
    if problem := check_zone(zone):
        errors["zone"] = problem
    for n, row in enumerate(hours):
        if not 0 <= row.weekday <= 6:
            errors[f"hours[{n}].weekday"] = "Choose a weekday."
        elif row.starts >= row.ends:
            errors[f"hours[{n}]"] = f"{WEEKDAYS[row.weekday]}: the hours must end after they start."
    for n, row in enumerate(hours):
        for m, other in enumerate(hours[:n]):
            if f"hours[{n}]" in errors or f"hours[{m}]" in errors:
                continue
            if row.weekday == other.weekday and row.starts < other.ends and other.starts < row.ends:
                errors[f"hours[{n}]"] = f"{WEEKDAYS[row.weekday]}: these hours overlap others of the same day."
    if errors:
        raise ValidationFailed(errors)
    session.execute(delete(WeeklyHours).where(WeeklyHours.clinician_staff_id == staff_id))
    for row in sorted(hours, key=lambda h: (h.weekday, h.starts)):
        session.add(
            WeeklyHours(clinician_staff_id=staff_id, weekday=row.weekday, starts=row.starts, ends=row.ends, zone=zone)
        )
    session.flush()
    _audit(session, actor, "virtual_care.availability.weekly")
    return of(session, staff_id)


def set_change(
    session: Session, actor: Actor, on: date | None, zone: str, starts: time | None, ends: time | None
) -> HoursChange:
    """Make ``on`` differ from the weekly hours: off (no hours), or ``starts`` to ``ends``."""
    staff_id = acting_clinician(session, actor)
    zone = zone.strip()
    errors: dict[str, str] = {}
    today = clock.today()
    if on is None:
        errors["on"] = "Give the date."
    elif on < today or (on - today).days > CHANGES_AHEAD_DAYS:
        errors["on"] = "Give a date from today to a year ahead."
    if problem := check_zone(zone):
        errors["zone"] = problem
    if (starts is None) != (ends is None):
        errors["ends" if ends is None else "starts"] = "Give both times, or neither for a day off."
    elif starts is not None and ends is not None and starts >= ends:
        errors["ends"] = "The hours must end after they start."
    if errors:
        raise ValidationFailed(errors)
    assert on is not None
    change = session.scalar(
        select(HoursChange).where(HoursChange.clinician_staff_id == staff_id, HoursChange.on == on).with_for_update()
    )
    if change is None:
        change = HoursChange(clinician_staff_id=staff_id, on=on, zone=zone)
        session.add(change)
    change.starts, change.ends, change.zone = starts, ends, zone
    session.flush()
    _audit(session, actor, "virtual_care.availability.change")
    return change


def remove_change(session: Session, actor: Actor, on: date) -> None:
    """The date follows the weekly hours again (removing a change that is not there changes nothing)."""
    staff_id = acting_clinician(session, actor)
    session.execute(delete(HoursChange).where(HoursChange.clinician_staff_id == staff_id, HoursChange.on == on))
    _audit(session, actor, "virtual_care.availability.change")


def _audit(session: Session, actor: Actor, action: str) -> None:
    """Hours are no patient data, but who changed whose hours is worth keeping."""
    record(session, actor, action, resource_type="virtual_care.availability", reason="hours changed")
