"""authorize() leaves an audit row whether it allows or refuses, even when the work is rolled back."""

import uuid

import pytest
from sqlalchemy import select

from careplane.kernel.access import Actor, Permission, authorize
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.errors import AccessDenied
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from tests.kernel.audit.helpers import add_patient


def test_allowed_access_writes_a_row_with_who_what_whom_where(db):
    clinician = Actor(
        user_id=uuid.uuid4(),
        label="doc@example.org",
        roles=frozenset({Role.CLINICIAN}),
        unit="virtual_care",
        unit_function="virtual_care",
        ip="10.0.0.7",
        via="web",
        request_id="req-1",
    )
    with db.unit_of_work() as s:
        patient = add_patient(s, "MRN001", "Ada", "Lovelace")
        authorize(s, clinician, Permission.PATIENT_READ, patient_id=patient.id, resource_type="patient", reason="visit")
    with db.unit_of_work() as s:
        entry = s.scalar(select(AuditEntry))
        assert (entry.actor_label, entry.actor_roles, entry.action, entry.outcome) == (
            "doc@example.org",
            "clinician",
            "patient.read",
            "allowed",
        )
        assert entry.patient_id == patient.id
        assert (entry.ip, entry.via, entry.request_id, entry.reason) == ("10.0.0.7", "web", "req-1", "visit")
        assert entry.occurred_at.tzinfo is not None
        assert entry.seq is None and entry.hash is None


def test_allowed_row_is_undone_with_the_work_it_describes(db):
    actor = Actor(
        user_id=None,
        label="ops",
        roles=frozenset({Role.OPERATIONS_LEAD}),
        unit="primary_care",
        unit_function="primary_care",
    )
    with pytest.raises(RuntimeError), db.unit_of_work() as s:
        authorize(s, actor, Permission.PATIENT_SEARCH)
        s.flush()
        raise RuntimeError("the read failed")
    with db.unit_of_work() as s:
        assert s.scalar(select(AuditEntry)) is None


def test_refused_access_is_recorded_although_the_transaction_rolls_back(db):
    with db.unit_of_work() as s:
        mine = add_patient(s, "MRN100", "Pat", "Own")
        other = add_patient(s, "MRN200", "Oth", "Er")
        user = create_user(s, email="pat@example.org", display_name="Pat", roles=[Role.PATIENT], patient_id=mine.id)
        patient_actor = Actor(
            user_id=user.id, label=user.email, roles=frozenset({Role.PATIENT}), patient_id=mine.id, ip="203.0.113.9"
        )
    with pytest.raises(AccessDenied), db.unit_of_work() as s:
        add_patient(s, "MRN999", "Should", "Vanish")  # work in the same transaction
        authorize(s, patient_actor, Permission.PATIENT_READ, patient_id=other.id, resource_type="patient")
    with db.unit_of_work() as s:
        entries = s.scalars(select(AuditEntry)).all()
        assert len(entries) == 1
        denied = entries[0]
        assert denied.outcome == "denied" and denied.patient_id == other.id
        assert denied.actor_user_id == user.id and denied.ip == "203.0.113.9"
        assert "only their own record" in denied.reason
        from careplane.kernel.patients.models import Patient

        assert s.scalar(select(Patient).where(Patient.mrn == "MRN999")) is None


def test_patient_may_read_own_record(db):
    with db.unit_of_work() as s:
        mine = add_patient(s, "MRN300", "Me", "Self")
        actor = Actor(user_id=uuid.uuid4(), label="me@example.org", roles=frozenset({Role.PATIENT}), patient_id=mine.id)
        authorize(s, actor, Permission.PATIENT_READ, patient_id=mine.id)
    with db.unit_of_work() as s:
        assert s.scalar(select(AuditEntry.outcome)) == "allowed"
