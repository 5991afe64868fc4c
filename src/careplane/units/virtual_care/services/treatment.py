"""The clinician's side of a visit: claim it from the queue (one winner), give it back, complete it
with a note, diagnoses and prescriptions (the card is charged), or refer the patient to in-person
care (the authorisation is voided).

Claiming locks the visit's row and then the work item's (the kernel decides who may take it:
working the queue, licensed in the patient's state today, allowed to open the record), so of two
clinicians clicking at once exactly one holds the visit and the other is told it is taken.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from sqlalchemy.orm import Session

from careplane.kernel import clock, payments, work
from careplane.kernel.access import Actor
from careplane.kernel.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from careplane.kernel.events import publish
from careplane.kernel.org.models import StaffMember
from careplane.kernel.work import policy
from careplane.units import pharmacy
from careplane.units.virtual_care import diagnoses
from careplane.units.virtual_care.events import PrescriptionSigned, VisitCompleted
from careplane.units.virtual_care.models import Visit, VisitPrescription
from careplane.units.virtual_care.services.access import Opened, audit_change, load, open_as_staff
from careplane.units.virtual_care.services.notices import tell_patient
from careplane.units.virtual_care.services.visits import release_money_and_work
from careplane.units.virtual_care.visit_states import VisitStatus, move

#: Free follow-up messages after a completed visit.
FOLLOW_UP = timedelta(days=14)
MAX_NOTE = 10_000
#: Online digital evaluation and management (CPT 99421-99423) by the clinician's cumulative minutes.
E_VISIT_CODES = ((21, "99423"), (11, "99422"), (5, "99421"))
#: A video visit's levels (office or outpatient visit of an established patient, 99212-99215, modifier 95).
VIDEO_LEVELS = (2, 3, 4, 5)


def _held(session: Session, actor: Actor, visit_id: uuid.UUID, action: str) -> Opened:
    opened = open_as_staff(session, actor, visit_id, lock=True)
    move(opened.visit.status, action)
    if not opened.holds:
        raise AccessDenied("Only the clinician who holds this visit may do this.")
    return opened


def claim(session: Session, actor: Actor, visit_id: uuid.UUID) -> Visit:
    """Take a queued visit. Taking one someone else took a moment ago is refused as taken (409)."""
    locked = load(session, visit_id, lock=True)
    who = policy.acting_worker(session, actor)
    if locked.status == VisitStatus.IN_PROGRESS.value and (who is None or locked.clinician_staff_id != who.staff_id):
        raise Conflict("Another clinician has already taken this visit.")
    opened = open_as_staff(session, actor, visit_id)
    visit = opened.visit
    if opened.holds and visit.status == VisitStatus.IN_PROGRESS.value:
        return visit
    target = move(visit.status, "claim")
    assert visit.work_item_id is not None
    item = work.claim(session, actor, visit.work_item_id, owner=True)
    visit.status, visit.clinician_staff_id, visit.claimed_at = target.value, item.assignee_staff_id, clock.now()
    audit_change(session, actor, visit, "virtual_care.visit.claim")
    return visit


def release(session: Session, actor: Actor, visit_id: uuid.UUID) -> Visit:
    """The holder gives the visit back to the queue (its promise keeps running)."""
    visit = _held(session, actor, visit_id, "release").visit
    assert visit.work_item_id is not None
    work.release(session, actor, visit.work_item_id, owner=True)
    visit.status, visit.clinician_staff_id, visit.claimed_at = VisitStatus.QUEUED.value, None, None
    audit_change(session, actor, visit, "virtual_care.visit.release")
    return visit


@dataclass(frozen=True)
class PrescriptionOrder:
    drug_id: str
    sig: str
    quantity: str
    refills: int


@dataclass(frozen=True)
class Completion:
    diagnoses: list[str]
    plan: str
    minutes: int | None
    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    prescriptions: list[PrescriptionOrder] = field(default_factory=list)
    #: A video visit's level of medical decision making, 2 to 5 (CPT 99212-99215); minutes are for message visits.
    level: int | None = None


def cpt_for(visit_type: str, minutes: int | None, level: int | None = None) -> tuple[str, tuple[str, ...]]:
    """The CPT code and modifiers of a visit: 99421-3 by minutes (message), 9921x-95 (video)."""
    if visit_type == "video":
        return f"9921{level or 3}", ("95",)
    for floor, code in E_VISIT_CODES:
        if (minutes or 0) >= floor:
            return code, ()
    raise ValidationFailed({"minutes": "An online visit is billable from 5 minutes of the clinician's time."})


def _product(drug_id: str) -> pharmacy.Product | None:
    try:
        return pharmacy.drug(drug_id)
    except NotFound:
        return None


def _checked(visit: Visit, done: Completion) -> dict[str, str]:
    errors: dict[str, str] = {}
    codes = [c.strip().upper() for c in done.diagnoses if c.strip()]
    if not codes:
        errors["diagnoses"] = "Give at least one diagnosis (ICD-10-CM)."
    else:
        bad = [c for c in codes if not diagnoses.describe(c)]
        if bad:
            errors["diagnoses"] = f"Not billable ICD-10-CM codes: {', '.join(bad)}."
    if not done.plan.strip():
        errors["plan"] = "Write the plan the patient will read."
    for name in ("plan", "subjective", "objective", "assessment"):
        if len(getattr(done, name)) > MAX_NOTE:
            errors[name] = f"Keep this under {MAX_NOTE:,} characters."
    if visit.visit_type == "video":
        if done.level not in VIDEO_LEVELS:
            errors["level"] = "Choose the level of the visit, 2 to 5 (99212-99215)."
    elif done.minutes is None or not 1 <= done.minutes <= 600:
        errors["minutes"] = "Say how many minutes you spent on this visit (1 to 600)."
    for n, order in enumerate(done.prescriptions):
        where = f"prescriptions[{n}]"
        if _product(order.drug_id) is None:
            errors[f"{where}.drug_id"] = "Choose a drug from the pharmacy catalog."
        if not order.sig.strip() or len(order.sig) > 500:
            errors[f"{where}.sig"] = "Write the directions (up to 500 characters)."
        if not order.quantity.strip() or len(order.quantity) > 20:
            errors[f"{where}.quantity"] = "Give the quantity to dispense."
        if not 0 <= order.refills <= 11:
            errors[f"{where}.refills"] = "Refills from 0 to 11."
    return errors


def complete(session: Session, actor: Actor, visit_id: uuid.UUID, done: Completion) -> Visit:
    """Sign the note, the diagnoses and any prescriptions; the card is charged; billing and the
    pharmacy are told (``VisitCompleted``, ``PrescriptionSigned``)."""
    opened = _held(session, actor, visit_id, "complete")
    visit = opened.visit
    errors = _checked(visit, done)
    cpt, modifiers = "", cast(tuple[str, ...], ())
    if not errors:
        try:
            cpt, modifiers = cpt_for(visit.visit_type, done.minutes, done.level)
        except ValidationFailed as short:
            errors.update(short.errors)
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    staff = session.get(StaffMember, visit.clinician_staff_id)
    assert staff is not None and visit.payment_id is not None and visit.work_item_id is not None
    visit.diagnoses = [c.strip().upper() for c in done.diagnoses if c.strip()]
    visit.subjective, visit.objective = done.subjective.strip(), done.objective.strip()
    visit.assessment, visit.plan = done.assessment.strip(), done.plan.strip()
    visit.clinician_minutes, visit.cpt_code = done.minutes, cpt
    visit.status, visit.closed_at, visit.follow_up_until = VisitStatus.COMPLETED.value, now, now + FOLLOW_UP
    payment = payments.capture(session, visit.payment_id, idempotency_key=f"complete-{visit.id}")
    work.complete(session, actor, visit.work_item_id, owner=True)
    for order in done.prescriptions:
        _sign(session, visit, staff, order)
    publish(
        session,
        VisitCompleted(
            visit_id=visit.id,
            patient_id=visit.patient_id,
            clinician_staff_id=staff.id,
            clinician_npi=staff.npi,
            condition_code=visit.condition_code,
            visit_type=visit.visit_type,
            date_of_service=clock.today(),
            place_of_service="10" if visit.at_home else "02",
            diagnoses=tuple(visit.diagnoses),
            price_paid_cents=payment.captured.cents,
            cpt_code=cpt,
            modifiers=modifiers,
            state=visit.state,
            completed_at=now,
        ),
    )
    audit_change(session, actor, visit, "virtual_care.visit.complete")
    tell_patient(
        session,
        visit,
        "Your visit is complete",
        f"Your clinician has written your treatment plan; read your visit summary. "
        f"You may message your clinician free of charge until {visit.follow_up_until:%b %d, %Y}.",
    )
    return visit


def _sign(session: Session, visit: Visit, staff: StaffMember, order: PrescriptionOrder) -> None:
    product = _product(order.drug_id)
    assert product is not None
    now = clock.now()
    prescription = VisitPrescription(
        visit_id=visit.id,
        drug_id=order.drug_id,
        drug_name=product.name,  # the catalog names the strength and form
        sig=order.sig.strip(),
        quantity=order.quantity.strip(),
        refills=order.refills,
        prescriber_staff_id=staff.id,
        created_at=now,
    )
    session.add(prescription)
    session.flush()
    publish(
        session,
        PrescriptionSigned(
            prescription_id=prescription.id,
            visit_id=visit.id,
            patient_id=visit.patient_id,
            prescriber_staff_id=staff.id,
            prescriber_npi=staff.npi,
            drug_id=prescription.drug_id,
            drug_name=prescription.drug_name,
            sig=prescription.sig,
            quantity=prescription.quantity,
            refills=prescription.refills,
            state=visit.state,
            signed_at=now,
        ),
    )


def refer_out(session: Session, actor: Actor, visit_id: uuid.UUID, reason: str) -> Visit:
    """The patient needs in-person care: no charge (the authorisation is voided), and they are told why."""
    visit = _held(session, actor, visit_id, "refer").visit
    reason = reason.strip()
    if not reason or len(reason) > MAX_NOTE:
        raise ValidationFailed({"reason": "Tell the patient why they need in-person care, and where to go."})
    visit.status, visit.closed_at, visit.referral_reason = VisitStatus.REFERRED_OUT.value, clock.now(), reason
    assert visit.work_item_id is not None
    work.complete(session, actor, visit.work_item_id, owner=True)
    release_money_and_work(session, visit, f"refer-{visit.id}")
    audit_change(session, actor, visit, "virtual_care.visit.refer")
    tell_patient(session, visit, "Your clinician recommends in-person care", f"{reason} You have not been charged.")
    return visit
