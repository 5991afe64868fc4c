"""What a person holds, whatever it is: the view hand-over, departures and the staff pages take of
work items, without knowing what any item means."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from careplane.kernel.org.models import OrgUnit, Team
from careplane.kernel.work.models import WorkItem, WorkItemStatus, WorkQueue

OPEN = WorkItemStatus.OPEN.value


def held_by(staff_id: uuid.UUID) -> Select[WorkItem]:
    """The open items assigned to a person, as a query to narrow, order or count."""
    return select(WorkItem).where(WorkItem.assignee_staff_id == staff_id, WorkItem.status == OPEN)


def open_items_of(
    session: Session, staff_id: uuid.UUID, unit_code: str | None = None, *, lock: bool = False
) -> list[WorkItem]:
    """Open items assigned to a person, optionally only those in the queues of one unit's teams
    (``lock``: row-locked for this transaction, so no one claims or completes them meanwhile)."""
    query = held_by(staff_id)
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


def _unit_queue_ids(unit_code: str) -> Select[uuid.UUID]:
    return (
        select(WorkQueue.id)
        .join(Team, Team.id == WorkQueue.team_id)
        .join(OrgUnit, OrgUnit.id == Team.unit_id)
        .where(OrgUnit.code == unit_code)
    )
