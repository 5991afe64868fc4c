"""Who may open a visit, and as whom: the patient whose visit it is, or staff who treat it.

A patient opens only their own visits. A staff member opens a visit they hold, one waiting in the
queue that they may take (licensed in the patient's state today, working the queue), or any visit
of the queue they manage (the unit's lead, operations). Every opening is an audited read of the
patient's record (:func:`careplane.kernel.access.authorize`); a refusal is audited too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from careplane.kernel.access import Actor, Permission, authorize
from careplane.kernel.audit.record import record
from careplane.kernel.errors import AccessDenied, NotFound
from careplane.kernel.work import WorkItem, policy
from careplane.units.virtual_care.models import Visit

#: The audit entries' resource type, and the work items' subject type.
SUBJECT = "virtual_care.visit"


@dataclass(frozen=True)
class Opened:
    visit: Visit
    #: The staff member acting, when the actor is staff.
    worker: policy.Worker | None

    @property
    def holds(self) -> bool:
        """Whether the actor is the clinician holding the visit."""
        return self.worker is not None and self.visit.clinician_staff_id == self.worker.staff_id


def load(session: Session, visit_id: uuid.UUID, *, lock: bool = False) -> Visit:
    visit = session.get(Visit, visit_id, with_for_update=lock, populate_existing=lock)
    if visit is None:
        raise NotFound("There is no such visit.")
    return visit


def open_as_patient(session: Session, actor: Actor, visit_id: uuid.UUID, *, write: bool, lock: bool = False) -> Visit:
    """The patient's own visit (``write``: to change it), audited; anyone else's is refused."""
    visit = load(session, visit_id, lock=lock)
    if not actor.is_patient_only:
        raise AccessDenied("Only the patient acts on their visit here.")
    permission = Permission.PATIENT_UPDATE if write else Permission.PATIENT_READ
    authorize(session, actor, permission, patient_id=visit.patient_id, resource_type=SUBJECT, resource_id=str(visit.id))
    return visit


def open_as_staff(session: Session, actor: Actor, visit_id: uuid.UUID, *, lock: bool = False) -> Opened:
    """The visit for a staff member who holds it, may take it, or manages its queue; audited."""
    visit = load(session, visit_id, lock=lock)
    who = policy.acting_worker(session, actor)
    item = session.get(WorkItem, visit.work_item_id) if visit.work_item_id else None
    reason = _staff_refusal(session, actor, who, visit, item)
    if reason:
        raise policy.refuse(actor, "virtual_care.visit.read", item, reason)
    authorize(
        session,
        actor,
        Permission.PATIENT_READ,
        patient_id=visit.patient_id,
        resource_type=SUBJECT,
        resource_id=str(visit.id),
    )
    return Opened(visit, who)


def open_for_either(session: Session, actor: Actor, visit_id: uuid.UUID) -> Opened:
    """The visit for its patient or for staff, as above (reads)."""
    if actor.is_patient_only:
        return Opened(open_as_patient(session, actor, visit_id, write=False), None)
    return open_as_staff(session, actor, visit_id)


def _staff_refusal(
    session: Session, actor: Actor, who: policy.Worker | None, visit: Visit, item: WorkItem | None
) -> str | None:
    if actor.is_patient_only:
        return "patients open only their own visits"
    if who is not None and visit.clinician_staff_id == who.staff_id:
        return None
    if item is None:
        return (
            "this visit is not in a queue you work"
            if visit.clinician_staff_id is None
            else "another clinician treated this visit"
        )
    place = policy.place_of(session, item.queue)
    if policy.manages(actor, place, who):
        return None
    if item.assignee_staff_id is not None:
        return "another clinician holds this visit"
    return policy.take_refusal(session, who, item, place)


def audit_change(session: Session, actor: Actor, visit: Visit, action: str) -> None:
    """Record a change to a visit (every state change is one) as a write to the patient's record."""
    record(
        session,
        actor,
        action,
        patient_id=visit.patient_id,
        resource_type=SUBJECT,
        resource_id=str(visit.id),
        reason=f"status {visit.status}",
    )
