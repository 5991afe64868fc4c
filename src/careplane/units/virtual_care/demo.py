"""Virtual Care's part of ``careplane seed --demo``: more clinicians licensed in other states, visits
waiting in the queue at different ages (some close to their promise, one late), visits in progress,
and completed visits with notes, diagnoses and prescriptions, so that every page has something real.

Every visit goes through the unit's own services, as a patient and a clinician would take it, so the
demo's visits have their payments, work items, messages and events like any other. Idempotent: a
database that has visits gets none added."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import clock, payments
from careplane.kernel.access import Actor
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from careplane.kernel.org.models import Licence, StaffMember, Team, TeamMembership
from careplane.kernel.org.staff import licensure
from careplane.kernel.org.staff.service import CLINICIAN_LICENCE_KINDS
from careplane.kernel.patients import service as patients
from careplane.kernel.patients.models import ConsentKind, Patient
from careplane.kernel.work import WorkItem
from careplane.settings import Settings
from careplane.standards.npi import generate_npi
from careplane.units import pharmacy
from careplane.units.virtual_care import promise, video_demo
from careplane.units.virtual_care.catalog import Answer, Condition, shipped
from careplane.units.virtual_care.intake import is_enabled, red_flag
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services import messages, ratings, treatment, visits

CARD = payments.Card(number="4242424242424242", expiry="12/39", cvc="123")
#: Extra clinicians: (name, credential, states licensed in).
CLINICIANS = (
    ("Dr. Maya Patel", "MD", ("TX", "CA", "WA")),
    ("Jordan Lee, NP", "NP", ("NY", "PA", "MA")),
    ("Dr. Sam Okafor", "DO", ("FL", "GA", "IL", "TX")),
)
#: Demo patients: (given, family, sex, born, state).
PATIENTS = (
    ("Rosa", "Alvarez", "female", date(1991, 3, 14), "NY"),
    ("Priya", "Shah", "female", date(1985, 9, 2), "CA"),
    ("Marcus", "Johnson", "male", date(1979, 1, 23), "TX"),
    ("Emily", "Nguyen", "female", date(1996, 6, 30), "FL"),
    ("Daniel", "Kim", "male", date(1988, 11, 5), "NY"),
    ("Grace", "Okoye", "female", date(1993, 4, 17), "IL"),
    ("Tom", "Baker", "male", date(1970, 8, 9), "PA"),
    ("Hannah", "Schultz", "female", date(2001, 2, 28), "WA"),
)
#: Conditions the demo visits are for, with answers that raise no red flag.
FAMILIAR = ("uti", "pink_eye", "sinus_infection", "seasonal_allergies", "acne", "cold_sores")


def seed(session: Session, settings: Settings, rng: random.Random) -> None:
    if session.scalar(select(Visit.id).limit(1)) is not None:
        return
    system = Actor.for_system("demo-seed", via="cli")
    clinicians = [_clinician(session, name, credential, states, rng) for name, credential, states in CLINICIANS]
    demo_doctor = _existing_clinician(session)
    if demo_doctor is not None:
        clinicians.insert(0, demo_doctor)
    people = [_patient(session, system, *row) for row in PATIENTS]
    avery = session.scalar(select(User).where(User.email == "patient@demo.careplane.test"))
    if avery is not None and avery.patient_id is not None:
        people.insert(0, _as_patient(avery.patient_id))
    now = clock.now()
    for n, who in enumerate(people):
        doctor, condition = _doctor_and_condition(session, clinicians, who, n)
        if condition is None:
            continue
        stage = n % 3
        if stage == 0 and doctor is not None:
            _completed_visit(session, who, doctor, condition, rng, now - timedelta(days=rng.randint(1, 20)))
        elif stage == 1 and doctor is not None:
            visit = _paid_visit(session, who, condition, rng)
            treatment.claim(session, doctor, visit.id)
            messages.post(session, doctor, visit.id, "Hello, I am reviewing your answers now.")
            _age(session, visit, now - timedelta(minutes=rng.randint(20, 50)), replied_after=rng.randint(5, 15))
        else:
            _age(
                session,
                _paid_visit(session, who, condition, rng),
                now - timedelta(minutes=rng.choice([5, 35, 70, 150])),
            )
    # a month of completed visits, so that the lead's charts and figures have a history
    for _ in range(HISTORY):
        who = people[rng.randrange(len(people))]
        doctor, condition = _doctor_and_condition(session, clinicians, who, rng.randrange(len(FAMILIAR)))
        if doctor is not None and condition is not None:
            ago = timedelta(days=rng.randint(1, 29), hours=rng.randint(0, 10))
            _completed_visit(session, who, doctor, condition, rng, now - ago)
    first = session.get(Patient, people[0].patient_id) if people else None
    video_condition = _condition_for(first, 1) if first is not None else None
    if demo_doctor is not None and video_condition is not None:
        video_demo.seed(session, clinicians, people[0], video_condition.code, _answers(video_condition, rng), CARD, rng)


#: How many completed visits the demo spreads over the last month.
HISTORY = 40


def _doctor_and_condition(
    session: Session, clinicians: list[Actor], who: Actor, n: int
) -> tuple[Actor | None, Condition | None]:
    patient = session.get(Patient, who.patient_id)
    assert patient is not None and patient.state is not None
    doctor = next((c for c in clinicians if patient.state in _states(session, c)), None)
    return doctor, _condition_for(patient, n)


def _paid_visit(session: Session, who: Actor, condition: Condition, rng: random.Random) -> Visit:
    visit = visits.start_visit(session, who, condition_code=condition.code)
    visits.submit(session, who, visit.id, _answers(condition, rng))
    return visits.pay(session, who, visit.id, CARD)


def _completed_visit(
    session: Session, who: Actor, doctor: Actor, condition: Condition, rng: random.Random, started: datetime
) -> None:
    visit = _paid_visit(session, who, condition, rng)
    treatment.claim(session, doctor, visit.id)
    messages.post(session, doctor, visit.id, "Thanks for the details. How are you feeling today?")
    messages.post(session, who, visit.id, "A little better, thank you.")
    treatment.complete(session, doctor, visit.id, _completion(condition, rng))
    if rng.random() < 0.7:
        ratings.rate(session, who, visit.id, rng.choice([4, 5, 5, 5, 3]))
    _age(session, visit, started, replied_after=rng.randint(8, 70))


def _as_patient(patient_id: uuid.UUID) -> Actor:
    return Actor(user_id=None, label="demo patient", roles=frozenset({Role.PATIENT}), patient_id=patient_id, via="demo")


def _patient(session: Session, system: Actor, given: str, family: str, sex: str, born: date, state: str) -> Actor:
    record = patients.register_patient(
        session,
        system,
        {
            "given_name": given,
            "family_name": family,
            "birth_date": born,
            "sex_at_birth": sex,
            "state": state,
            "email": f"{given.lower()}.{family.lower()}@example.org",
        },
        confirm_not_duplicate=True,
        consents=[ConsentKind.TREATMENT, ConsentKind.HIPAA_AUTHORIZATION, ConsentKind.TELEHEALTH],
    )
    return _as_patient(record.id)


def _clinician(session: Session, name: str, credential: str, states: tuple[str, ...], rng: random.Random) -> Actor:
    slug = name.lower().replace("dr. ", "").replace(", np", "").replace(" ", ".")
    user = create_user(
        session,
        email=f"{slug}@demo.careplane.test",
        display_name=name,
        roles=[Role.CLINICIAN],
        unit="virtual_care",
        email_verified=True,
    )
    today = clock.today()
    staff = StaffMember(
        user_id=user.id, credentials=[credential], npi=generate_npi(rng), start_date=today - timedelta(days=200)
    )
    session.add(staff)
    session.flush()
    for state in states:
        session.add(
            Licence(
                staff_id=staff.id,
                state=state,
                kind=credential,
                number=f"{state}-{rng.randrange(10**6, 10**7)}",
                issued_on=today - timedelta(days=300),
                expires_on=today + timedelta(days=rng.randint(200, 900)),
            )
        )
    team = session.scalar(select(Team).where(Team.name == "Async visits", Team.effective_to.is_(None)))
    if team is not None:
        session.add(TeamMembership(team_id=team.id, staff_id=staff.id, start_date=staff.start_date))
    session.flush()
    return _staff_actor(user)


def _staff_actor(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        label=user.email,
        roles=frozenset(user.roles),
        unit=user.unit,
        unit_function=user.unit,
        via="demo",
    )


def _existing_clinician(session: Session) -> Actor | None:
    user = session.scalar(select(User).where(User.email == "clinician@demo.careplane.test"))
    return _staff_actor(user) if user is not None else None


def _states(session: Session, actor: Actor) -> set[str]:
    """Where the clinician may treat today, by the kernel's licensure rule."""
    staff_id = session.scalar(select(StaffMember.id).where(StaffMember.user_id == actor.user_id))
    return licensure.licensed_states(session, staff_id, CLINICIAN_LICENCE_KINDS) if staff_id else set()


def _condition_for(patient: Patient, n: int) -> Condition | None:
    choices = [
        c
        for c in (shipped().get(code) for code in FAMILIAR)
        if c is not None and visits.eligibility_refusal(c, patient, clock.today()) is None
    ]
    return choices[n % len(choices)] if choices else None


def _answers(condition: Condition, rng: random.Random) -> dict[str, Answer]:
    """Answers that the questionnaire accepts and that raise no red flag."""
    answers: dict[str, Answer] = {}
    flagged = {f.link_id: f for f in condition.red_flags}
    for item in condition.questionnaire:
        if not is_enabled(item, answers):
            continue
        if item.type == "boolean":
            value: Answer = False
            if item.link_id not in flagged:
                value = rng.random() < 0.6
        elif item.type == "choice":
            value = item.options[0].code
        elif item.type == "integer":
            value = rng.randint(1, 5)
        elif item.type == "decimal":
            value = 99.1
        elif item.type == "date":
            value = (clock.today() - timedelta(days=rng.randint(2, 10))).isoformat()
        else:
            value = "Nothing else to add."
        answers[item.link_id] = value
        if red_flag(condition, answers) is not None:
            answers[item.link_id] = not value if isinstance(value, bool) else value
    return answers


def _completion(condition: Condition, rng: random.Random) -> treatment.Completion:
    orders = []
    if condition.protocols:
        drug = condition.protocols[0].drugs[0]
        product = pharmacy.match_drug(drug.name, drug.strength)
        if product is not None:
            orders.append(treatment.PrescriptionOrder(product.id, drug.sig, str(drug.quantity), drug.refills))
    return treatment.Completion(
        diagnoses=[condition.icd10[0]],
        plan=f"Treatment for {condition.name.lower()} as discussed. Message me if you are not better in 3 days.",
        minutes=rng.randint(6, 24),
        subjective="Symptoms as described in the intake.",
        assessment=f"Consistent with {condition.name.lower()}; no red flags.",
        prescriptions=orders,
    )


_TIMES = ("created_at", "submitted_at", "queued_at", "reply_due_at", "claimed_at", "first_reply_at", "closed_at")


def _age(session: Session, visit: Visit, started: datetime, *, replied_after: int | None = None) -> None:
    """Move a visit's clock back to ``started``, as if the patient had asked then (its messages and
    work item too); the promise is worked out again from the new time, and the clinician's first
    reply comes ``replied_after`` minutes after the visit was queued."""
    shift = clock.now() - started
    session.flush()
    for column in _TIMES:
        value = getattr(visit, column)
        if value is not None:
            setattr(visit, column, value - shift)
    if replied_after is not None and visit.queued_at is not None and visit.first_reply_at is not None:
        visit.claimed_at = visit.first_reply_at = visit.queued_at + timedelta(minutes=replied_after)
        if visit.closed_at is not None:
            visit.closed_at = visit.first_reply_at + timedelta(minutes=15)
    if visit.queued_at is not None:
        visit.reply_due_at = promise.due_by(visit.queued_at, visit.state, promise.promised_for(visit.condition_code))
    if visit.follow_up_until is not None and visit.closed_at is not None:
        visit.follow_up_until = visit.closed_at + treatment.FOLLOW_UP
    for message in visit.messages:
        message.created_at -= shift
    item = session.get(WorkItem, visit.work_item_id) if visit.work_item_id else None
    if item is not None:
        item.created_at, item.due_at = item.created_at - shift, visit.reply_due_at
        if item.claimed_at is not None:
            item.claimed_at -= shift
        if item.closed_at is not None:
            item.closed_at -= shift
