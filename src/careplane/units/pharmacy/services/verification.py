"""The pharmacist's side of a prescription: claim it from the verification queue (one winner), then
approve it, reject it, or ask the prescriber a question.

Claiming goes through the kernel's work policy (working the queue, a pharmacist licence for the
patient's state valid today, allowed to open the record), so of two pharmacists clicking at once
exactly one holds it. A decision is taken by the holder only, and checks the licence again
(:func:`careplane.kernel.org.staff.licensure.may_verify_for_state`): one that lapsed since the claim
does not verify. Rejecting and asking the prescriber need a reason; approving over a high-severity
alert needs an override reason, kept on the prescription and in the audit log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from careplane.kernel import clock, work
from careplane.kernel.access import Actor
from careplane.kernel.errors import AccessDenied, Conflict, ValidationFailed
from careplane.kernel.org.staff.licensure import may_verify_for_state
from careplane.kernel.work import policy
from careplane.units.pharmacy import safety
from careplane.units.pharmacy.models import Prescription
from careplane.units.pharmacy.prescription_states import RxStatus, claim_refusal, move
from careplane.units.pharmacy.services.access import audit_change, load, open_as_staff

MAX_REASON = 2000
DECISIONS = ("approve", "reject", "contact_prescriber")
_ASK = {
    "reject": "Say why the prescription is rejected.",
    "contact_prescriber": "Say what the prescriber is asked.",
}


@dataclass(frozen=True)
class Decision:
    action: str  # one of DECISIONS
    reason: str = ""
    #: Why a high-severity alert does not stop the approval (required then).
    override_reason: str = ""


def claim(session: Session, actor: Actor, prescription_id: uuid.UUID) -> Prescription:
    """Take a prescription waiting in the queue; taking one someone else took a moment ago is 409."""
    locked = load(session, prescription_id, lock=True)
    if refusal := claim_refusal(locked.status):
        raise Conflict(refusal)
    assert locked.work_item_id is not None
    item = session.get(work.WorkItem, locked.work_item_id)
    who = policy.acting_worker(session, actor)
    if item is not None and item.assignee_staff_id not in (None, who.staff_id if who else None):
        raise Conflict("Another pharmacist has already taken this prescription.")
    work.claim(session, actor, locked.work_item_id, owner=True)
    audit_change(session, actor, locked, "pharmacy.prescription.claim")
    return locked


def decide(session: Session, actor: Actor, prescription_id: uuid.UUID, decision: Decision) -> Prescription:
    """Approve, reject or send to the prescriber: the holder only, licensed in the patient's state today."""
    if decision.action not in DECISIONS:
        raise ValidationFailed({"action": "Approve, reject, or contact the prescriber."})
    opened = open_as_staff(session, actor, prescription_id, lock=True)
    prescription = opened.prescription
    target = move(prescription.status, decision.action)
    if not opened.holds or opened.worker is None:
        raise AccessDenied("Only the pharmacist who holds this prescription may decide it; claim it first.")
    if not may_verify_for_state(session, opened.worker.staff_id, prescription.state):
        raise policy.refuse(
            actor,
            "pharmacy.prescription.verify",
            opened.item,
            f"{opened.worker.name} holds no pharmacist licence for {prescription.state} valid today",
        )
    reason = _reason(prescription, decision)
    prescription.status, prescription.reason = target.value, reason or None
    assert prescription.work_item_id is not None
    if target is RxStatus.CONTACT_PRESCRIBER:
        audit_change(session, actor, prescription, "pharmacy.prescription.contact_prescriber", reason)
        return prescription
    prescription.verified_by, prescription.verified_at = opened.worker.staff_id, clock.now()
    work.complete(session, actor, prescription.work_item_id, owner=True)
    if target is RxStatus.VERIFIED and safety.has_high(prescription.alerts):
        audit_change(session, actor, prescription, "pharmacy.prescription.override", f"override: {reason}")
    audit_change(session, actor, prescription, f"pharmacy.prescription.{decision.action}", reason)
    return prescription


def _reason(prescription: Prescription, decision: Decision) -> str:
    """The reason the decision needs (stored), or 422 naming the field that is missing or too long."""
    if decision.action == "approve":
        field, text = "override_reason", decision.override_reason.strip()
        if safety.has_high(prescription.alerts) and not text:
            raise ValidationFailed(
                {field: "This prescription has a high-severity alert: say why it is safe to dispense anyway."}
            )
    else:
        field, text = "reason", decision.reason.strip()
        if not text:
            raise ValidationFailed({field: _ASK[decision.action]})
    if len(text) > MAX_REASON:
        raise ValidationFailed({field: f"Keep this under {MAX_REASON:,} characters."})
    return text
