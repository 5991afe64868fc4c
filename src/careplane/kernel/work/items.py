"""The life of a work item: created by a unit's service, claimed (one winner), assigned, released back
to its queue, completed or cancelled. Every change but creation asks :mod:`careplane.kernel.work.policy`.

Each change locks the item's row first (``SELECT ... FOR UPDATE``: a row lock on PostgreSQL, the
single writer on SQLite), so of two people claiming at once one wins and the other is told it is
taken; nothing is decided on a copy read before the lock.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.org.models import StaffMember, StaffStatus
from careplane.kernel.patients.validation import check_state
from careplane.kernel.units import queue_spec
from careplane.kernel.work import policy
from careplane.kernel.work.models import WorkItem, WorkItemStatus
from careplane.kernel.work.queues import resolve_queue

OPEN = WorkItemStatus.OPEN.value


def create_item(
    session: Session,
    queue: uuid.UUID | str,
    *,
    kind: str,
    title: str,
    patient_id: uuid.UUID | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    due_at: datetime | None = None,
    state: str | None = None,
    assignee_staff_id: uuid.UUID | None = None,
) -> WorkItem:
    """Put an item into a queue (by id, or by its declared key). The unit's service that calls this
    has decided that the item should exist (a patient asked for a visit); an ``assignee`` given here
    is the unit's choice too, and only checked to be someone still working here."""
    errors: dict[str, str] = {}
    try:
        found = resolve_queue(session, queue)
    except NotFound as missing:
        errors["queue_id"] = missing.detail
    kind, title = kind.strip(), title.strip()
    if not kind or len(kind) > 40:
        errors["kind"] = "Say what kind of work this is (up to 40 characters)."
    if not title or len(title) > 200:
        errors["title"] = "Give the work item a title (up to 200 characters)."
    if (subject_type is None) != (subject_id is None):
        errors["subject_id"] = "Give both the subject type and its id, or neither."
    if due_at is not None and due_at.tzinfo is None:
        errors["due_at"] = "Give the deadline with its time zone."
    cleaned_state, state_error = check_state(state)
    if state_error:
        errors["state"] = state_error
    if errors:
        raise ValidationFailed(errors)
    if assignee_staff_id is not None:
        _active_staff(session, assignee_staff_id, "assignee_staff_id")
    item = WorkItem(
        queue_id=found.id,
        kind=kind,
        title=title,
        patient_id=patient_id,
        subject_type=subject_type,
        subject_id=subject_id,
        due_at=due_at,
        state=cleaned_state,
        assignee_staff_id=assignee_staff_id,
        claimed_at=clock.now() if assignee_staff_id else None,
        status=OPEN,
    )
    session.add(item)
    session.flush()
    return item


def claim(session: Session, actor: Actor, item_id: uuid.UUID, *, owner: bool = False) -> WorkItem:
    """The actor takes an open, unassigned item. Claiming an item one already holds changes nothing.

    ``owner``: the unit whose queue declares an ``item_page`` is acting through its own record (every
    change of this module takes it); anyone else is sent to that page (:func:`_locked_open_item`)."""
    item = _locked_open_item(session, item_id, actor, owner)
    place = policy.place_of(session, item.queue)
    who = policy.may_claim(session, actor, item, place)
    if item.assignee_staff_id == who.staff_id:
        return item
    if item.assignee_staff_id is not None:
        raise Conflict("Someone else has already taken this work item.")
    _give(item, who.staff_id)
    return item


def assign(
    session: Session, actor: Actor, item_id: uuid.UUID, staff_id: uuid.UUID | None, *, owner: bool = False
) -> WorkItem:
    """Give an open item to a person who may take it (a manager of its queue does this), or put it
    back into its queue (``None``, as :func:`release`)."""
    if staff_id is None:
        return release(session, actor, item_id, owner=owner)
    item = _locked_open_item(session, item_id, actor, owner)
    place = policy.place_of(session, item.queue)
    policy.may_manage(session, actor, "work.assign", item, place)
    target = policy.worker(session, staff_id=staff_id)
    if target is None:
        raise ValidationFailed({"staff_id": "There is no such staff member."})
    if reason := policy.take_refusal(session, target, item, place):
        raise ValidationFailed({"staff_id": f"This item cannot go to them: {reason}."})
    if item.assignee_staff_id != staff_id:
        _give(item, staff_id)
    return item


def release(session: Session, actor: Actor, item_id: uuid.UUID, *, owner: bool = False) -> WorkItem:
    """Put an item back into its queue, unassigned: the holder, or a manager of the queue."""
    item = _locked_open_item(session, item_id, actor, owner)
    if item.assignee_staff_id is None:
        return item
    policy.may_close_or_release(session, actor, "work.release", item, policy.place_of(session, item.queue))
    item.assignee_staff_id, item.claimed_at, item.updated_at = None, None, clock.now()
    return item


def complete(session: Session, actor: Actor, item_id: uuid.UUID, *, owner: bool = False) -> WorkItem:
    """The work is done: the holder, or a manager of the queue."""
    return _close(session, actor, item_id, WorkItemStatus.DONE, "work.complete", owner)


def cancel(session: Session, actor: Actor, item_id: uuid.UUID, *, owner: bool = False) -> WorkItem:
    """The work is no longer needed (e.g. the patient withdrew the visit): the holder, or a manager of
    the queue; a unit's service acting on its own record passes ``Actor.for_system(<unit>)``."""
    return _close(session, actor, item_id, WorkItemStatus.CANCELLED, "work.cancel", owner)


def _close(
    session: Session, actor: Actor, item_id: uuid.UUID, status: WorkItemStatus, action: str, owner: bool
) -> WorkItem:
    item = _locked_open_item(session, item_id, actor, owner)
    policy.may_close_or_release(session, actor, action, item, policy.place_of(session, item.queue))
    now = clock.now()
    item.status, item.closed_at, item.closed_by, item.updated_at = status.value, now, actor.label, now
    return item


def _give(item: WorkItem, staff_id: uuid.UUID) -> None:
    now = clock.now()
    item.assignee_staff_id, item.claimed_at, item.updated_at = staff_id, now, now


def _active_staff(session: Session, staff_id: uuid.UUID, field: str) -> StaffMember:
    staff = session.get(StaffMember, staff_id)
    if staff is None:
        raise ValidationFailed({field: "There is no such staff member."})
    if staff.status != StaffStatus.ACTIVE.value:
        raise ValidationFailed({field: "This staff member has left; work cannot go to them."})
    return staff


def _locked_open_item(session: Session, item_id: uuid.UUID, actor: Actor, owner: bool) -> WorkItem:
    item = session.get(WorkItem, item_id, with_for_update=True, populate_existing=True)
    if item is None:
        raise NotFound("There is no such work item.")
    if item.status != OPEN:
        raise Conflict(f"This work item is already {item.status}.")
    page = item_page(item)
    if page and not owner:
        raise Conflict(f"This work is done on its own page, where its record changes with it: {page}")
    return item


def item_page(item: WorkItem) -> str | None:
    """Where the unit that owns the item's queue works it, when it drives its items itself."""
    spec = queue_spec(item.queue.key)
    if spec is None or spec.item_page is None:
        return None
    return spec.item_page.format(subject_id=item.subject_id or "", id=item.id)
