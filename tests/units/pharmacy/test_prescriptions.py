"""Prescriptions from Virtual Care to a pharmacist's decision, on both engines: received once however
often delivered, checked for allergies and duplicate therapy, claimed only by a pharmacist licensed in
the patient's state today, and decided with the reasons each decision needs, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from careplane.kernel import clock
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.errors import AccessDenied, Conflict, ValidationFailed
from careplane.kernel.events import OutboxEvent, event_type
from careplane.kernel.org.models import Licence
from careplane.kernel.work import WorkItem
from careplane.units.pharmacy import safety
from careplane.units.pharmacy.catalog import shipped
from careplane.units.pharmacy.models import Prescription
from careplane.units.pharmacy.services import receiving, verification
from careplane.units.virtual_care.events import PrescriptionSigned
from tests.kernel.org.test_handover import drain
from tests.units.pharmacy.rx_builders import pharmacist, prescriptions_of, received, signed
from tests.units.virtual_care.builders import seed


@pytest.fixture(autouse=True)
def _units(db):  # noqa: ANN001, ANN202
    seed(db)


def approve(override: str = "") -> verification.Decision:
    return verification.Decision("approve", override_reason=override)


def test_a_signed_prescription_is_received_once_however_often_it_is_delivered(db, settings):
    who = signed(db)
    assert prescriptions_of(db, who.patient_id) == []  # nothing before the worker runs
    drain(db, settings)
    with db.unit_of_work() as s:
        row = s.scalar(select(OutboxEvent).where(OutboxEvent.name == PrescriptionSigned.event_name()))
        event = event_type(row.name).from_payload(row.payload)
        again = receiving.receive(s, event)  # a second delivery of the same event
    [rx] = prescriptions_of(db, who.patient_id)
    assert again.id == rx.id
    assert rx.status == "received" and rx.source == "internal" and rx.state == "NY"
    assert rx.drug_id == "amoxicillin-500mg-cap" and rx.quantity == "21" and rx.rx_number.startswith("RX-")
    assert str(event.prescription_id) == rx.source_id
    with db.unit_of_work() as s:
        item = s.get(WorkItem, rx.work_item_id)
        assert item.queue.key == "pharmacy.verify" and item.state == "NY" and item.patient_id == rx.patient_id
        assert s.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.subject_id == str(rx.id))) == 1


def test_a_penicillin_allergic_patient_prescribed_amoxicillin_gets_a_high_alert(db, settings):
    rx = received(db, settings, allergy="Penicillin")
    assert rx.alerts == [
        {"kind": "allergy", "severity": "high", "message": "Penicillin allergy: amoxicillin is a penicillin"}
    ]


def test_no_allergy_no_alert_and_a_second_penicillin_is_duplicate_therapy():
    amoxicillin, penicillin = shipped().get("amoxicillin-500mg-cap"), shipped().get("penicillin-v-potassium-500mg-tab")
    assert amoxicillin is not None and penicillin is not None
    assert safety.findings(amoxicillin, ["Peanuts"], []) == []
    [dup] = safety.findings(amoxicillin, [], [("RX-00000001", penicillin)])
    assert dup.kind == "duplicate_therapy" and dup.severity == "moderate" and "RX-00000001" in dup.message


def test_a_pharmacist_not_licensed_in_the_patients_state_cannot_claim(db, settings):
    rx = received(db, settings)
    elsewhere = pharmacist(db, "NJ")
    with db.unit_of_work() as s, pytest.raises(AccessDenied) as refused:
        verification.claim(s, elsewhere, rx.id)
    assert "licence for NY valid today" in refused.value.detail
    technician_licence = pharmacist(db, "NY", kind="CPhT")  # a technician's licence kind does not count
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        verification.claim(s, technician_licence, rx.id)
    licensed = pharmacist(db, "NY")
    with db.unit_of_work() as s:
        verification.claim(s, licensed, rx.id)
    with db.unit_of_work() as s, pytest.raises(Conflict):
        verification.claim(s, pharmacist(db, "NY"), rx.id)


def test_approving_over_a_high_alert_needs_an_override_which_is_audited(db, settings):
    rx = received(db, settings, allergy="Penicillin")
    me = pharmacist(db, "NY")
    with db.unit_of_work() as s:
        verification.claim(s, me, rx.id)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as refused:
        verification.decide(s, me, rx.id, approve())
    assert "high-severity alert" in refused.value.errors["override_reason"]
    with db.unit_of_work() as s:
        verification.decide(s, me, rx.id, approve("Tolerated amoxicillin in 2024; reaction was a rash only."))
    with db.unit_of_work() as s:
        done = s.get(Prescription, rx.id)
        assert done.status == "verified" and done.verified_at is not None and done.reason.startswith("Tolerated")
        assert s.get(WorkItem, rx.work_item_id).status == "done"
        actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.resource_id == str(rx.id))))
        assert {"pharmacy.prescription.override", "pharmacy.prescription.approve"} <= actions
    with db.unit_of_work() as s, pytest.raises(Conflict):  # decided once
        verification.decide(s, me, rx.id, verification.Decision("reject", reason="Changed my mind"))


def test_rejecting_or_asking_the_prescriber_needs_a_reason_and_only_the_holder_decides(db, settings):
    rx = received(db, settings)
    me, other = pharmacist(db, "NY"), pharmacist(db, "NY")
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        verification.decide(s, me, rx.id, approve())  # not claimed
    with db.unit_of_work() as s:
        verification.claim(s, me, rx.id)
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        verification.decide(s, other, rx.id, verification.Decision("reject", reason="Wrong drug"))
    for action in ("reject", "contact_prescriber"):
        with db.unit_of_work() as s, pytest.raises(ValidationFailed) as refused:
            verification.decide(s, me, rx.id, verification.Decision(action, reason="  "))
        assert set(refused.value.errors) == {"reason"}
    with db.unit_of_work() as s:
        verification.decide(s, me, rx.id, verification.Decision("contact_prescriber", reason="Confirm the duration?"))
    with db.unit_of_work() as s:
        assert s.get(Prescription, rx.id).status == "contact_prescriber"
        assert s.get(WorkItem, rx.work_item_id).status == "open"
        verification.decide(s, me, rx.id, verification.Decision("reject", reason="Prescriber cancelled it."))
    with db.unit_of_work() as s:
        done = s.get(Prescription, rx.id)
        assert done.status == "rejected" and done.reason == "Prescriber cancelled it."
        assert s.get(WorkItem, rx.work_item_id).status == "done"


def test_a_licence_that_lapsed_after_the_claim_does_not_verify(db, settings):
    rx = received(db, settings)
    me = pharmacist(db, "NY")
    with db.unit_of_work() as s:
        verification.claim(s, me, rx.id)
        staff_id = s.get(WorkItem, rx.work_item_id).assignee_staff_id
        s.execute(
            update(Licence).where(Licence.staff_id == staff_id).values(expires_on=clock.today() - timedelta(days=1))
        )
    with db.unit_of_work() as s, pytest.raises(AccessDenied) as refused:
        verification.decide(s, me, rx.id, approve())
    assert "licence for NY valid today" in refused.value.detail
    with db.unit_of_work() as s:
        assert s.get(Prescription, rx.id).status == "received"
