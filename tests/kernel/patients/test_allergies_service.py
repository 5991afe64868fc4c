"""The allergy list's use cases: recording, reading, changing status, "no known allergies", and who
may do each (audited, refusals too)."""

import uuid

import pytest
from sqlalchemy import select

from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients import service as registry
from careplane.kernel.patients.allergies import service
from careplane.kernel.patients.allergies.service import DuplicateAllergy
from careplane.kernel.patients.models import Patient

from .conftest import SYSTEM


def staff(role: Role, unit: str = "virtual_care", label: str = "staff@example.org") -> Actor:
    return Actor(user_id=None, label=label, roles=frozenset({role}), unit=unit, unit_function=unit)


CLINICIAN = staff(Role.CLINICIAN, label="clin@example.org")
PENICILLIN = {"substance": "Penicillin", "category": "medication", "reaction": "hives", "criticality": "high"}


def as_patient(patient_id: uuid.UUID) -> Actor:
    return Actor(user_id=None, label="me@example.org", roles=frozenset({Role.PATIENT}), patient_id=patient_id)


def audit_rows(db, patient_id, **where) -> list[AuditEntry]:  # noqa: ANN001
    with db.unit_of_work() as s:
        query = select(AuditEntry).where(
            AuditEntry.patient_id == patient_id, AuditEntry.resource_type == "patient.allergies"
        )
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        return list(s.scalars(query))


def test_record_list_and_change_status(db, register):
    p = register()
    with db.unit_of_work() as s:
        penicillin = service.record_allergy(s, CLINICIAN, p.id, PENICILLIN)
        service.record_allergy(s, CLINICIAN, p.id, {"substance": "  peanuts ", "category": "food"})
    assert (penicillin.source, penicillin.status, penicillin.recorded_by) == ("clinician", "active", "clin@example.org")
    with db.unit_of_work() as s:
        listed = service.list_allergies(s, CLINICIAN, p.id)
        assert [a.substance for a in listed] == ["Penicillin", "peanuts"]  # high criticality first
        assert listed[1].criticality == "unable-to-assess" and listed[1].reaction is None
        changed = service.update_allergy(s, CLINICIAN, p.id, penicillin.id, {"status": "inactive"})
        assert (changed.status, changed.status_changed_by) == ("inactive", "clin@example.org")
        assert changed.status_changed_at is not None
    with db.unit_of_work() as s:
        assert service.active_allergy_substances(s, CLINICIAN, p.id) == ["peanuts"]
        assert [a.status for a in service.list_allergies(s, CLINICIAN, p.id, include_inactive=True)] == [
            "active",
            "inactive",
        ]
        service.update_allergy(s, CLINICIAN, p.id, penicillin.id, {"status": "entered-in-error"})
    with db.unit_of_work() as s, pytest.raises(Conflict, match="final"):
        service.update_allergy(s, CLINICIAN, p.id, penicillin.id, {"status": "active"})


def test_a_duplicate_active_substance_is_refused_but_an_inactive_one_may_be_recorded_again(db, register):
    p = register()
    with db.unit_of_work() as s:
        first = service.record_allergy(s, CLINICIAN, p.id, PENICILLIN)
    with db.unit_of_work() as s, pytest.raises(DuplicateAllergy) as caught:
        service.record_allergy(s, CLINICIAN, p.id, {"substance": "PENICILLIN", "category": "medication"})
    assert "Penicillin is already on the active allergy list" in caught.value.errors["substance"]
    assert caught.value.status == 409 and caught.value.extensions["allergy_id"] == str(first.id)
    with db.unit_of_work() as s:
        service.update_allergy(s, CLINICIAN, p.id, first.id, {"status": "inactive"})
        again = service.record_allergy(s, CLINICIAN, p.id, {"substance": "penicillin", "category": "medication"})
    with db.unit_of_work() as s, pytest.raises(DuplicateAllergy):  # two active Penicillin entries never
        service.update_allergy(s, CLINICIAN, p.id, first.id, {"status": "active"})
    assert again.substance == "penicillin"


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {"substance", "category"}),
        ({"substance": "x" * 121, "category": "drug"}, {"substance", "category"}),
        ({"substance": "Latex", "category": "environment", "criticality": "severe"}, {"criticality"}),
        ({"substance": "Latex", "category": "environment", "reaction": "r" * 201}, {"reaction"}),
        ({"substance": "Latex", "category": "food", "source": "neighbour", "colour": "red"}, {"source", "colour"}),
    ],
)
def test_bad_input_names_every_field_at_once(db, register, data, fields):
    p = register()
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as caught:
        service.record_allergy(s, CLINICIAN, p.id, data)
    assert set(caught.value.errors) == fields


def test_bad_changes_are_field_errors_and_unknown_entries_not_found(db, register):
    p = register()
    other = register(given_name="Maria", family_name="Garcia", email=None, phone=None)
    with db.unit_of_work() as s:
        entry = service.record_allergy(s, CLINICIAN, p.id, PENICILLIN)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as caught:
        service.update_allergy(s, CLINICIAN, p.id, entry.id, {"status": "gone", "substance": "Sulfa"})
    assert set(caught.value.errors) == {"status", "substance"}
    with db.unit_of_work() as s, pytest.raises(NotFound):  # an entry of another patient is not on this list
        service.update_allergy(s, CLINICIAN, other.id, entry.id, {"status": "inactive"})
    with db.unit_of_work() as s, pytest.raises(NotFound):
        service.list_allergies(s, CLINICIAN, uuid.uuid4())


def test_no_known_allergies_is_distinct_from_not_recorded(db, register):
    p = register()
    with db.unit_of_work() as s:
        assert service.read_allergy_list(s, CLINICIAN, p.id).assessment == "not-recorded"
        listed = service.record_no_known_allergies(s, CLINICIAN, p.id)
    assert listed.assessment == "no-known-allergies" and listed.no_known_allergies_by == "clin@example.org"
    with db.unit_of_work() as s:
        assert service.read_allergy_list(s, CLINICIAN, p.id).assessment == "no-known-allergies"
        service.record_allergy(s, CLINICIAN, p.id, PENICILLIN)  # clears the statement
    with db.unit_of_work() as s:
        listed = service.read_allergy_list(s, CLINICIAN, p.id)
        assert listed.assessment == "allergies" and listed.no_known_allergies_at is None
    with db.unit_of_work() as s, pytest.raises(Conflict, match=r"active allergies \(Penicillin\)"):
        service.record_no_known_allergies(s, CLINICIAN, p.id)


def test_a_patient_reads_and_adds_their_own_but_changes_no_status(db, register):
    p = register()
    me = as_patient(p.id)
    with db.unit_of_work() as s:
        own = service.record_allergy(s, me, p.id, {"substance": "Sulfa", "category": "medication"})
        assert own.source == "patient-reported"
        assert service.active_allergy_substances(s, me, p.id) == ["Sulfa"]
        assert not service.may_change_status(me, p.id) and service.may_change_status(CLINICIAN, p.id)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as caught:
        service.record_allergy(s, me, p.id, {"substance": "Latex", "category": "environment", "source": "clinician"})
    assert "patient-reported" in caught.value.errors["source"]
    with pytest.raises(AccessDenied), db.unit_of_work() as s:
        service.update_allergy(s, me, p.id, own.id, {"status": "entered-in-error"})
    denied = audit_rows(db, p.id, outcome="denied")
    assert len(denied) == 1 and "care team" in denied[0].reason
    with db.unit_of_work() as s:
        assert s.get(Patient, p.id) is not None
        assert service.active_allergy_substances(s, CLINICIAN, p.id) == ["Sulfa"]


def test_a_patient_cannot_read_or_add_to_another_patients_list_and_each_refusal_is_audited(db, register):
    a = register()
    b = register(given_name="Maria", family_name="Garcia", email=None, phone=None)
    with db.unit_of_work() as s:
        service.record_allergy(s, CLINICIAN, b.id, PENICILLIN)
    attempts = [
        lambda s: service.list_allergies(s, as_patient(a.id), b.id),
        lambda s: service.active_allergy_substances(s, as_patient(a.id), b.id),
        lambda s: service.record_allergy(s, as_patient(a.id), b.id, {"substance": "Sulfa", "category": "medication"}),
        lambda s: service.record_no_known_allergies(s, as_patient(a.id), b.id),
    ]
    for attempt in attempts:
        with pytest.raises(AccessDenied), db.unit_of_work() as s:
            attempt(s)
    assert len(audit_rows(db, b.id, outcome="denied", actor_label="me@example.org")) == len(attempts)
    with db.unit_of_work() as s:
        assert service.active_allergy_substances(s, CLINICIAN, b.id) == ["Penicillin"]


def test_staff_are_allowed_by_role_and_unit(db, register):
    p = register()
    pharmacist = staff(Role.PHARMACIST, unit="pharmacy", label="rph@example.org")
    moved = staff(Role.CLINICIAN, unit="health_tech", label="moved@example.org")
    administrator = staff(Role.ADMINISTRATOR, label="admin@example.org")
    with db.unit_of_work() as s:
        service.record_allergy(s, CLINICIAN, p.id, PENICILLIN)
        assert service.active_allergy_substances(s, pharmacist, p.id) == ["Penicillin"]  # safety checks read
    refused = [
        lambda s: service.record_allergy(s, pharmacist, p.id, {"substance": "Sulfa", "category": "medication"}),
        lambda s: service.list_allergies(s, moved, p.id),
        lambda s: service.list_allergies(s, administrator, p.id),
    ]
    for attempt in refused:
        with pytest.raises(AccessDenied), db.unit_of_work() as s:
            attempt(s)
    reasons = sorted(e.reason for e in audit_rows(db, p.id, outcome="denied"))
    assert reasons == [
        "patient.read is not part of the work of unit health_tech",
        "role(s) administrator lack patient.read",
        "role(s) pharmacist lack patient.update",
    ]


def test_every_read_and_write_is_audited(db, register):
    p = register()
    with db.unit_of_work() as s:
        entry = service.record_allergy(s, CLINICIAN, p.id, PENICILLIN)
        service.list_allergies(s, CLINICIAN, p.id)
        service.active_allergy_substances(s, CLINICIAN, p.id)
        service.update_allergy(s, CLINICIAN, p.id, entry.id, {"status": "inactive"})
    rows = audit_rows(db, p.id, outcome="allowed", actor_label="clin@example.org")
    assert sorted(r.action for r in rows) == ["patient.read", "patient.read", "patient.update", "patient.update"]
    assert {r.resource_id for r in rows if r.action == "patient.update"} == {str(entry.id)}
    assert any(r.reason == "status: inactive" for r in rows)


def test_a_merge_moves_the_allergies_and_settles_no_known_allergies(db, register):
    survivor = register()
    merged = register(given_name="Jon", email=None, phone=None)
    lead = staff(Role.OPERATIONS_LEAD, label="lead@example.org")
    with db.unit_of_work() as s:
        service.record_no_known_allergies(s, CLINICIAN, survivor.id)
        service.record_allergy(s, CLINICIAN, merged.id, PENICILLIN)
    with db.unit_of_work() as s:
        result = registry.merge_patients(s, lead, survivor.id, merged.id)
        assert result.allergies_moved == 1 and "1 allergy" in result.summary()
    with db.unit_of_work() as s:
        listed = service.read_allergy_list(s, CLINICIAN, survivor.id)
        assert [a.substance for a in listed.allergies] == ["Penicillin"] and listed.assessment == "allergies"
    with db.unit_of_work() as s, pytest.raises(Conflict):  # the merged record is read-only
        service.record_allergy(s, CLINICIAN, merged.id, {"substance": "Sulfa", "category": "medication"})
    with db.unit_of_work() as s:
        assert service.record_allergy(s, SYSTEM, survivor.id, {"substance": "Sulfa", "category": "medication"})
