"""A patient's visit from choosing a condition to waiting in the queue: start, answer the intake
(resumable), submit it (a red flag ends it with advice, at no charge), pay (the card is authorised,
not charged, until the clinician completes the visit), or cancel before a clinician takes it.

Every change is one transaction: a declined card, a missing answer or a refused state leaves the
visit as it was. Every change is audited as a write to the patient's record.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import clock, payments, work
from careplane.kernel.access import Actor, Permission, authorize
from careplane.kernel.errors import AccessDenied, Conflict, ValidationFailed
from careplane.kernel.money import Money
from careplane.kernel.org.staff.licensure import clinicians_licensed_in
from careplane.kernel.patients.models import Patient
from careplane.kernel.patients.validation import US_STATES, check_state
from careplane.units.virtual_care import intake, promise
from careplane.units.virtual_care.catalog import Condition, shipped
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services import slots
from careplane.units.virtual_care.services.access import SUBJECT, audit_change, load, open_as_patient
from careplane.units.virtual_care.services.notices import tell_patient
from careplane.units.virtual_care.visit_states import VisitStatus, move

QUEUE_KEY = "virtual_care.visits"
#: The work item kind of a message visit waiting for or held by a clinician.
MESSAGE_VISIT = "message_visit"
VISIT_TYPES = ("message", "video")
SYSTEM = Actor.for_system("virtual_care")


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def eligibility_refusal(condition: Condition, patient: Patient, on: date) -> str | None:
    """Why the condition cannot be treated online for this patient, or None."""
    rule = condition.eligibility
    age = age_on(patient.birth_date, on)
    if age < rule.min_age or (rule.max_age is not None and age > rule.max_age):
        upper = f" to {rule.max_age}" if rule.max_age is not None else " and over"
        return f"Online visits for {condition.name.lower()} are for patients aged {rule.min_age}{upper}."
    if patient.sex_at_birth not in rule.sexes:
        sexes = " or ".join(rule.sexes)
        return f"Online visits for {condition.name.lower()} are for patients whose sex at birth is {sexes}."
    return None


def start_visit(
    session: Session,
    actor: Actor,
    *,
    condition_code: str,
    visit_type: str = "message",
    state: str | None = None,
    at_home: bool = True,
) -> Visit:
    """A new message or video visit for the patient acting, in ``state`` (the one on their record by
    default). A video visit is booked for a time after the intake (:mod:`.booking`)."""
    if not actor.is_patient_only or actor.patient_id is None:
        raise AccessDenied("Patients start their own visits from the portal.")
    authorize(session, actor, Permission.PATIENT_UPDATE, patient_id=actor.patient_id, resource_type=SUBJECT)
    patient = session.get(Patient, actor.patient_id)
    assert patient is not None
    condition, code = start_checks(
        session, patient, condition_code, visit_type, state if state is not None else patient.state
    )
    visit = Visit(
        patient_id=patient.id,
        condition_code=condition.code,
        visit_type=visit_type,
        state=code,
        at_home=at_home,
        status=VisitStatus.INTAKE.value,
        answers={},
        price=Money(condition.prices.for_visit(visit_type, code)),
    )
    session.add(visit)
    session.flush()
    audit_change(session, actor, visit, "virtual_care.visit.start")
    return visit


def start_checks(
    session: Session, patient: Patient | None, condition_code: str, visit_type: str, state: str | None
) -> tuple[Condition, str]:
    """The condition and state code a visit may start with, or 422 naming each problem: an unknown
    condition or visit type, a bad state, the patient's eligibility (when a patient is given), and
    a state where no clinician is licensed today. Open slots for video visits are offered on the same terms."""
    errors: dict[str, str] = {}
    condition = shipped().get(condition_code)
    if condition is None:
        errors["condition"] = "Choose a condition from the list."
    if visit_type not in VISIT_TYPES:
        errors["visit_type"] = "Choose a message visit or a video visit."
    code, problem = check_state(state)
    if problem or not code:
        errors["state"] = problem or "Say which state you are in now."
    if errors:
        raise ValidationFailed(errors)
    assert condition is not None and code is not None
    if patient is not None and (refusal := eligibility_refusal(condition, patient, clock.today())):
        raise ValidationFailed({"condition": refusal})
    if not clinicians_licensed_in(session, code):
        raise ValidationFailed(
            {"state": f"Virtual Care is not available in {US_STATES[code]} yet: no clinician is licensed there today."}
        )
    return condition, code


def condition_of(visit: Visit) -> Condition:
    found = shipped().get(visit.condition_code)
    if found is None:  # the catalog lost a condition that visits still name
        raise ValidationFailed({"condition": f"Virtual Care no longer treats '{visit.condition_code}'."})
    return found


def save_answers(
    session: Session, actor: Actor, visit_id: uuid.UUID, raw: dict[str, object], *, from_form: bool
) -> Visit:
    """Keep the answers given so far (blanks are left out; a wrong type is refused and nothing kept).
    Changing answers after submitting goes back to the intake."""
    visit = open_as_patient(session, actor, visit_id, write=True, lock=True)
    target = move(visit.status, "answer")
    answers, errors = intake.check_answers(
        condition_of(visit), {**visit.answers, **raw}, from_form=from_form, complete=False
    )
    if errors:
        raise ValidationFailed(errors)
    visit.answers, visit.status = dict(answers), target.value
    audit_change(session, actor, visit, "virtual_care.visit.answer")
    return visit


def submit(
    session: Session,
    actor: Actor,
    visit_id: uuid.UUID,
    raw: Mapping[str, object] | None = None,
    *,
    from_form: bool = False,
) -> Visit:
    """Check the whole intake (with ``raw`` answers, or those saved); a red flag ends the visit with
    advice and no charge, otherwise the price waits for payment."""
    visit = open_as_patient(session, actor, visit_id, write=True, lock=True)
    move(visit.status, "submit", VisitStatus.AWAITING_PAYMENT)
    condition = condition_of(visit)
    answers, errors = intake.check_answers(
        condition, raw if raw is not None else visit.answers, from_form=from_form, complete=True
    )
    if errors:
        raise ValidationFailed(errors)
    visit.answers, visit.submitted_at = dict(answers), clock.now()
    flag = intake.red_flag(condition, answers)
    if flag is not None:
        visit.status = VisitStatus.ENDED_WITH_ADVICE.value
        visit.advice_level, visit.advice, visit.closed_at = flag.level, flag.advice, clock.now()
        visit.price = Money.zero()
    else:
        visit.status = VisitStatus.AWAITING_PAYMENT.value
    audit_change(session, actor, visit, "virtual_care.visit.submit")
    return visit


def pay(session: Session, actor: Actor, visit_id: uuid.UUID, card: payments.Card) -> Visit:
    """Authorise the price on the card and put the visit into the queue with its promise.

    The card is charged only when a clinician completes the visit; cancelling or a referral voids
    the authorisation. A second payment of a queued visit is refused (the API replays the first
    answer to a request repeated with the same ``Idempotency-Key``)."""
    visit = open_as_patient(session, actor, visit_id, write=True, lock=True)
    target = move(visit.status, "pay")
    if visit.visit_type == "video":
        raise Conflict("A video visit is paid for when a time is booked.")
    condition = condition_of(visit)
    assert visit.price is not None
    payment = payments.authorise(
        session,
        amount=visit.price,
        card=card,
        idempotency_key=f"visit-pay-{visit.id}",
        patient_id=visit.patient_id,
        subject_type=SUBJECT,
        subject_id=str(visit.id),
        description=f"Virtual Care {visit.visit_type} visit: {condition.name}",
    )
    now = clock.now()
    visit.payment_id, visit.status, visit.queued_at = payment.id, target.value, now
    visit.reply_due_at = promise.due_by(now, visit.state, promise.promised_for(visit.condition_code))
    item = work.create_item(
        session,
        QUEUE_KEY,
        kind=MESSAGE_VISIT,
        title=f"{condition.name} ({visit.state})",
        patient_id=visit.patient_id,
        subject_type=SUBJECT,
        subject_id=str(visit.id),
        due_at=visit.reply_due_at,
        state=visit.state,
    )
    visit.work_item_id = item.id
    audit_change(session, actor, visit, "virtual_care.visit.pay")
    tell_patient(
        session,
        visit,
        "Your visit is in the queue",
        f"A clinician licensed in {US_STATES[visit.state]} will reply by "
        f"{visit.reply_due_at.astimezone(promise.zone_of_state(visit.state)):%I:%M %p %Z on %A %b %d}. "
        f"Your card was authorised for {visit.price.format()}; it is charged only when the visit is completed.",
    )
    return visit


def cancel(session: Session, actor: Actor, visit_id: uuid.UUID) -> Visit:
    """The patient withdraws a visit no clinician has taken (a booked video visit: until the cutoff
    before its start, :mod:`.slots`): the authorisation is voided."""
    visit = open_as_patient(session, actor, visit_id, write=True, lock=True)
    target = move(visit.status, "cancel")
    if visit.status == VisitStatus.BOOKED.value:
        slots.free(session, visit)
    visit.status = target.value
    visit.closed_at = clock.now()
    release_money_and_work(session, visit, f"cancel-{visit.id}")
    audit_change(session, actor, visit, "virtual_care.visit.cancel")
    return visit


def release_money_and_work(session: Session, visit: Visit, key: str) -> None:
    """Void the authorisation and close the work item of a visit ended without care."""
    if visit.payment_id is not None:
        payments.void(session, visit.payment_id, idempotency_key=key)
    if visit.work_item_id is not None:
        item = session.get(work.WorkItem, visit.work_item_id)
        if item is not None and item.status == work.WorkItemStatus.OPEN.value:
            work.cancel(session, SYSTEM, item.id, owner=True)


def visits_of_patient(session: Session, actor: Actor, patient_id: uuid.UUID) -> list[Visit]:
    """A patient's visits, newest first (the patient themself, or staff allowed to read their record)."""
    authorize(session, actor, Permission.PATIENT_READ, patient_id=patient_id, resource_type=SUBJECT)
    return list(session.scalars(select(Visit).where(Visit.patient_id == patient_id).order_by(Visit.created_at.desc())))


def reload(session: Session, visit_id: uuid.UUID) -> Visit:
    return load(session, visit_id)
