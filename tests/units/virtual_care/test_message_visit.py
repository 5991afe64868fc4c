"""A message visit through its states, on both engines: who may start, answer, pay, claim, write,
complete, refer and rate, and what each bad input or wrong moment is told, with nothing half-saved."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image
from sqlalchemy import func, select

from careplane.kernel import payments
from careplane.kernel.access import Actor
from careplane.kernel.errors import AccessDenied, Conflict, ValidationFailed
from careplane.kernel.events import OutboxEvent
from careplane.kernel.work import WorkItem
from careplane.units.virtual_care.models import Visit, VisitMessage
from careplane.units.virtual_care.services import access, messages, ratings, treatment, visits
from tests.units.virtual_care.builders import (
    GOOD_CARD,
    UTI_ANSWERS,
    claimed_visit,
    clinician,
    load,
    patient,
    queued_visit,
    seed,
)


@pytest.fixture(autouse=True)
def _units(db):  # noqa: ANN001, ANN202
    seed(db)


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "PNG")
    return out.getvalue()


def done(minutes: int = 15, **extra) -> treatment.Completion:  # noqa: ANN003
    return treatment.Completion(diagnoses=["N30.00"], plan="Drink plenty of water.", minutes=minutes, **extra)


def test_a_state_with_no_licensed_clinician_is_refused_with_a_clear_message(db):
    clinician(db, "NY")
    who = patient(db, state="WY")
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as refused:
        visits.start_visit(s, who, condition_code="uti")
    assert refused.value.errors == {
        "state": "Virtual Care is not available in Wyoming yet: no clinician is licensed there today."
    }


def test_a_patient_outside_the_conditions_eligibility_is_told_why(db):
    clinician(db, "NY")
    who = patient(db, sex="male")
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as refused:
        visits.start_visit(s, who, condition_code="uti")
    assert "sex at birth is female" in refused.value.errors["condition"]


def test_a_wrong_answer_type_or_a_missing_answer_saves_nothing(db):
    clinician(db, "NY")
    who = patient(db)
    with db.unit_of_work() as s:
        visit_id = visits.start_visit(s, who, condition_code="uti").id
        visits.save_answers(s, who, visit_id, {"dysuria": True}, from_form=False)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as bad:
        visits.save_answers(s, who, visit_id, {"frequency": True, "duration_days": "two"}, from_form=False)
    assert bad.value.errors == {"duration_days": "Answer with a whole number."}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as missing:
        visits.submit(s, who, visit_id)
    assert "frequency" in missing.value.errors
    visit = load(db, visit_id)
    assert visit.answers == {"dysuria": True} and visit.status == "intake"


def test_a_red_flag_ends_the_visit_with_advice_and_no_charge(db):
    clinician(db, "NY")
    who = patient(db)
    with db.unit_of_work() as s:
        visit_id = visits.start_visit(s, who, condition_code="uti").id
        visits.submit(s, who, visit_id, {**UTI_ANSWERS, "vomiting": True})
    visit = load(db, visit_id)
    assert visit.status == "ended_with_advice" and visit.advice_level == "emergency"
    assert "911" in visit.advice and visit.price.cents == 0 and visit.payment_id is None
    with db.unit_of_work() as s, pytest.raises(Conflict, match="ended with advice; it cannot be paid for"):
        visits.pay(s, who, visit_id, GOOD_CARD)


def test_a_declined_card_leaves_the_visit_waiting_for_payment(db):
    clinician(db, "NY")
    who = patient(db)
    with db.unit_of_work() as s:
        visit_id = visits.start_visit(s, who, condition_code="uti").id
        visits.submit(s, who, visit_id, UTI_ANSWERS)
    declined = payments.Card(number="4000 0000 0000 9995", expiry="12/39", cvc="123")
    with db.unit_of_work() as s, pytest.raises(payments.PaymentDeclined) as no:
        visits.pay(s, who, visit_id, declined)
    assert "card_number" in no.value.errors
    visit = load(db, visit_id)
    assert visit.status == "awaiting_payment" and visit.payment_id is None and visit.work_item_id is None


def test_paying_queues_the_visit_as_a_work_item_needing_a_licence_in_the_patients_state(db):
    clinician(db, "NY")
    who = patient(db)
    visit_id = queued_visit(db, who)
    visit = load(db, visit_id)
    assert visit.status == "queued" and visit.reply_due_at is not None
    with db.unit_of_work() as s:
        item = s.get(WorkItem, visit.work_item_id)
        assert (item.state, item.patient_id, item.subject_id, item.due_at) == (
            "NY",
            who.patient_id,
            str(visit_id),
            visit.reply_due_at,
        )
        payment = s.get(payments.Payment, visit.payment_id)
        assert payment.status == "authorised" and payment.amount == visit.price


def test_a_clinician_not_licensed_in_the_patients_state_neither_sees_nor_claims_the_visit(db):
    clinician(db, "NY")
    texan = clinician(db, "TX")
    visit_id = queued_visit(db, patient(db))
    with db.unit_of_work() as s, pytest.raises(AccessDenied, match="licence for NY"):
        access.open_as_staff(s, texan, visit_id)
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        treatment.claim(s, texan, visit_id)
    assert load(db, visit_id).status == "queued"


def test_of_two_clinicians_claiming_at_once_exactly_one_wins(db):
    doctors = [clinician(db, "NY") for _ in range(3)]
    visit_id = queued_visit(db, patient(db))
    barrier = threading.Barrier(len(doctors))

    def attempt(doctor) -> str:  # noqa: ANN001
        try:
            with db.unit_of_work() as s:
                barrier.wait(timeout=10)
                treatment.claim(s, doctor, visit_id)
            return "won"
        except Conflict:
            return "taken"

    with ThreadPoolExecutor(len(doctors)) as pool:
        outcomes = sorted(pool.map(attempt, doctors))
    assert outcomes == ["taken", "taken", "won"]
    visit = load(db, visit_id)
    with db.unit_of_work() as s:
        assert s.get(WorkItem, visit.work_item_id).assignee_staff_id == visit.clinician_staff_id


def test_messages_both_ways_with_an_image_and_the_first_reply_keeps_the_promise(db):
    doctor = clinician(db, "NY")
    who = patient(db)
    visit_id = claimed_visit(db, who, doctor)
    with db.unit_of_work() as s:
        messages.post(s, who, visit_id, "Here is a photo.", [messages.Upload("rash.png", "image/png", png())])
        messages.post(s, doctor, visit_id, "Thanks, I have looked at it.")
    visit = load(db, visit_id)
    assert visit.first_reply_at is not None
    with db.unit_of_work() as s:
        kinds = [
            m.author_kind
            for m in s.scalars(
                select(VisitMessage).where(VisitMessage.visit_id == visit_id).order_by(VisitMessage.created_at)
            )
        ]
    assert kinds[-2:] == ["patient", "clinician"]


def test_an_oversized_or_wrong_type_attachment_is_refused_and_nothing_is_saved(db):
    doctor = clinician(db, "NY")
    who = patient(db)
    visit_id = claimed_visit(db, who, doctor)
    with db.unit_of_work() as s:
        before = s.scalar(select(func.count()).select_from(VisitMessage))
    fake = messages.Upload("rash.png", "image/png", b"%PDF-1.4 not an image")
    huge = messages.Upload("big.png", "image/png", b"\x89PNG" + b"0" * (messages.MAX_ATTACHMENT_BYTES + 1))
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as bad:
        messages.post(s, who, visit_id, "two files", [fake, huge])
    assert bad.value.errors["attachments[0]"] == "rash.png: Attach a photo or image (JPEG, PNG, WebP or GIF)."
    assert "images may be up to 5 MB" in bad.value.errors["attachments[1]"]
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(VisitMessage)) == before


def test_completing_charges_the_card_signs_prescriptions_and_tells_billing(db):
    doctor = clinician(db, "NY")
    who = patient(db)
    visit_id = claimed_visit(db, who, doctor)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as incomplete:
        treatment.complete(s, doctor, visit_id, treatment.Completion(diagnoses=["XYZ"], plan="", minutes=None))
    assert set(incomplete.value.errors) == {"diagnoses", "plan", "minutes"}
    from careplane.units import pharmacy

    product = pharmacy.match_drug("Nitrofurantoin monohydrate/macrocrystals", "100 mg capsule")
    order = treatment.PrescriptionOrder(product.id, "Take 1 capsule by mouth twice a day for 5 days.", "10", 0)
    with db.unit_of_work() as s:
        treatment.complete(s, doctor, visit_id, done(15, prescriptions=[order]))
    visit = load(db, visit_id)
    assert visit.status == "completed" and visit.cpt_code == "99422" and visit.follow_up_until is not None
    with db.unit_of_work() as s:
        assert s.get(payments.Payment, visit.payment_id).status == "captured"
        assert s.get(WorkItem, visit.work_item_id).status == "done"
        names = [e.name for e in s.scalars(select(OutboxEvent))]
        completed = next(e for e in s.scalars(select(OutboxEvent)) if e.name.endswith("VisitCompleted"))
    assert any(n.endswith("PrescriptionSigned") for n in names)
    assert completed.payload["cpt_code"] == "99422" and completed.payload["place_of_service"] == "10"
    assert completed.payload["diagnoses"] == ["N30.00"] and completed.payload["price_paid_cents"] == visit.price.cents


@pytest.mark.parametrize(
    ("minutes", "code"), [(5, "99421"), (10, "99421"), (11, "99422"), (20, "99422"), (21, "99423")]
)
def test_the_e_visit_code_follows_the_clinicians_minutes(minutes, code):
    assert treatment.cpt_for("message", minutes) == (code, ())


def test_referring_out_voids_the_authorisation_and_tells_the_patient(db):
    doctor = clinician(db, "NY")
    who = patient(db)
    visit_id = claimed_visit(db, who, doctor)
    with db.unit_of_work() as s:
        treatment.refer_out(s, doctor, visit_id, "Please be seen today at urgent care for an examination.")
    visit = load(db, visit_id)
    assert visit.status == "referred_out"
    with db.unit_of_work() as s:
        assert s.get(payments.Payment, visit.payment_id).status == "voided"
        told = s.scalars(select(VisitMessage.body).where(VisitMessage.visit_id == visit_id)).all()
    assert any("not been charged" in t for t in told)


def test_a_message_on_a_closed_visit_is_refused(db):
    doctor = clinician(db, "NY")
    who = patient(db)
    visit_id = claimed_visit(db, who, doctor)
    with db.unit_of_work() as s:
        treatment.refer_out(s, doctor, visit_id, "Please see your own doctor this week.")
    with db.unit_of_work() as s, pytest.raises(Conflict, match="messages can no longer be sent"):
        messages.post(s, who, visit_id, "Hello?")


def test_only_the_holder_completes_and_patients_open_only_their_own_visits(db):
    doctor, other = clinician(db, "NY"), clinician(db, "NY")
    who, stranger = patient(db), patient(db)
    visit_id = claimed_visit(db, who, doctor)
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        treatment.complete(s, other, visit_id, done())
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        access.open_as_patient(s, stranger, visit_id, write=False)


def test_a_patient_rates_once_and_a_condition_shows_its_average_from_ten_ratings(db):
    doctor = clinician(db, "NY")
    rated = []
    for n in range(10):
        who = patient(db)
        visit_id = claimed_visit(db, who, doctor)
        with db.unit_of_work() as s:
            treatment.complete(s, doctor, visit_id, done())
            ratings.rate(s, who, visit_id, 5 if n % 2 else 4)
            assert "uti" not in ratings.by_condition(s) or n == 9
        rated.append((who, visit_id))
    with db.unit_of_work() as s:
        assert ratings.by_condition(s)["uti"] == ratings.ConditionRating(4.5, 10)
    who, visit_id = rated[0]
    with db.unit_of_work() as s, pytest.raises(Conflict, match="already rated"):
        ratings.rate(s, who, visit_id, 1)


def test_cancelling_a_queued_visit_voids_the_payment_and_closes_the_work(db):
    clinician(db, "NY")
    who = patient(db)
    visit_id = queued_visit(db, who)
    with db.unit_of_work() as s:
        visits.cancel(s, who, visit_id)
    visit = load(db, visit_id)
    with db.unit_of_work() as s:
        assert s.get(payments.Payment, visit.payment_id).status == "voided"
        assert s.get(WorkItem, visit.work_item_id).status == "cancelled"
    assert visit.status == "cancelled"


def test_the_promise_job_warns_the_lead_at_80_percent_and_escalates_a_broken_promise_once(db):
    from datetime import timedelta

    from careplane.kernel import clock
    from careplane.kernel.mail import OutboxMail
    from careplane.units.virtual_care.promise_watch import watch

    doctor = clinician(db, "NY")
    visit_id = queued_visit(db, patient(db))
    with db.unit_of_work() as s:
        from careplane.kernel.org.models import OrgUnit, StaffMember
        from careplane.kernel.org.structure.service import set_unit_lead

        staff_id = s.scalar(select(StaffMember.id).where(StaffMember.user_id == doctor.user_id))
        unit = s.scalar(select(OrgUnit).where(OrgUnit.code == "virtual_care"))
        set_unit_lead(s, Actor.for_system("tests"), unit.id, staff_id)
        visit = s.get(Visit, visit_id)
        due = visit.reply_due_at
        # 50 of the 60 minutes have passed
        visit.queued_at, visit.reply_due_at = clock.now() - timedelta(minutes=50), clock.now() + timedelta(minutes=10)
    with db.unit_of_work() as s:
        assert watch(s) == (1, 0)
        assert watch(s) == (0, 0), "a warning goes once"
        s.get(Visit, visit_id).reply_due_at = clock.now() - timedelta(minutes=3)
    with db.unit_of_work() as s:
        assert watch(s) == (0, 1)
        assert watch(s) == (0, 0), "an escalation goes once"
        subjects = [m.subject for m in s.scalars(select(OutboxMail).order_by(OutboxMail.created_at))]
    assert "Virtual Care: a visit is close to its response-time promise" in subjects
    assert "Virtual Care: a response-time promise was broken" in subjects
    assert due is not None


def test_the_leads_report_counts_open_visits_revenue_per_day_and_clinicians_per_state(db):
    from zoneinfo import ZoneInfo

    from careplane.kernel.org.models import OrgUnit, StaffMember
    from careplane.kernel.org.structure.service import set_unit_lead
    from careplane.units.virtual_care.services import lead_report

    lead, doctor = clinician(db, "NY"), clinician(db, "NY", "NJ")
    first = claimed_visit(db, patient(db), doctor)
    with db.unit_of_work() as s:
        messages.post(s, doctor, first, "Hello")
        treatment.complete(s, doctor, first, done())
    claimed_visit(db, patient(db), doctor)
    queued_visit(db, patient(db))
    with db.unit_of_work() as s:
        staff_id = s.scalar(select(StaffMember.id).where(StaffMember.user_id == lead.user_id))
        unit = s.scalar(select(OrgUnit).where(OrgUnit.code == "virtual_care"))
        set_unit_lead(s, Actor.for_system("tests"), unit.id, staff_id)
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        lead_report.report(s, doctor, ZoneInfo("America/New_York"))
    with db.unit_of_work() as s:
        r = lead_report.report(s, lead, ZoneInfo("America/New_York"))
    assert (r.queued, r.in_progress, r.late, r.replies_measured) == (1, 1, 0, 1)
    assert len(r.days) == 30 and r.days[-1].visits == 1 and r.days[-1].revenue.cents == 4900
    assert {(row.state, row.licensed, row.treating_now, row.waiting) for row in r.states} == {
        ("NY", 2, 1, 1),
        ("NJ", 1, 0, 0),
    }
