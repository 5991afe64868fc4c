"""Tables of the organisation.

Units and teams are never deleted: a merge, split or move ends one row's effective period and
starts another's, and every change is an :class:`OrgChange` row, so the history is complete.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careplane.kernel import clock
from careplane.kernel.db import Base, IdMixin, TimestampMixin
from careplane.kernel.identity.models import User

if TYPE_CHECKING:
    from careplane.kernel.work.models import WorkQueue


class UnitStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"  # folded into another unit (merged_into_id)
    RETIRED = "retired"


class OrgUnit(IdMixin, TimestampMixin, Base):
    """A business unit, e.g. Pharmacy. ``code`` is stable and used by software (events, routing)."""

    __tablename__ = "org_units"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default=UnitStatus.ACTIVE.value)
    lead_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_members.id", use_alter=True))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org_units.id"))
    #: The kind of work done here, one of ``careplane.kernel.units.BUSINESS_FUNCTIONS``: it decides
    #: which patient data the unit's staff may touch. Set at creation, inherited on a split, never changed.
    function: Mapped[str | None] = mapped_column(String(40))

    teams: Mapped[list[Team]] = relationship(back_populates="unit", order_by="Team.name")


class Team(IdMixin, TimestampMixin, Base):
    __tablename__ = "org_teams"

    name: Mapped[str] = mapped_column(String(120))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_units.id"), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)

    unit: Mapped[OrgUnit] = relationship(back_populates="teams")
    queues: Mapped[list[WorkQueue]] = relationship(back_populates="team", order_by="WorkQueue.name")


class StaffStatus(StrEnum):
    ACTIVE = "active"
    DEPARTED = "departed"


class StaffMember(IdMixin, TimestampMixin, Base):
    """A person who works here. Their login is ``user_id``; roles live on the user."""

    __tablename__ = "staff_members"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    #: Ten digits, Luhn-checked over the 80840 prefix.
    npi: Mapped[str | None] = mapped_column(String(10), unique=True)
    #: Professional credentials, e.g. ["MD"], ["PharmD", "RPh"].
    credentials: Mapped[list[str]] = mapped_column(JSON, default=list)
    dea_number: Mapped[str | None] = mapped_column(String(9))
    dea_expires_on: Mapped[date | None] = mapped_column(Date)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=StaffStatus.ACTIVE.value)

    licences: Mapped[list[Licence]] = relationship(back_populates="staff", order_by="Licence.state")
    memberships: Mapped[list[TeamMembership]] = relationship(back_populates="staff")
    #: Loaded on access (not joined), so ``SELECT ... FOR UPDATE`` of staff rows stays valid on PostgreSQL.
    user: Mapped[User] = relationship()


class TeamMembership(IdMixin, Base):
    __tablename__ = "org_team_memberships"
    __table_args__ = (Index("ix_org_team_memberships_team_staff", "team_id", "staff_id"),)

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_teams.id"))
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_members.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    staff: Mapped[StaffMember] = relationship(back_populates="memberships")
    team: Mapped[Team] = relationship()


class Licence(IdMixin, Base):
    """A state licence. Valid through ``expires_on`` inclusive (platform date), then it permits nothing."""

    __tablename__ = "staff_licences"
    __table_args__ = (
        UniqueConstraint("state", "kind", "number"),
        Index("ix_staff_licences_state_expires", "state", "expires_on"),
    )

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_members.id"), index=True)
    state: Mapped[str] = mapped_column(String(2))
    number: Mapped[str] = mapped_column(String(40))
    #: What it licenses: e.g. MD, DO, NP, PA, RN, RPh (pharmacist), CPhT (technician).
    kind: Mapped[str] = mapped_column(String(10))
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)

    staff: Mapped[StaffMember] = relationship(back_populates="licences")


class LicenceWarning(IdMixin, Base):
    """One expiry warning sent (60, 30 or 7 days ahead), so each is sent once even if the job runs twice.

    ``subject`` is ``licence:<licence id>`` or ``dea:<staff id>``; keyed by ``expires_on`` too, so a
    renewed licence (a new expiry date) is warned about afresh.
    """

    __tablename__ = "staff_licence_warnings"
    __table_args__ = (UniqueConstraint("subject", "expires_on", "days_before"),)

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_members.id"), index=True)
    subject: Mapped[str] = mapped_column(String(60))
    expires_on: Mapped[date] = mapped_column(Date)
    days_before: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: Who was told, e.g. "a@x.org, lead@x.org".
    recipients: Mapped[str] = mapped_column(Text)


class OrgChange(IdMixin, Base):
    """One entry of the restructuring history: who changed what, when, effective from which day."""

    __tablename__ = "org_changes"
    __table_args__ = (Index("ix_org_changes_at", "at"),)

    #: The units the change concerns (e.g. merged unit and survivor), so a unit's history is an index lookup.
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    other_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org_units.id"), index=True)

    at: Mapped[datetime] = mapped_column(default=clock.now)
    effective_on: Mapped[date] = mapped_column(Date)
    actor_label: Mapped[str] = mapped_column(String(254))
    #: e.g. unit.created, unit.renamed, units.merged, unit.split, team.moved, unit.lead_changed,
    #: staff.moved, staff.offboarded
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Departure(IdMixin, Base):
    """An offboarding: access ended at ``at``; open work handed to a successor person or a team queue."""

    __tablename__ = "staff_departures"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_members.id"), unique=True)
    successor_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_members.id"))
    successor_queue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org_work_queues.id"))
    at: Mapped[datetime] = mapped_column(default=clock.now)
    effective_on: Mapped[date] = mapped_column(Date)
    initiated_by: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str | None] = mapped_column(Text)

    reports: Mapped[list[HandoverReport]] = relationship(
        back_populates="departure", order_by="HandoverReport.unit_code"
    )


class HandoverReport(IdMixin, Base):
    """What one unit moved for one departure. The departure is complete when every registered unit reported."""

    __tablename__ = "staff_handover_reports"
    __table_args__ = (UniqueConstraint("departure_id", "unit_code"),)

    departure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_departures.id"))
    unit_code: Mapped[str] = mapped_column(String(40))
    reported_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: Counts by kind of work, e.g. {"queue_items": 12, "panel_patients": 140}.
    moved: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)

    departure: Mapped[Departure] = relationship(back_populates="reports")
