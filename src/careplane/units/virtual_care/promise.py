"""The response-time promise: when a visit's first clinician reply is due.

The clock of a promise runs only inside service hours in the patient's zone (08:00-22:00 by
default): a visit queued at 21:30 with a one-hour promise has 30 minutes that evening and is due
at 08:30 the next morning. A visit queued at night waits for the morning, then has its full hour.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from careplane.kernel.state_zones import zone_of_state

DEFAULT_PROMISE = timedelta(hours=1)
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
