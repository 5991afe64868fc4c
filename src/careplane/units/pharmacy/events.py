"""Pharmacy's event handlers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from careplane.kernel.events import handles
from careplane.kernel.org import handover
from careplane.kernel.org.events import StaffDeparted
from careplane.units.pharmacy import CODE


@handles(StaffDeparted)
def hand_over_departed_staff_work(session: Session, event: StaffDeparted) -> None:
    """Move the departed person's open Pharmacy work to their successor and report it."""
    handover.hand_over_unit_work(session, event, CODE)
