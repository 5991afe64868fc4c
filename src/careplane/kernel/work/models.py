"""Tables of work: queues (each a team's, so they follow the team through restructuring) and the
items waiting in them.

The tables keep the names they had under ``kernel/org`` (``org_work_queues``, ``org_work_items``):
renaming them would buy nothing but a riskier migration.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careplane.kernel.db import Base, IdMixin, TimestampMixin

if TYPE_CHECKING:
    from careplane.kernel.org.models import Team


class OpenTo(StrEnum):
    """Who works a queue, before roles and licences are looked at."""

    #: The staff of the unit its team belongs to (their home unit), and the team's members.
    UNIT = "unit"
    #: Only the current members of its team.
    TEAM = "team"


class WorkQueue(IdMixin, Base):
    """A team's queue of work (e.g. "Async visits - West"). Moving a team moves its queues with it.

    A queue a unit declares (:func:`careplane.kernel.work.ensure_queue`) has a stable ``key``, e.g.
    ``virtual_care.visits``, and says who may work it; queues made by hand on the org pages have
    no key and are open to the unit's staff in any role.
    """

    __tablename__ = "org_work_queues"

    name: Mapped[str] = mapped_column(String(120))
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_teams.id"), index=True)
    key: Mapped[str | None] = mapped_column(String(80), index=True, unique=True)
    open_to: Mapped[str] = mapped_column(String(10), default=OpenTo.UNIT.value)
    #: Roles that may take its items (``careplane.kernel.identity.roles.Role`` values); empty: any.
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Licence kinds (e.g. MD, DO, NP, PA) that count when an item needs licensure in a state;
    #: empty: any licence the person holds for that state.
    licence_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)

    team: Mapped[Team] = relationship(back_populates="queues")


class WorkItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class WorkItem(IdMixin, TimestampMixin, Base):
    """One piece of work waiting in a team's queue, perhaps claimed by a person.

    Units put their work here (a visit to answer, a prescription to verify, a denial to work)
    with ``kind`` naming it and ``subject_*`` pointing at the unit's own record.
    """

    __tablename__ = "org_work_items"
    __table_args__ = (
        Index("ix_org_work_items_assignee_status", "assignee_staff_id", "status"),
        #: A queue's open items by deadline (the listing's order).
        Index("ix_org_work_items_queue_status_due", "queue_id", "status", "due_at"),
    )

    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_work_queues.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    subject_type: Mapped[str | None] = mapped_column(String(60))
    subject_id: Mapped[str | None] = mapped_column(String(80))
    #: The US state (two letters) whose licence the person taking the item must hold today.
    state: Mapped[str | None] = mapped_column(String(2))
    assignee_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_members.id"))
    claimed_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(10), default=WorkItemStatus.OPEN.value)
    due_at: Mapped[datetime | None]
    #: When it was completed or cancelled, and by whom (an actor label).
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(254))

    queue: Mapped[WorkQueue] = relationship()
