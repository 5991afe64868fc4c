"""Work items: the generic substrate units keep their open work in (a visit to answer, a
prescription to verify, a denial to work), in the queues of their teams (queue -> team -> unit).

These functions are the plumbing of a work item's life; the unit service that calls them checks
who may act, since only it knows what the item means.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.org.models import (
    OrgUnit,
    StaffMember,
    StaffStatus,
    Team,
    WorkItem,
    WorkItemStatus,
    WorkQueue,
)

OPEN = WorkItemStatus.OPEN.value


def _active_staff(session: Session, staff_id: uuid.UUID, field: str) -> StaffMember:
    staff = session.get(StaffMember, staff_id)
    if staff is None:
        raise ValidationFailed({field: "There is no such staff member."})
    if staff.status != StaffStatus.ACTIVE.value:
        raise ValidationFailed({field: "This staff member has left; work cannot go to them."})
    return staff


def _locked_open_item(session: Session, item_id: uuid.UUID) -> WorkItem:
    item = session.get(WorkItem, item_id, with_for_update=True)
    if item is None:
        raise NotFound("There is no such work item.")
    if item.status != OPEN:
        raise Conflict(f"This work item is already {item.status}.")
    return item


def create_item(
    session: Session,
    queue_id: uuid.UUID,
    *,
    kind: str,
    title: str,
    patient_id: uuid.UUID | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    due_at: datetime | None = None,
    assignee_staff_id: uuid.UUID | None = None,
) -> WorkItem:
    errors: dict[str, str] = {}
    if session.get(WorkQueue, queue_id) is None:
        errors["queue_id"] = "There is no such queue."
    if not kind.strip():
        errors["kind"] = "Say what kind of work this is."
    if not title.strip():
        errors["title"] = "Give the work item a title."
    if errors:
        raise ValidationFailed(errors)
    if assignee_staff_id is not None:
        _active_staff(session, assignee_staff_id, "assignee_staff_id")
    item = WorkItem(
        queue_id=queue_id,
        kind=kind.strip(),
        title=title.strip(),
        patient_id=patient_id,
        subject_type=subject_type,
        subject_id=subject_id,
        due_at=due_at,
        assignee_staff_id=assignee_staff_id,
        status=OPEN,
    )
    session.add(item)
    session.flush()
    return item


def claim(session: Session, item_id: uuid.UUID, staff_id: uuid.UUID) -> WorkItem:
    """A person takes an unassigned item (first come, first served)."""
    item = _locked_open_item(session, item_id)
    if item.assignee_staff_id not in (None, staff_id):
        raise Conflict("Someone else has already taken this work item.")
    _active_staff(session, staff_id, "staff_id")
    item.assignee_staff_id = staff_id
    return item


def assign(session: Session, item_id: uuid.UUID, staff_id: uuid.UUID | None) -> WorkItem:
    """Give an item to a person, or (``None``) put it back in its queue unassigned."""
    item = _locked_open_item(session, item_id)
    if staff_id is not None:
        _active_staff(session, staff_id, "staff_id")
    item.assignee_staff_id = staff_id
    return item


def complete(session: Session, item_id: uuid.UUID) -> WorkItem:
    item = _locked_open_item(session, item_id)
    item.status = WorkItemStatus.DONE.value
    return item


def open_items_of(
    session: Session, staff_id: uuid.UUID, unit_code: str | None = None, *, lock: bool = False
) -> list[WorkItem]:
    """Open items assigned to a person, optionally only those in the queues of one unit's teams
    (``lock``: row-locked for this transaction, so no one claims or completes them meanwhile)."""
    query = select(WorkItem).where(WorkItem.assignee_staff_id == staff_id, WorkItem.status == OPEN)
    if unit_code is not None:
        query = query.where(WorkItem.queue_id.in_(_unit_queue_ids(unit_code)))
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query.order_by(WorkItem.created_at, WorkItem.id)))


def open_counts_by_unit(session: Session, staff_id: uuid.UUID) -> dict[str, Counter[str]]:
    """unit code -> kind -> how many open items the person holds there."""
    rows = session.execute(
        select(OrgUnit.code, WorkItem.kind, func.count())
        .join(WorkQueue, WorkQueue.id == WorkItem.queue_id)
        .join(Team, Team.id == WorkQueue.team_id)
        .join(OrgUnit, OrgUnit.id == Team.unit_id)
        .where(WorkItem.assignee_staff_id == staff_id, WorkItem.status == OPEN)
        .group_by(OrgUnit.code, WorkItem.kind)
    )
    counts: dict[str, Counter[str]] = {}
    for code, kind, count in rows:
        counts.setdefault(code, Counter())[kind] = count
    return counts


def _unit_queue_ids(unit_code: str) -> Select[tuple[uuid.UUID]]:
    return (
        select(WorkQueue.id)
        .join(Team, Team.id == WorkQueue.team_id)
        .join(OrgUnit, OrgUnit.id == Team.unit_id)
        .where(OrgUnit.code == unit_code)
    )
