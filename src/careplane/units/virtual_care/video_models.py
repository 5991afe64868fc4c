"""Video visits' tables: a clinician's weekly hours and one-off changes of them (from which the open
slots are computed), and the booking of a video visit for a slot.

A booking is one row per visit: rescheduling moves it, cancelling marks it cancelled. Of the
bookings not cancelled, one clinician has at most one starting at a given moment: a partial unique
index (``cancelled_at IS NULL``, on SQLite and on PostgreSQL) decides between two patients booking
the same slot at once, so exactly one wins whatever the timing.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from careplane.kernel.db import Base, IdMixin, TimestampMixin


class WeeklyHours(IdMixin, Base):
    """A clinician's hours on a weekday, in their own time zone (several rows make a split day)."""

    __tablename__ = "vc_weekly_hours"

    clinician_staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_members.id"), index=True)
    #: 0 Monday .. 6 Sunday, as datetime.weekday()
    weekday: Mapped[int]
    starts: Mapped[time]
    ends: Mapped[time]
    #: The IANA time zone the hours are in (the clinician's own).
    zone: Mapped[str] = mapped_column(String(60))


class HoursChange(IdMixin, Base):
    """One date that differs from the weekly hours: off (no hours), or other hours."""

    __tablename__ = "vc_hours_changes"
    __table_args__ = (UniqueConstraint("clinician_staff_id", "on", name="uq_vc_hours_changes_day"),)

    clinician_staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_members.id"))
    on: Mapped[date]
    #: Both None: the clinician is off that day.
    starts: Mapped[time | None]
    ends: Mapped[time | None]
    zone: Mapped[str] = mapped_column(String(60))


class Booking(IdMixin, TimestampMixin, Base):
    """A video visit booked for a slot with a clinician."""

    __tablename__ = "vc_bookings"
    __table_args__ = (
        Index(
            "uq_vc_bookings_active_slot",
            "clinician_staff_id",
            "starts_at",
            unique=True,
            sqlite_where=text("cancelled_at IS NULL"),
            postgresql_where=text("cancelled_at IS NULL"),
        ),
        Index("ix_vc_bookings_starts_at", "starts_at"),
    )

    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vc_visits.id"), unique=True)
    clinician_staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_members.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    #: The reminders e-mailed a day and an hour before, each once.
    reminded_day_before_at: Mapped[datetime | None]
    reminded_hour_before_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    #: When each side first joined the call's room (the signalling socket).
    patient_joined_at: Mapped[datetime | None]
    clinician_joined_at: Mapped[datetime | None]
    no_show_at: Mapped[datetime | None]
