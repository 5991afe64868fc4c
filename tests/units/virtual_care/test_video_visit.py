"""Video visits through their life, on both engines: hours and open slots, booking (one winner per
slot), rescheduling and cancelling until the cutoff, reminders, check-in, the room's two people,
no-show and completion at a level."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from careplane.kernel import clock, payments
from careplane.kernel.errors import AccessDenied, Conflict, ValidationFailed
from careplane.kernel.events import OutboxEvent
from careplane.kernel.mail import OutboxMail
from careplane.kernel.org.events import StaffDeparted
from careplane.kernel.work import WorkItem
from careplane.units.virtual_care.handlers import hand_over
from careplane.units.virtual_care.reminders import remind
from careplane.units.virtual_care.services import availability, booking, slots, treatment, video_call, visits
from careplane.units.virtual_care.video_models import Booking
from tests.units.virtual_care.builders import GOOD_CARD, clinician, load, patient, seed
from tests.units.virtual_care.video_builders import (
    awaiting_video_payment,
    booked_video_visit,
    doctor_with_hours,
    key,
    next_slot,
    staff_id_of,
)


@pytest.fixture(autouse=True)
def _units(db):  # noqa: ANN001, ANN202
    seed(db)


@pytest.fixture
def travel(db):  # noqa: ANN001, ANN201
    """Move the platform clock (the ``db`` fixture puts it back)."""
    return clock.travel


def booking_row(db, visit_id) -> Booking:  # noqa: ANN001
    with db.unit_of_work() as s:
        found = slots.booking_of(s, visit_id)
        assert found is not None
        s.expunge(found)
        return found


def test_slots_come_from_the_hours_in_the_clinicians_zone_minus_bookings_for_clinicians_licensed_there(db):
    starts = next_slot()
    doctor = doctor_with_hours(db, "NY", on=starts, zone="America/New_York")
    doctor_with_hours(db, "TX", on=starts)  # not licensed in NY
    staff = staff_id_of(db, doctor)
    with db.unit_of_work() as s:
        found = slots.open_slots(s, "NY")
    local = [x.starts_at.astimezone(clock.zone_named("America/New_York")) for x in found]  # type: ignore[arg-type]
    assert {x.clinician_staff_id for x in found} == {staff}
    assert {f"{t:%H:%M}" for t in local} == {f"{h:02d}:{m:02d}" for h in (14, 15, 16, 17) for m in (0, 20, 40)}
    assert all(t.weekday() == starts.weekday() for t in local) and len(found) in (12, 24)  # one or two such days
    first = found[0]
    booked_video_visit(db, patient(db), staff, first.starts_at)
    with db.unit_of_work() as s:
        assert first.starts_at not in {x.starts_at for x in slots.open_slots(s, "NY")}
        assert slots.open_slots(s, "WY") == []


def test_nothing_sooner_than_the_lead_time_nor_beyond_fourteen_days(db):
    starts = next_slot()
    doctor_with_hours(db, "NY", on=starts)
    now = starts - timedelta(hours=1, minutes=30)  # 14:00-15:20 are within the lead time
    with db.unit_of_work() as s:
        found = slots.open_slots(s, "NY", now=now)
    assert found and min(x.starts_at for x in found) == starts + timedelta(minutes=40)
    assert max(x.starts_at for x in found) < now + slots.HORIZON


def test_a_day_off_or_other_hours_replace_the_weekly_hours_of_that_date(db):
    starts = next_slot()
    doctor = doctor_with_hours(db, "NY", on=starts)
    day = starts.date()
    with db.unit_of_work() as s:
        availability.set_change(s, doctor, day, "UTC", time(9), time(10))
    with db.unit_of_work() as s:
        that_day = [x.starts_at for x in slots.open_slots(s, "NY") if x.starts_at.date() == day]
    assert [f"{t:%H:%M}" for t in that_day] == ["09:00", "09:20", "09:40"]
    with db.unit_of_work() as s:
        availability.set_change(s, doctor, day, "UTC", None, None)
    with db.unit_of_work() as s:
        assert not [x for x in slots.open_slots(s, "NY") if x.starts_at.date() == day]
        availability.remove_change(s, doctor, day)
    with db.unit_of_work() as s:
        assert len([x for x in slots.open_slots(s, "NY") if x.starts_at.date() == day]) == 12


def test_bad_hours_are_refused_whole_and_only_clinicians_keep_hours(db):
    doctor = doctor_with_hours(db, "NY", on=next_slot())
    bad = [
        availability.Hours(0, time(9), time(12)),
        availability.Hours(0, time(11), time(13)),
        availability.Hours(1, time(17), time(9)),
    ]
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as refused:
        availability.set_weekly_hours(s, doctor, "Mars/Olympus", bad)
    assert refused.value.errors == {
        "zone": "Choose a time zone, e.g. America/New_York.",
        "hours[1]": "Monday: these hours overlap others of the same day.",
        "hours[2]": "Tuesday: the hours must end after they start.",
    }
    with db.unit_of_work() as s:
        assert len(availability.mine(s, doctor).weekly) == 1  # the earlier hours stand
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as past:
        availability.set_change(s, doctor, date(2000, 1, 1), "UTC", time(9), None)
    assert set(past.value.errors) == {"on", "ends"}
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        availability.mine(s, patient(db))


def test_booking_authorises_the_card_and_gives_the_clinician_a_work_item_due_at_the_start(db):
    starts = next_slot()
    doctor = doctor_with_hours(db, "NY", on=starts)
    staff = staff_id_of(db, doctor)
    who = patient(db)
    visit_id = awaiting_video_payment(db, who)
    with db.unit_of_work() as s, pytest.raises(Conflict, match="paid for when a time is booked"):
        visits.pay(s, who, visit_id, GOOD_CARD)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as closed:
        booking.book(s, who, visit_id, key(staff, starts + timedelta(hours=5)), GOOD_CARD)
    assert closed.value.errors == {"slot": "That time is no longer open; choose another."}
    declined = payments.Card(number="4000 0000 0000 0002", expiry="12/39", cvc="123")
    with pytest.raises(payments.PaymentDeclined), db.unit_of_work() as s:  # the decline rolls the booking back
        booking.book(s, who, visit_id, key(staff, starts), declined)
    with db.unit_of_work() as s:
        assert slots.booking_of(s, visit_id) is None  # nothing half-booked
        booking.book(s, who, visit_id, key(staff, starts), GOOD_CARD)
    visit = load(db, visit_id)
    assert (visit.status, visit.clinician_staff_id) == ("booked", staff)
    with db.unit_of_work() as s:
        item = s.get(WorkItem, visit.work_item_id)
        assert (item.assignee_staff_id, item.due_at, item.kind, item.state) == (staff, starts, "video_visit", "NY")
        assert s.get(payments.Payment, visit.payment_id).status == "authorised"
    with db.unit_of_work() as s, pytest.raises(Conflict, match="booked; it cannot be booked"):
        booking.book(s, who, visit_id, key(staff, starts + timedelta(minutes=20)), GOOD_CARD)


def test_of_two_patients_booking_the_same_slot_at_once_exactly_one_wins(db):
    starts = next_slot()
    staff = staff_id_of(db, doctor_with_hours(db, "NY", on=starts))
    people = [patient(db) for _ in range(3)]
    waiting = [(who, awaiting_video_payment(db, who)) for who in people]
    barrier = threading.Barrier(len(waiting))

    def attempt(entry) -> str:  # noqa: ANN001
        who, visit_id = entry
        try:
            with db.unit_of_work() as s:
                barrier.wait(timeout=10)
                booking.book(s, who, visit_id, key(staff, starts), GOOD_CARD)
            return "won"
        except Conflict:
            return "taken"
        except ValidationFailed:
            return "taken"  # on SQLite the loser may see the slot already gone when its turn comes

    with ThreadPoolExecutor(len(waiting)) as pool:
        outcomes = sorted(pool.map(attempt, waiting))
    assert outcomes == ["taken", "taken", "won"]
    with db.unit_of_work() as s:
        assert len(s.scalars(select(Booking).where(Booking.starts_at == starts)).all()) == 1
        assert {load(db, v).status for _, v in waiting} == {"booked", "awaiting_payment"}


def test_rescheduling_and_cancelling_until_two_hours_before_cancel_voids_and_frees_the_slot(db, travel):
    starts = next_slot()
    doctor = doctor_with_hours(db, "NY", on=starts)
    other = doctor_with_hours(db, "NY", on=starts)
    staff, other_staff = staff_id_of(db, doctor), staff_id_of(db, other)
    who = patient(db)
    visit_id = booked_video_visit(db, who, staff, starts)
    later = starts + timedelta(hours=1)
    with db.unit_of_work() as s:
        booking.reschedule(s, who, visit_id, key(other_staff, later))
    visit = load(db, visit_id)
    with db.unit_of_work() as s:
        item = s.get(WorkItem, visit.work_item_id)
        assert (visit.clinician_staff_id, item.assignee_staff_id, item.due_at) == (other_staff, other_staff, later)
        assert starts in {x.starts_at for x in slots.open_slots(s, "NY", clinician_staff_id=staff)}
    travel(later - timedelta(hours=1, minutes=59))
    with db.unit_of_work() as s, pytest.raises(Conflict, match="until 2 hours before"):
        booking.reschedule(s, who, visit_id, key(staff, later + timedelta(minutes=20)))
    with db.unit_of_work() as s, pytest.raises(Conflict, match="can be cancelled until 2 hours before"):
        visits.cancel(s, who, visit_id)
    travel(later - timedelta(hours=3))
    with db.unit_of_work() as s:
        visits.cancel(s, who, visit_id)
    visit = load(db, visit_id)
    assert visit.status == "cancelled" and booking_row(db, visit_id).cancelled_at is not None
    with db.unit_of_work() as s:
        assert s.get(payments.Payment, visit.payment_id).status == "voided"
        assert s.get(WorkItem, visit.work_item_id).status == "cancelled"
        assert later in {x.starts_at for x in slots.open_slots(s, "NY", clinician_staff_id=other_staff)}
    booked_video_visit(db, patient(db), other_staff, later)  # the freed slot can be booked again


def test_reminders_go_a_day_and_an_hour_before_each_once_with_no_health_details(db, travel):
    starts = next_slot()
    staff = staff_id_of(db, doctor_with_hours(db, "NY", on=starts))
    visit_id = booked_video_visit(db, patient(db), staff, starts)

    def reminders() -> list[OutboxMail]:
        with db.unit_of_work() as s:
            mails = select(OutboxMail).where(OutboxMail.subject.like("%video visit %")).order_by(OutboxMail.created_at)
            found = list(s.scalars(mails))
            s.expunge_all()
            return found

    with db.unit_of_work() as s:
        assert remind(s) == 0
    travel(starts - timedelta(hours=23, minutes=59))
    with db.unit_of_work() as s:
        assert remind(s) == 1
        assert remind(s) == 0
    travel(starts - timedelta(minutes=59))
    with db.unit_of_work() as s:
        assert remind(s) == 1
        assert remind(s) == 0
    sent = reminders()
    assert [m.subject for m in sent if "booked" not in m.subject] == [
        "careplane: your video visit is in a day",
        "careplane: your video visit starts within the hour",
    ]
    for mail in sent:
        assert "urinary" not in mail.body.lower() and "uti" not in mail.body.lower()
        assert f"/virtual-care/visits/{visit_id}" in mail.body


def test_check_in_from_fifteen_minutes_before_and_only_the_two_people_enter_the_room(db, travel):
    starts = next_slot()
    doctor = doctor_with_hours(db, "NY", on=starts)
    colleague = clinician(db, "NY")
    who, stranger = patient(db), patient(db)
    visit_id = booked_video_visit(db, who, staff_id_of(db, doctor), starts)
    travel(starts - timedelta(minutes=16))
    with db.unit_of_work() as s, pytest.raises(Conflict, match="opens 15 minutes before"):
        video_call.check_in(s, who, visit_id)
    with db.unit_of_work() as s:
        assert video_call.room(s, who, visit_id).refusal == "The call opens 15 minutes before the visit starts."
    travel(starts - timedelta(minutes=14))
    with db.unit_of_work() as s:
        assert video_call.room(s, who, visit_id).refusal == "Check in first."
        video_call.check_in(s, who, visit_id)
    with db.unit_of_work() as s:
        assert video_call.room(s, who, visit_id).refusal is None
        assert video_call.room(s, doctor, visit_id).side == "clinician"
    for intruder in (stranger, colleague):
        with db.unit_of_work() as s, pytest.raises(AccessDenied):
            video_call.room(s, intruder, visit_id)


def test_a_patient_who_never_joins_is_a_no_show_from_ten_minutes_after_with_no_charge(db, travel):
    starts = next_slot()
    doctor = doctor_with_hours(db, "NY", on=starts)
    who = patient(db)
    visit_id = booked_video_visit(db, who, staff_id_of(db, doctor), starts)
    travel(starts - timedelta(minutes=5))
    with db.unit_of_work() as s:
        video_call.start(s, doctor, visit_id)
    travel(starts + timedelta(minutes=9))
    with db.unit_of_work() as s, pytest.raises(Conflict, match="from 10 minutes after the start"):
        video_call.no_show(s, doctor, visit_id)
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        video_call.no_show(s, clinician(db, "NY"), visit_id)
    travel(starts + timedelta(minutes=11))
    with db.unit_of_work() as s:
        video_call.no_show(s, doctor, visit_id)
    visit = load(db, visit_id)
    assert visit.status == "no_show" and booking_row(db, visit_id).no_show_at is not None
    with db.unit_of_work() as s:
        assert s.get(payments.Payment, visit.payment_id).status == "voided"
        assert s.get(WorkItem, visit.work_item_id).status == "done"


def test_a_patient_who_joined_is_no_no_show_and_the_visit_completes_at_a_level_with_modifier_95(db, travel):
    starts = next_slot()
    doctor = doctor_with_hours(db, "NY", on=starts)
    who = patient(db)
    visit_id = booked_video_visit(db, who, staff_id_of(db, doctor), starts)
    travel(starts - timedelta(minutes=5))
    with db.unit_of_work() as s:
        video_call.check_in(s, who, visit_id)
        video_call.joined(s, video_call.room(s, who, visit_id))
    with db.unit_of_work() as s, pytest.raises(Conflict, match="cannot be completed"):
        treatment.complete(s, doctor, visit_id, treatment.Completion(["N30.00"], "Rest.", None, level=4))
    with db.unit_of_work() as s:
        video_call.start(s, doctor, visit_id)
    travel(starts + timedelta(minutes=15))
    with db.unit_of_work() as s, pytest.raises(Conflict, match="joined the call"):
        video_call.no_show(s, doctor, visit_id)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as no_level:
        treatment.complete(s, doctor, visit_id, treatment.Completion(["N30.00"], "Rest.", None, level=6))
    assert no_level.value.errors == {"level": "Choose the level of the visit, 2 to 5 (99212-99215)."}
    with db.unit_of_work() as s:
        treatment.complete(s, doctor, visit_id, treatment.Completion(["N30.00"], "Rest.", None, level=4))
    visit = load(db, visit_id)
    assert (visit.status, visit.cpt_code) == ("completed", "99214")
    with db.unit_of_work() as s:
        event = next(e for e in s.scalars(select(OutboxEvent)) if e.name.endswith("VisitCompleted"))
        assert s.get(payments.Payment, visit.payment_id).status == "captured"
    assert (event.payload["cpt_code"], event.payload["modifiers"], event.payload["place_of_service"]) == (
        "99214",
        ["95"],
        "10",
    )
    assert event.payload["visit_type"] == "video"


def test_a_departing_clinicians_video_visits_go_to_a_free_licensed_successor_or_are_cancelled_uncharged(db):
    starts = next_slot()
    leaver = doctor_with_hours(db, "NY", on=starts)
    successor = doctor_with_hours(db, "NY", on=starts)
    leaver_id, successor_id = staff_id_of(db, leaver), staff_id_of(db, successor)
    taken_over = booked_video_visit(db, patient(db), leaver_id, starts)
    clash = booked_video_visit(db, patient(db), leaver_id, starts + timedelta(minutes=20))
    booked_video_visit(db, patient(db), successor_id, starts + timedelta(minutes=20))  # the successor is busy then
    event = StaffDeparted(
        departure_id=uuid.uuid4(), staff_id=leaver_id, successor_staff_id=successor_id, successor_queue_id=None
    )
    with db.unit_of_work() as s:
        assert hand_over(s, event) == {"video visit to successor": 1, "video visit cancelled": 1}
    with db.unit_of_work() as s:
        assert hand_over(s, event) == {}
    moved, cancelled = load(db, taken_over), load(db, clash)
    assert (moved.status, moved.clinician_staff_id, booking_row(db, taken_over).clinician_staff_id) == (
        "booked",
        successor_id,
        successor_id,
    )
    assert cancelled.status == "cancelled" and booking_row(db, clash).cancelled_at is not None
    with db.unit_of_work() as s:
        assert s.get(WorkItem, moved.work_item_id).assignee_staff_id == successor_id
        assert s.get(payments.Payment, cancelled.payment_id).status == "voided"
