"""Who may open a received prescription: the pharmacist holding it, one who may take it from the
verification queue (working it, licensed in the patient's state today), and those who manage the
queue (the unit's lead, operations). Every opening is an audited read of the patient's record; a
refusal is audited too. The kernel's work policy decides, so the page, the API and a claim agree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from careplane.kernel.access import Actor, Permission, authorize
from careplane.kernel.audit.record import record
from careplane.kernel.errors import NotFound
from careplane.kernel.work import WorkItem, WorkItemStatus, policy
from careplane.units.pharmacy.models import Prescription

#: The audit entries' resource type, and the work items' subject type.
SUBJECT = "pharmacy.prescription"


@dataclass(frozen=True)
class Opened:
    prescription: Prescription
    item: WorkItem | None
    #: The staff member acting.
    worker: policy.Worker | None

    @property
    def holds(self) -> bool:
        """Whether the actor is the pharmacist holding the prescription's open work item."""
        return (
            self.worker is not None
            and self.item is not None
            and self.item.status == WorkItemStatus.OPEN.value
            and self.item.assignee_staff_id == self.worker.staff_id
        )


def load(session: Session, prescription_id: uuid.UUID, *, lock: bool = False) -> Prescription:
    found = session.get(Prescription, prescription_id, with_for_update=lock, populate_existing=lock)
    if found is None:
        raise NotFound("There is no such prescription.")
    return found


def open_as_staff(session: Session, actor: Actor, prescription_id: uuid.UUID, *, lock: bool = False) -> Opened:
    """The prescription for a pharmacist who holds it or may take it, or who manages the queue; audited."""
    prescription = load(session, prescription_id, lock=lock)
    who = policy.acting_worker(session, actor)
    item = session.get(WorkItem, prescription.work_item_id) if prescription.work_item_id else None
    if reason := _refusal(session, actor, who, prescription, item):
        raise policy.refuse(actor, "pharmacy.prescription.read", item, reason)
    authorize(
        session,
        actor,
        Permission.PATIENT_READ,
        patient_id=prescription.patient_id,
        resource_type=SUBJECT,
        resource_id=str(prescription.id),
    )
    return Opened(prescription, item, who)


def _refusal(
    session: Session, actor: Actor, who: policy.Worker | None, prescription: Prescription, item: WorkItem | None
) -> str | None:
    if actor.is_patient_only:
        return "patients see their prescriptions with their visits"
    if who is not None and who.staff_id in (prescription.verified_by, item.assignee_staff_id if item else None):
        return None
    if item is None:
        return "this prescription is not in a queue you work"
    place = policy.place_of(session, item.queue)
    if policy.manages(actor, place, who):
        return None
    if item.status != WorkItemStatus.OPEN.value:
        return "another pharmacist decided this prescription"
    if item.assignee_staff_id is not None:
        return "another pharmacist holds this prescription"
    return policy.take_refusal(session, who, item, place)


def audit_change(session: Session, actor: Actor, prescription: Prescription, action: str, reason: str = "") -> None:
    """Record a change to a prescription (every decision is one) as a write to the patient's record."""
    record(
        session,
        actor,
        action,
        patient_id=prescription.patient_id,
        resource_type=SUBJECT,
        resource_id=str(prescription.id),
        reason=reason or f"status {prescription.status}",
    )
