from datetime import date

import pytest
from sqlalchemy import func, select

from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients import service
from careplane.kernel.patients.models import Consent, Patient, PossibleDuplicate
from careplane.kernel.patients.service import DuplicateSuspected

from .conftest import SYSTEM, patient_data

CLINICIAN = Actor(
    user_id=None,
    label="clin@example.org",
    roles=frozenset({Role.CLINICIAN}),
    unit="virtual_care",
    unit_function="virtual_care",
)


def count(db, model, *where) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_register_assigns_mrn_normalised_names_and_consents(db):
    with db.unit_of_work() as s:
        p = service.register_patient(
            s,
            CLINICIAN,
            patient_data(given_name="Zoë", family_name="O'Brién"),
            consents=["treatment", "hipaa_authorization"],
        )
    assert p.mrn.startswith("CP") and len(p.mrn) == 11
    assert (p.given_name_norm, p.family_name_norm) == ("zoe", "obrien")
    assert p.phone == "+12125550123"
    assert count(db, Consent, Consent.patient_id == p.id) == 2
    assert count(db, AuditEntry, AuditEntry.patient_id == p.id, AuditEntry.action == "patient.register") == 1


@pytest.mark.parametrize(
    "second",
    [
        {"given_name": "Jon"},  # nickname
        {"family_name": "Smyth"},  # typo
        {"given_name": "J."},  # initial
        {"given_name": "Jonathán", "family_name": "SMITH"},  # accents and case
        {"given_name": "Robert", "family_name": "Jones"},  # same e-mail and birth date
    ],
)
def test_likely_duplicates_are_found(db, register, second):
    first = register()
    with pytest.raises(DuplicateSuspected) as caught, db.unit_of_work() as s:
        service.register_patient(s, CLINICIAN, patient_data(**second))
    candidates = caught.value.extensions["candidates"]
    assert [c["mrn"] for c in candidates] == [first.mrn]
    assert candidates[0]["birth_date"] == "1984-07-21" and candidates[0]["name"] == "Jonathan Smith"
    assert 0.9 <= candidates[0]["score"] <= 1.0 and "same date of birth" in candidates[0]["reasons"]
    assert count(db, Patient) == 1
    # showing the candidate to the clerk is recorded although the registration rolled back
    assert (
        count(
            db, AuditEntry, AuditEntry.patient_id == first.id, AuditEntry.resource_type == "patient.duplicate_candidate"
        )
        == 1
    )


@pytest.mark.parametrize(
    "second",
    [
        {"given_name": "Jon", "birth_date": date(1984, 7, 22), "email": None, "phone": None},
        {"given_name": "Maria", "family_name": "Garcia", "email": None, "phone": None},
        {"given_name": "Jane", "email": "jane@example.org", "phone": None},  # twin sister
    ],
)
def test_different_people_are_not_candidates(db, register, second):
    register()
    with db.unit_of_work() as s:
        service.register_patient(s, CLINICIAN, patient_data(**second))
    assert count(db, Patient) == 2
    assert count(db, PossibleDuplicate) == 0


def test_confirmed_registration_records_possible_duplicates_for_review(db, register):
    first = register()
    with db.unit_of_work() as s:
        second = service.register_patient(s, CLINICIAN, patient_data(given_name="Jon"), confirm_not_duplicate=True)
    with db.unit_of_work() as s:
        pairs = service.possible_duplicates(s, SYSTEM, second.id)
    assert [(d.patient_id, d.other_patient_id, d.status) for d in pairs] == [(second.id, first.id, "open")]
    assert "nickname" in pairs[0].reasons


def test_roles_without_register_permission_are_refused_and_audited(db):
    biller = Actor(
        user_id=None,
        label="biller@example.org",
        roles=frozenset({Role.BILLER}),
        unit="revenue_cycle",
        unit_function="revenue_cycle",
    )
    with pytest.raises(AccessDenied), db.unit_of_work() as s:
        service.register_patient(s, biller, patient_data())
    assert count(db, Patient) == 0
    assert count(db, AuditEntry, AuditEntry.outcome == "denied", AuditEntry.action == "patient.register") == 1


def test_patient_sees_only_own_record(db, register):
    a, b = register(), register(given_name="Maria", family_name="Garcia", email=None, phone=None)
    me = Actor(user_id=None, label="a@example.org", roles=frozenset({Role.PATIENT}), patient_id=a.id)
    with db.unit_of_work() as s:
        assert service.get_patient(s, me, a.id).mrn == a.mrn
    with pytest.raises(AccessDenied), db.unit_of_work() as s:
        service.get_patient(s, me, b.id)
    with pytest.raises(AccessDenied), db.unit_of_work() as s:
        service.search_patients(s, me, "garcia")
    assert count(db, AuditEntry, AuditEntry.outcome == "denied", AuditEntry.patient_id == b.id) == 1


def test_patient_may_change_contact_details_but_not_legal_identity(db, register):
    a = register()
    me = Actor(user_id=None, label="a@example.org", roles=frozenset({Role.PATIENT}), patient_id=a.id)
    with db.unit_of_work() as s:
        service.update_patient(s, me, a.id, {"city": "Albany", "phone": "518 555 0199"})
    with pytest.raises(ValidationFailed) as caught, db.unit_of_work() as s:
        service.update_patient(s, me, a.id, {"family_name": "Jones", "birth_date": "1990-01-01"})
    assert set(caught.value.errors) == {"family_name", "birth_date"}
    with db.unit_of_work() as s:
        p = s.get(Patient, a.id)
        assert (p.city, p.phone, p.family_name) == ("Albany", "+15185550199", "Smith")


def test_staff_rename_updates_normalised_columns(db, register):
    a = register()
    with db.unit_of_work() as s:
        service.update_patient(s, CLINICIAN, a.id, {"family_name": "Müller"})
    with db.unit_of_work() as s:
        assert [p.id for p in service.search_patients(s, CLINICIAN, "muller")] == [a.id]


def test_search_by_name_mrn_and_birth_date_audits_each_result(db, register):
    a = register()
    b = register(given_name="Joan", family_name="Smithers", birth_date=date(1990, 1, 2), email=None, phone=None)
    register(given_name="Maria", family_name="Garcia", email=None, phone=None)
    with db.unit_of_work() as s:
        assert {p.id for p in service.search_patients(s, CLINICIAN, "smith")} == {a.id, b.id}
        assert [p.id for p in service.search_patients(s, CLINICIAN, "Smith, Jon")] == [a.id]
        assert [p.id for p in service.search_patients(s, CLINICIAN, "joan smi")] == [b.id]
        assert [p.id for p in service.search_patients(s, CLINICIAN, a.mrn.lower())] == [a.id]
        assert [p.id for p in service.search_patients(s, CLINICIAN, "1990-01-02")] == [b.id]
        assert [p.id for p in service.search_patients(s, CLINICIAN, "01/02/1990")] == [b.id]
        assert service.search_patients(s, CLINICIAN, "") == []
        assert service.search_patients(s, CLINICIAN, "%_") == []  # wildcards are not special
    disclosed = count(db, AuditEntry, AuditEntry.resource_type == "patient_search_result")
    assert disclosed == 2 + 1 + 1 + 1 + 1 + 1
    assert (
        count(db, AuditEntry, AuditEntry.resource_type == "patient_search_result", AuditEntry.patient_id == a.id) == 3
    )


def test_consents_grant_and_revoke_with_dates(db, register):
    a = register()
    with db.unit_of_work() as s:
        consent = service.grant_consent(s, CLINICIAN, a.id, "telehealth")
        again = service.grant_consent(s, CLINICIAN, a.id, "telehealth")
        assert again.id == consent.id
    with db.unit_of_work() as s:
        revoked = service.revoke_consent(s, CLINICIAN, a.id, consent.id)
        assert revoked.revoked_at is not None and revoked.revoked_at >= revoked.granted_at
    with pytest.raises(Conflict), db.unit_of_work() as s:
        service.revoke_consent(s, CLINICIAN, a.id, consent.id)
    with pytest.raises(ValidationFailed), db.unit_of_work() as s:
        service.grant_consent(s, CLINICIAN, a.id, "marketing")
    with db.unit_of_work() as s:
        listed = service.list_consents(s, CLINICIAN, a.id)
        assert [(c.kind, c.active) for c in listed] == [("telehealth", False)]


def test_consent_of_another_patient_is_not_found(db, register):
    a, b = register(), register(given_name="Maria", family_name="Garcia", email=None, phone=None)
    with db.unit_of_work() as s:
        consent = service.grant_consent(s, CLINICIAN, a.id, "treatment")
    with pytest.raises(NotFound), db.unit_of_work() as s:
        service.revoke_consent(s, CLINICIAN, b.id, consent.id)


def test_emergency_contacts_and_preferences(db, register):
    a = register()
    with pytest.raises(ValidationFailed) as caught, db.unit_of_work() as s:
        service.set_emergency_contacts(s, CLINICIAN, a.id, [{"name": "", "relationship": "", "phone": "1"}])
    assert set(caught.value.errors) == {
        "emergency_contacts.0.name",
        "emergency_contacts.0.relationship",
        "emergency_contacts.0.phone",
    }
    with db.unit_of_work() as s:
        service.set_emergency_contacts(
            s, CLINICIAN, a.id, [{"name": "Ann Smith", "relationship": "spouse", "phone": "212-555-0177"}]
        )
    with pytest.raises(ValidationFailed) as caught, db.unit_of_work() as s:
        service.set_communication_preferences(
            s, CLINICIAN, a.id, preferred_channel="sms", allow_sms=False, allow_email=True, allow_phone=True
        )
    assert "preferred_channel" in caught.value.errors
    with db.unit_of_work() as s:
        service.set_communication_preferences(
            s,
            CLINICIAN,
            a.id,
            preferred_channel="sms",
            allow_sms=True,
            allow_email=False,
            allow_phone=True,
            language="es",
        )
    with db.unit_of_work() as s:
        p = service.get_patient(s, CLINICIAN, a.id, include=["contacts"])
        assert [(c.name, c.phone) for c in p.emergency_contacts] == [("Ann Smith", "+12125550177")]
        assert (p.preferred_channel, p.allow_sms, p.allow_email, p.language) == ("sms", True, False, "es")


def test_search_prefixes_with_spaces_accents_and_last_letters(db, register):
    a = register(given_name="Anna", family_name="van der Berg", email=None, phone=None)
    z = register(given_name="Zoë", family_name="Żukowska", email=None, phone=None, birth_date=date(1970, 1, 1))
    with db.unit_of_work() as s:
        assert [p.id for p in service.search_patients(s, CLINICIAN, "Anna van der")] == [a.id]
        assert [p.id for p in service.search_patients(s, CLINICIAN, "van der b, ann")] == [a.id]
        assert [p.id for p in service.search_patients(s, CLINICIAN, "zukowsk")] == [z.id]
        assert [p.id for p in service.search_patients(s, CLINICIAN, "zoe z")] == [z.id]
        assert service.search_patients(s, CLINICIAN, "vander") == []
