"""Events the organisation publishes."""

from __future__ import annotations

import dataclasses
import uuid

from careplane.kernel.events import DomainEvent


@dataclasses.dataclass(frozen=True)
class StaffDeparted(DomainEvent):
    """A staff member was offboarded: their access is already gone. Every unit that registered as a
    hand-over participant moves their open work to the successor person, or into the successor
    queue unassigned (exactly one of the two is set), and reports what it moved."""

    departure_id: uuid.UUID
    staff_id: uuid.UUID
    successor_staff_id: uuid.UUID | None
    successor_queue_id: uuid.UUID | None
