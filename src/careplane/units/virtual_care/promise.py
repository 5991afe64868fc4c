"""The response-time promise: when a visit's first clinician reply is due.

Each condition promises a first reply within its ``reply_within_minutes`` (an hour unless the
catalog says otherwise). The clock of a promise runs only inside service hours in the patient's zone (08:00-22:00 by
default): a visit queued at 21:30 with a one-hour promise has 30 minutes that evening and is due
at 08:30 the next morning. A visit queued at night waits for the morning, then has its full hour.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from careplane.kernel.state_zones import zone_of_state
from careplane.units.virtual_care.catalog import DEFAULT_REPLY_MINUTES, shipped

DEFAULT_PROMISE = timedelta(minutes=DEFAULT_REPLY_MINUTES)
OPENS = time(8, 0)
CLOSES = time(22, 0)
#: When the team lead is warned: at this share of the promise used.
WARN_AT = 0.8


def due_by(queued_at: datetime, state: str, promise: timedelta = DEFAULT_PROMISE) -> datetime:
    """The moment ``promise`` of service-hours time after ``queued_at`` has passed, for a patient in ``state``."""
    zone = zone_of_state(state)
    moment = queued_at.astimezone(zone)
    left = promise
    while True:
        day = moment.date()
        opens = datetime.combine(day, OPENS, zone)
        closes = datetime.combine(day, CLOSES, zone)
        if moment < opens:
            moment = opens
        if moment >= closes:
            moment = datetime.combine(day + timedelta(days=1), OPENS, zone)
            continue
        if moment + left <= closes:
            return moment + left
        left -= closes - moment
        moment = datetime.combine(day + timedelta(days=1), OPENS, zone)


def warn_at(queued_at: datetime, state: str, promise: timedelta = DEFAULT_PROMISE) -> datetime:
    """When :data:`WARN_AT` of the promise has been used."""
    return due_by(queued_at, state, promise * WARN_AT)


def promised_for(condition_code: str) -> timedelta:
    """The condition's promise (the catalog's ``reply_within_minutes``; an hour by default)."""
    condition = shipped().get(condition_code)
    return timedelta(minutes=condition.reply_within_minutes) if condition else DEFAULT_PROMISE
