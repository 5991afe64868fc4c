"""Staff access to patient data by role AND unit: the role says what, the unit's business function where."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, decide, registry
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgUnit, UnitStatus
from careplane.kernel.units import BUSINESS_FUNCTIONS
from tests.helpers import api_token, bearer, login, make_user

READ, UPDATE, SEARCH, REGISTER, MERGE = (
    Permission.PATIENT_READ,
    Permission.PATIENT_UPDATE,
    Permission.PATIENT_SEARCH,
    Permission.PATIENT_REGISTER,
    Permission.PATIENT_MERGE,
)


def staff(role: Role, function: str | None) -> Actor:
    return Actor(
        user_id=uuid.uuid4(), label="x@example.org", roles=frozenset({role}), unit=function, unit_function=function
    )


@pytest.mark.parametrize(
    ("role", "function", "allowed"),
    [
        (Role.CLINICIAN, "virtual_care", {READ, UPDATE, SEARCH, REGISTER}),
        (Role.CLINICIAN, "primary_care", {READ, UPDATE, SEARCH, REGISTER}),
        (Role.CLINICIAN, "health_tech", set()),
        (Role.CLINICIAN, None, set()),
        (Role.PHARMACIST, "pharmacy", {READ, SEARCH}),
        (Role.PHARMACIST, "revenue_cycle", {READ, SEARCH}),
        (Role.BILLER, "revenue_cycle", {READ, SEARCH}),
        (Role.BILLER, "health_tech", set()),
        (Role.OPERATIONS_LEAD, "primary_care", {READ, UPDATE, SEARCH, REGISTER, MERGE}),
        (Role.OPERATIONS_LEAD, "pharmacy", {READ, UPDATE, SEARCH}),
        (Role.OPERATIONS_LEAD, "benefits", {READ, SEARCH, REGISTER}),
        (Role.OPERATIONS_LEAD, "health_tech", set()),
        (Role.EMPLOYER_ADMIN, "benefits", set()),
    ],
)
def test_patient_permissions_are_what_the_role_grants_within_the_units_work(role, function, allowed):
    actor = staff(role, function)
    held = {p for p in (READ, UPDATE, SEARCH, REGISTER, MERGE) if actor.can(p)}
    assert held == allowed


def test_every_business_function_says_what_patient_work_it_does():
    assert set(registry().function_permissions) == set(BUSINESS_FUNCTIONS)


def test_permissions_that_touch_no_patient_follow_the_role_wherever_the_person_works():
    lead = staff(Role.OPERATIONS_LEAD, "health_tech")
    assert lead.can(Permission.ORG_MANAGE) and lead.can(Permission.AUDIT_READ) and lead.can(Permission.OPERATIONS)
    assert staff(Role.ADMINISTRATOR, None).can(Permission.USER_MANAGE)


def test_a_refusal_by_unit_says_so_and_one_by_role_names_the_role():
    assert decide(staff(Role.CLINICIAN, "health_tech"), READ, uuid.uuid4()) == (
        "patient.read is not part of the work of unit health_tech"
    )
    assert "lack patient.update" in decide(staff(Role.BILLER, "revenue_cycle"), UPDATE, uuid.uuid4())


def test_a_patient_is_still_limited_to_their_own_record():
    me = uuid.uuid4()
    patient = Actor(user_id=uuid.uuid4(), label="p", roles=frozenset({Role.PATIENT}), patient_id=me)
    assert decide(patient, READ, me) is None
    assert decide(patient, READ, uuid.uuid4()) == "patients may access only their own record"


# ---------------------------------------------------------------- through the API and pages


def _denied_reasons(db, user_id) -> list[str]:  # noqa: ANN001
    with db.unit_of_work() as s:
        return list(
            s.scalars(
                select(AuditEntry.reason).where(AuditEntry.actor_user_id == user_id, AuditEntry.outcome == "denied")
            )
        )


def _move(db, user_id, unit: str | None) -> None:  # noqa: ANN001
    with db.unit_of_work() as s:
        s.execute(update(User).where(User.id == user_id).values(unit=unit))


def test_a_clinician_outside_clinical_units_is_refused_and_audited_then_allowed_once_moved(client, db, register):
    patient = register()
    doc = make_user(db, role=Role.CLINICIAN, unit="health_tech")
    headers = bearer(api_token(db, doc))

    refused = client.get(f"/api/v1/patients/{patient.id}", headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert _denied_reasons(db, doc.id) == ["patient.read is not part of the work of unit health_tech"]

    _move(db, doc.id, "virtual_care")  # no restart, no cache: the next request sees it
    assert client.get(f"/api/v1/patients/{patient.id}", headers=headers).status_code == 200

    _move(db, doc.id, None)
    assert client.get(f"/api/v1/patients/{patient.id}", headers=headers).status_code == 403


def test_a_unit_created_later_grants_what_its_function_does_and_nothing_once_merged_away(client, db, register):
    patient = register()
    with db.unit_of_work() as s:
        s.add(
            OrgUnit(
                code="care_navigation", name="Care Navigation", function="primary_care", effective_from=clock.today()
            )
        )
    nurse = make_user(db, role=Role.CLINICIAN, unit="care_navigation")
    headers = bearer(api_token(db, nurse))
    assert client.get(f"/api/v1/patients/{patient.id}", headers=headers).status_code == 200

    with db.unit_of_work() as s:
        s.execute(update(OrgUnit).where(OrgUnit.code == "care_navigation").values(status=UnitStatus.MERGED.value))
    assert client.get(f"/api/v1/patients/{patient.id}", headers=headers).status_code == 403


def test_a_seeded_unit_without_a_function_grants_nothing(client, db, register):
    patient = register()
    with db.unit_of_work() as s:
        s.add(OrgUnit(code="pharmacy", name="Pharmacy", function=None, effective_from=clock.today()))
    rph = make_user(db, role=Role.PHARMACIST, unit="pharmacy")
    assert client.get(f"/api/v1/patients/{patient.id}", headers=bearer(api_token(db, rph))).status_code == 403


def test_pages_follow_the_unit_too(client, db, register):
    patient = register()
    rph = login(client, db, role=Role.PHARMACIST, unit="health_tech")
    assert client.get(f"/patients/{patient.id}").status_code == 403
    assert client.get("/patients?q=smith").status_code == 403
    home = client.get("/")
    assert 'href="/patients"' not in home.text  # no navigation to what would be refused
    _move(db, rph.id, "pharmacy")
    assert client.get(f"/patients/{patient.id}").status_code == 200
    assert 'href="/patients"' in client.get("/").text
