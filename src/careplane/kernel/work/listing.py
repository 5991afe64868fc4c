"""Reading queues: the queues an actor may see with their counts, and a queue's items a page at a
time, soonest deadline first (overdue items lead), in a stable order, with filters.

The patients of the items shown are disclosed to, and audited for, an actor who may open patient
records; anyone else who sees the queue (an administrator on the operations pages) sees that an
item concerns a patient, not which one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, false, func, select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, audit_disclosures, authorize
from careplane.kernel.errors import AccessDenied, NotFound, ValidationFailed
from careplane.kernel.identity.models import User
from careplane.kernel.org.models import StaffMember
from careplane.kernel.org.staff import licensure
from careplane.kernel.work import policy
from careplane.kernel.work.models import WorkItem, WorkItemStatus, WorkQueue

MAX_LIMIT = 200
STATUSES = frozenset(s.value for s in WorkItemStatus) | {"all"}


@dataclass(frozen=True)
class ItemFilter:
    #: open (default), done, cancelled or all
    status: str = WorkItemStatus.OPEN.value
    kind: str | None = None
    #: "me", "unassigned", or a staff id
    assignee: str | None = None
    patient_id: uuid.UUID | None = None
    state: str | None = None
    #: Only items past their deadline.
    overdue: bool = False
    #: Only open, unassigned items the actor may claim by licensure (no state, or one they hold a licence for).
    claimable: bool = False
    #: Only these items: a unit's query of item ids by what its own records say (e.g. visits for one
    #: condition), so that the filter applies before paging.
    within: Select[Any] | None = None


@dataclass(frozen=True)
class ItemRow:
    item: WorkItem
    #: The patient, shown only to an actor who may open patient records.
    patient_id: uuid.UUID | None
    assignee_name: str | None
    #: Time left until the deadline (negative: overdue); None without a deadline.
    time_left: timedelta | None

    @property
    def has_patient(self) -> bool:
        return self.item.patient_id is not None

    @property
    def overdue(self) -> bool:
        return self.time_left is not None and self.time_left < timedelta(0)


@dataclass(frozen=True)
class ItemPage:
    place: policy.Place
    rows: list[ItemRow]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None


@dataclass(frozen=True)
class QueueSummary:
    place: policy.Place
    open_items: int
    unassigned: int
    overdue: int
    next_due_at: datetime | None = field(default=None)


def open_work_counts(now: datetime) -> tuple[ColumnElement[int], ColumnElement[int], ColumnElement[int]]:
    """What a summary of open work counts, as columns to select beside a grouping column: every
    item, those nobody holds, and those past their deadline at ``now``."""
    return (
        func.count(),
        func.count(case((WorkItem.assignee_staff_id.is_(None), 1))),
        func.count(case((WorkItem.due_at < now, 1))),
    )


def by_deadline(query: Select[WorkItem]) -> Select[WorkItem]:
    """Soonest deadline first (overdue first of all), items without a deadline last, then oldest first;
    the id makes the order total, so offset paging neither skips nor repeats an item."""
    # NULLS LAST rather than a CASE expression first, so that ix_org_work_items_queue_status_due gives
    # the order and a page stops at its end instead of sorting every matching item (same order).
    return query.order_by(WorkItem.due_at.asc().nulls_last(), WorkItem.created_at, WorkItem.id)


def _filtered(
    session: Session, actor: Actor, who: policy.Worker | None, place: policy.Place, wanted: ItemFilter
) -> Select[WorkItem]:
    errors: dict[str, str] = {}
    query = select(WorkItem).where(WorkItem.queue_id == place.queue.id)
    if wanted.status not in STATUSES:
        errors["status"] = f"One of {', '.join(sorted(STATUSES))}."
    elif wanted.status != "all":
        query = query.where(WorkItem.status == wanted.status)
    if wanted.kind:
        query = query.where(WorkItem.kind == wanted.kind)
    if wanted.assignee == "unassigned":
        query = query.where(WorkItem.assignee_staff_id.is_(None))
    elif wanted.assignee == "me":
        query = query.where(WorkItem.assignee_staff_id == who.staff_id if who else false())
    elif wanted.assignee:
        try:
            query = query.where(WorkItem.assignee_staff_id == uuid.UUID(wanted.assignee))
        except ValueError:
            errors["assignee"] = "me, unassigned, or a staff id."
    if wanted.patient_id is not None:
        authorize(
            session,
            actor,
            Permission.PATIENT_READ,
            patient_id=wanted.patient_id,
            resource_type=policy.RESOURCE,
            reason="work items of the patient",
        )
        query = query.where(WorkItem.patient_id == wanted.patient_id)
    if wanted.state:
        query = query.where(WorkItem.state == wanted.state.strip().upper())
    if wanted.overdue:
        query = query.where(WorkItem.due_at < clock.now())
    if wanted.claimable:
        states = licensure.licensed_states(session, who.staff_id, place.queue.licence_kinds) if who else set()
        query = query.where(
            WorkItem.status == WorkItemStatus.OPEN.value,
            WorkItem.assignee_staff_id.is_(None),
            WorkItem.state.is_(None) | WorkItem.state.in_(sorted(states)),
        )
    if wanted.within is not None:
        query = query.where(WorkItem.id.in_(wanted.within))
    if errors:
        raise ValidationFailed(errors)
    return query


def list_items(
    session: Session,
    actor: Actor,
    queue_id: uuid.UUID,
    wanted: ItemFilter | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
) -> ItemPage:
    """A page of a queue's items for someone who may see the queue."""
    queue = session.get(WorkQueue, queue_id)
    if queue is None:
        raise NotFound("There is no such queue.")
    place = policy.place_of(session, queue)
    who = policy.may_see(session, actor, place)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValidationFailed({"limit": f"Between 1 and {MAX_LIMIT}; offset from 0."})
    query = _filtered(session, actor, who, place, wanted or ItemFilter())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(by_deadline(query).limit(limit).offset(offset)))
    return ItemPage(place, rows_for(session, actor, items), total, limit, offset)


def get_item(session: Session, actor: Actor, item_id: uuid.UUID) -> ItemRow:
    item = session.get(WorkItem, item_id)
    if item is None:
        raise NotFound("There is no such work item.")
    policy.may_see(session, actor, policy.place_of(session, item.queue))
    return rows_for(session, actor, [item])[0]


def rows_for(session: Session, actor: Actor, items: list[WorkItem]) -> list[ItemRow]:
    """Items as shown to the actor: patients disclosed (and audited) only to those who may open records."""
    shows_patients = not actor.is_patient_only and actor.can(Permission.PATIENT_READ)
    patients = {i.patient_id for i in items if i.patient_id is not None}
    if shows_patients and patients:
        audit_disclosures(session, actor, Permission.PATIENT_READ, sorted(patients), resource_type=policy.RESOURCE)
    holders = {i.assignee_staff_id for i in items if i.assignee_staff_id is not None}
    names: dict[uuid.UUID, str] = {}
    if holders:
        names = {
            staff_id: name
            for staff_id, name in session.execute(
                select(StaffMember.id, User.display_name)
                .join(User, User.id == StaffMember.user_id)
                .where(StaffMember.id.in_(holders))
            )
        }
    now = clock.now()
    return [
        ItemRow(
            item=i,
            patient_id=i.patient_id if shows_patients else None,
            assignee_name=names.get(i.assignee_staff_id) if i.assignee_staff_id else None,
            time_left=(i.due_at - now) if i.due_at is not None else None,
        )
        for i in items
    ]


def visible_queues(session: Session, actor: Actor) -> list[QueueSummary]:
    """Every queue the actor may see, by unit, team and name, with its open work counted."""
    now = clock.now()
    open_ = WorkItem.status == WorkItemStatus.OPEN.value
    counts = {
        queue_id: (total, unassigned, overdue, next_due)
        for queue_id, total, unassigned, overdue, next_due in session.execute(
            select(WorkItem.queue_id, *open_work_counts(now), func.min(WorkItem.due_at))
            .where(open_)
            .group_by(WorkItem.queue_id)
        )
    }
    who = policy.acting_worker(session, actor)
    if who is None and not (actor.system or actor.can(Permission.OPERATIONS)):
        raise AccessDenied("Only staff work queues, and you have no staff record.")
    return [
        QueueSummary(place, *counts.get(place.queue.id, (0, 0, 0, None)))
        for place in policy.places(session)
        if policy.see_refusal(actor, who, place) is None
    ]
