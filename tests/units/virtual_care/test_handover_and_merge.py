"""A departing clinician's visits are handed over (to a successor licensed for them, or back to the
queue), each patient told and the departure report counting them; a merged patient record's visits
follow it to the survivor."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from careplane.kernel.access import Actor
from careplane.kernel.org.models import HandoverReport, StaffMember
from careplane.kernel.org.offboarding import departures
from careplane.kernel.patients import merge
from careplane.kernel.work import WorkItem
from careplane.units.virtual_care.models import Visit, VisitMessage
from tests.kernel.org.test_handover import drain
from tests.units.virtual_care.builders import claimed_visit, clinician, load, patient, queued_visit, seed

SYSTEM = Actor.for_system("tests")


@pytest.fixture(autouse=True)
def _units(db):  # noqa: ANN001, ANN202
    seed(db)


def staff_of(db, actor: Actor):  # noqa: ANN001, ANN201
    with db.unit_of_work() as s:
        return s.scalar(select(StaffMember.id).where(StaffMember.user_id == actor.user_id))


def test_a_leavers_visit_goes_to_a_licensed_successor_and_the_patient_is_told(db, settings):
    leaver, successor = clinician(db, "NY"), clinician(db, "NY")
    visit_id = claimed_visit(db, patient(db), leaver)
    with db.unit_of_work() as s:
        departure = departures.offboard(s, SYSTEM, staff_of(db, leaver), successor_staff_id=staff_of(db, successor))
    drain(db, settings)
    visit = load(db, visit_id)
    assert visit.status == "in_progress" and visit.clinician_staff_id == staff_of(db, successor)
    with db.unit_of_work() as s:
        assert s.get(WorkItem, visit.work_item_id).assignee_staff_id == staff_of(db, successor)
        told = s.scalars(select(VisitMessage.body).where(VisitMessage.visit_id == visit_id)).all()
        report = s.scalar(
            select(HandoverReport).where(
                HandoverReport.departure_id == departure.id, HandoverReport.unit_code == "virtual_care"
            )
        )
    assert any("another clinician has taken over" in t for t in told)
    assert report.moved == {"visit to successor": 1}


def test_without_a_licensed_successor_the_visit_goes_back_to_the_queue(db, settings):
    leaver, texan = clinician(db, "NY"), clinician(db, "TX")
    visit_id = claimed_visit(db, patient(db), leaver)
    with db.unit_of_work() as s:
        departure = departures.offboard(s, SYSTEM, staff_of(db, leaver), successor_staff_id=staff_of(db, texan))
    drain(db, settings)
    visit = load(db, visit_id)
    assert visit.status == "queued" and visit.clinician_staff_id is None
    with db.unit_of_work() as s:
        assert s.get(WorkItem, visit.work_item_id).assignee_staff_id is None
        report = s.scalar(
            select(HandoverReport).where(
                HandoverReport.departure_id == departure.id, HandoverReport.unit_code == "virtual_care"
            )
        )
    assert report.moved == {"visit back to queue": 1}


def test_a_merged_patients_visits_follow_the_survivor(db, settings):
    clinician(db, "NY")
    survivor, duplicate = patient(db), patient(db)
    visit_id = queued_visit(db, duplicate)
    with db.unit_of_work() as s:
        merge.merge_patients(s, SYSTEM, survivor.patient_id, duplicate.patient_id)
    drain(db, settings)
    assert load(db, visit_id).patient_id == survivor.patient_id
    with db.unit_of_work() as s:
        assert s.scalar(select(Visit.patient_id).where(Visit.id == visit_id)) == survivor.patient_id


def test_a_merged_patients_prescriptions_follow_the_survivor(db, settings):
    from careplane.units import pharmacy
    from careplane.units.pharmacy.models import Prescription
    from careplane.units.virtual_care.services import treatment

    doctor = clinician(db, "NY")
    survivor, duplicate = patient(db), patient(db)
    visit_id = claimed_visit(db, duplicate, doctor)
    product = pharmacy.match_drug("Fosfomycin tromethamine", "3 g packet")
    order = treatment.PrescriptionOrder(product.id, "Dissolve 1 packet in water and drink once.", "1", 0)
    with db.unit_of_work() as s:
        treatment.complete(
            s,
            doctor,
            visit_id,
            treatment.Completion(diagnoses=["N30.00"], plan="One dose.", minutes=8, prescriptions=[order]),
        )
    drain(db, settings)
    with db.unit_of_work() as s:
        merge.merge_patients(s, SYSTEM, survivor.patient_id, duplicate.patient_id)
    drain(db, settings)
    with db.unit_of_work() as s:
        assert [p.patient_id for p in s.scalars(select(Prescription))] == [survivor.patient_id]
