"""Staff services: hiring with NPI/DEA/credentials rules, team memberships, licences, permissions."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.db import Database
from careplane.kernel.errors import AccessDenied, NotFound, ValidationFailed
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from careplane.kernel.mail import OutboxMail
from careplane.kernel.org.models import Licence, OrgUnit, StaffMember, Team, TeamMembership
from careplane.kernel.org.staff import service as staff_service
from careplane.kernel.work.models import WorkItem, WorkQueue

OPS = Actor(
    user_id=uuid.uuid4(),
    label="ops@example.org",
    roles=frozenset({Role.OPERATIONS_LEAD}),
    unit="primary_care",
    unit_function="primary_care",
)
ADMIN = Actor(
    user_id=uuid.uuid4(),
    label="admin@example.org",
    roles=frozenset({Role.ADMINISTRATOR}),
    unit="health_tech",
    unit_function="health_tech",
)
CLINICIAN = Actor(
    user_id=uuid.uuid4(),
    label="doc@example.org",
    roles=frozenset({Role.CLINICIAN}),
    unit="virtual_care",
    unit_function="virtual_care",
)

NPI_A = "1234567893"
NPI_B = "1245319599"  # valid (CMS example)


# ---------------------------------------------------------------- helpers other staff tests import


def units_and_teams(db: Database) -> dict[str, uuid.UUID]:
    """Two units with a team each (independent of the restructuring module): returns names -> ids."""
    start = date(2020, 1, 1)
    with db.unit_of_work() as s:
        vc = OrgUnit(code="virtual_care", name="Virtual Care", function="virtual_care", effective_from=start)
        ph = OrgUnit(code="pharmacy", name="Pharmacy", function="pharmacy", effective_from=start)
        rc = OrgUnit(code="revenue_cycle", name="Revenue Cycle", function="revenue_cycle", effective_from=start)
        s.add_all([vc, ph, rc])
        s.flush()
        west = Team(name="Async West", unit_id=vc.id, effective_from=start)
        verify = Team(name="Verification", unit_id=ph.id, effective_from=start)
        s.add_all([west, verify])
        s.flush()
        return {"virtual_care": vc.id, "pharmacy": ph.id, "Async West": west.id, "Verification": verify.id}


def hire(db: Database, actor: Actor = OPS, **values) -> StaffMember:  # noqa: ANN003
    defaults = {
        "email": f"doc-{uuid.uuid4().hex[:6]}@example.org",
        "display_name": "Dana Brown, MD",
        "roles": ["clinician"],
        "credentials": ["MD"],
        "start_date": "2024-01-02",
    }
    with db.unit_of_work() as s:
        return staff_service.hire(s, actor, {**defaults, **values})


def licence(
    db: Database,
    staff_id: uuid.UUID,
    state: str,
    kind: str,
    expires_on: date,
    number: str | None = None,
    issued_on: date | None = None,
) -> Licence:
    with db.unit_of_work() as s:
        return staff_service.add_licence(
            s,
            OPS,
            staff_id,
            {
                "state": state,
                "kind": kind,
                "number": number or f"{kind}-{uuid.uuid4().hex[:8]}",
                "expires_on": expires_on,
                "issued_on": issued_on,
            },
        )


# ---------------------------------------------------------------- hiring


def test_hire_creates_login_staff_record_team_membership_and_audit(db):
    ids = units_and_teams(db)
    staff = hire(
        db,
        email="Dana@Example.org",
        npi=NPI_A,
        credentials="md; DO",
        unit="virtual_care",
        team="async west",
        dea_number="AB1234563",
        dea_expires_on="2027-01-31",
    )
    with db.unit_of_work() as s:
        row = s.get(StaffMember, staff.id)
        assert row.user.email == "dana@example.org" and row.user.roles == {Role.CLINICIAN}
        assert row.user.unit == "virtual_care" and row.user.password_hash is None
        assert (row.npi, row.credentials, row.dea_number) == (NPI_A, ["MD", "DO"], "AB1234563")
        assert row.start_date == date(2024, 1, 2) and row.dea_expires_on == date(2027, 1, 31)
        [membership] = row.memberships
        assert membership.team_id == ids["Async West"] and membership.start_date == date(2024, 1, 2)
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "org.staff.create", AuditEntry.resource_id == str(staff.id))
            )
            == 1
        )


def test_hire_with_settings_invites_the_new_login(db, settings):
    with db.unit_of_work() as s:
        staff_service.hire(
            s, OPS, {"email": "new@example.org", "display_name": "Nico Tech", "roles": ["biller"]}, settings=settings
        )
    with db.unit_of_work() as s:
        mail = s.scalars(select(OutboxMail).where(OutboxMail.to_address == "new@example.org")).one()
        assert "/password/reset/" in mail.body


def test_hire_links_an_existing_staff_login_and_adds_the_role(db):
    with db.unit_of_work() as s:
        create_user(s, email="tech@example.org", display_name="Tess Tech", roles=[Role.PHARMACY_TECHNICIAN])
    staff = hire(
        db, email="tech@example.org", display_name="Tess Tech", roles="pharmacist", npi=NPI_B, credentials=["PharmD"]
    )
    with db.unit_of_work() as s:
        assert s.get(StaffMember, staff.id).user.roles == {Role.PHARMACY_TECHNICIAN, Role.PHARMACIST}
        assert s.scalar(select(func.count()).select_from(User)) == 1


def test_every_bad_field_is_reported_at_once(db):
    with pytest.raises(ValidationFailed) as caught:
        hire(
            db,
            email="not-an-email",
            display_name=" ",
            roles="clinician;astronaut",
            credentials="MD;XYZ",
            npi="1234567890",
            dea_number="AB1234564",
            start_date="2024-13-01",
        )
    assert set(caught.value.errors) >= {
        "email",
        "display_name",
        "roles",
        "credentials",
        "npi",
        "dea_number",
        "dea_expires_on",
        "start_date",
    }
    assert "check digit" in caught.value.errors["npi"]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"npi": ""}, "npi", "need their 10-digit NPI"),
        ({"roles": "pharmacist", "credentials": "RPh", "npi": None}, "npi", "NPI"),
        ({"npi": NPI_A, "end_date": "2023-12-31"}, "end_date", "before the start"),
        (
            {"roles": "biller", "credentials": "CPC", "dea_number": "AB1234563", "dea_expires_on": "2027-01-01"},
            "dea_number",
            "prescribing clinicians",
        ),
        ({"roles": "patient"}, "roles", "not a role of an employee"),
        ({"roles": "employer_admin"}, "roles", "not a role of an employee"),
        ({"npi": NPI_A, "team": "Async West"}, "team", "unit"),
    ],
)
def test_hire_rules(db, values, field, message):
    with pytest.raises(ValidationFailed) as caught:
        hire(db, **values)
    assert message in caught.value.errors[field]


def test_npi_and_email_are_unique_and_units_must_exist(db):
    units_and_teams(db)
    first = hire(db, npi=NPI_A)
    with db.unit_of_work() as s:
        email = s.get(StaffMember, first.id).user.email
    with pytest.raises(ValidationFailed) as caught:
        hire(
            db,
            email=email,
            npi=NPI_A,
            unit="space_force",
        )
    assert caught.value.errors["npi"] == "Another staff member already has this NPI."
    assert "already has a staff record" in caught.value.errors["email"]
    assert "No active unit" in caught.value.errors["unit"]
    with pytest.raises(ValidationFailed) as caught:
        hire(db, npi=NPI_B, unit="pharmacy", team="Async West")
    assert "no team called" in caught.value.errors["team"]


def test_only_org_managers_hire_and_only_admins_give_privileged_roles(db):
    with pytest.raises(AccessDenied):
        hire(db, actor=CLINICIAN, npi=NPI_A)
    with pytest.raises(ValidationFailed) as caught:
        hire(db, roles="operations_lead")
    assert "administrator" in caught.value.errors["roles"]
    assert hire(db, actor=ADMIN, roles="operations_lead", credentials="").user_id
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(StaffMember)) == 1


def test_update_staff_changes_only_what_is_allowed(db):
    staff = hire(db, npi=NPI_A)
    with db.unit_of_work() as s:
        staff_service.update_staff(
            s, OPS, staff.id, {"credentials": "MD;PA", "dea_number": "AB1234563", "dea_expires_on": "2026-12-31"}
        )
    with db.unit_of_work() as s:
        row = s.get(StaffMember, staff.id)
        assert row.credentials == ["MD", "PA"] and row.dea_number == "AB1234563"
        with pytest.raises(ValidationFailed):
            staff_service.update_staff(s, OPS, staff.id, {"npi": "1234567890"})
        with pytest.raises(ValidationFailed):
            staff_service.update_staff(s, OPS, staff.id, {"email": "x@example.org"})
        with pytest.raises(AccessDenied):
            staff_service.update_staff(s, CLINICIAN, staff.id, {"credentials": "MD"})


# ---------------------------------------------------------------- teams


def test_join_and_leave_team_with_dates(db):
    ids = units_and_teams(db)
    staff = hire(db, npi=NPI_A)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed, match="before they start"):
        staff_service.join_team(s, OPS, staff.id, ids["Verification"], date(2023, 1, 1))
    with db.unit_of_work() as s:
        membership = staff_service.join_team(s, OPS, staff.id, ids["Verification"], date(2024, 3, 1))
    with db.unit_of_work() as s, pytest.raises(ValidationFailed, match="already in the team"):
        staff_service.join_team(s, OPS, staff.id, ids["Verification"], date(2024, 4, 1))
    with db.unit_of_work() as s, pytest.raises(ValidationFailed, match="before they joined"):
        staff_service.leave_team(s, OPS, staff.id, membership.id, date(2024, 2, 1))
    with db.unit_of_work() as s:
        staff_service.leave_team(s, OPS, staff.id, membership.id, date(2024, 6, 30))
    with db.unit_of_work() as s:
        assert s.get(TeamMembership, membership.id).end_date == date(2024, 6, 30)
        with pytest.raises(ValidationFailed, match="already left"):
            staff_service.leave_team(s, OPS, staff.id, membership.id)
        with pytest.raises(AccessDenied):
            staff_service.join_team(s, CLINICIAN, staff.id, ids["Verification"])


# ---------------------------------------------------------------- licences


def test_add_and_renew_licence(db):
    staff = hire(db, npi=NPI_A)
    added = licence(db, staff.id, "ny", "md", date(2026, 3, 31), number="md-123", issued_on=date(2024, 4, 1))
    assert (added.state, added.kind, added.number) == ("NY", "MD", "MD-123")
    with db.unit_of_work() as s:
        with pytest.raises(ValidationFailed) as caught:
            staff_service.add_licence(
                s, OPS, staff.id, {"state": "NY", "kind": "MD", "number": "MD-123", "expires_on": "2027-01-01"}
            )
        assert "already on record" in caught.value.errors["number"]
    with db.unit_of_work() as s:
        with pytest.raises(ValidationFailed) as caught:
            staff_service.renew_licence(s, OPS, staff.id, added.id, {"expires_on": "2026-03-31"})
        assert "after the current expiry" in caught.value.errors["expires_on"]
    with db.unit_of_work() as s:
        staff_service.renew_licence(s, OPS, staff.id, added.id, {"expires_on": "2028-03-31", "issued_on": "2026-03-01"})
    with db.unit_of_work() as s:
        row = s.get(Licence, added.id)
        assert (row.expires_on, row.issued_on) == (date(2028, 3, 31), date(2026, 3, 1))
        with pytest.raises(AccessDenied):
            staff_service.renew_licence(s, CLINICIAN, staff.id, added.id, {"expires_on": "2029-01-01"})
        with pytest.raises(NotFound):
            staff_service.add_licence(s, OPS, uuid.uuid4(), {})


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"state": "XX"}, "state"),
        ({"state": ""}, "state"),
        ({"kind": "Wizard"}, "kind"),
        ({"number": ""}, "number"),
        ({"expires_on": ""}, "expires_on"),
        ({"expires_on": "31/12/2026"}, "expires_on"),
        ({"issued_on": "2027-01-01"}, "issued_on"),
    ],
)
def test_licence_rules(db, values, field):
    staff = hire(db, npi=NPI_A)
    good = {"state": "CA", "kind": "MD", "number": "A12345", "expires_on": "2026-12-31"}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as caught:
        staff_service.add_licence(s, OPS, staff.id, {**good, **values})
    assert field in caught.value.errors


def test_expiry_state_is_inclusive_of_the_expiry_day():
    today = date(2026, 5, 1)
    assert staff_service.expiry_state(today, today) == ("expiring", 0)
    assert staff_service.expiry_state(today - timedelta(days=1), today) == ("expired", -1)
    assert staff_service.expiry_state(today + timedelta(days=60), today) == ("expiring", 60)
    assert staff_service.expiry_state(today + timedelta(days=61), today) == ("ok", 61)
    assert (
        staff_service.worst_expiry([today + timedelta(days=90), today - timedelta(days=3), None], today)[0] == "expired"
    )


def test_open_work_counts_by_queue(db):
    ids = units_and_teams(db)
    staff = hire(db, npi=NPI_A)
    with db.unit_of_work() as s:
        q1 = WorkQueue(name="Async visits", team_id=ids["Async West"])
        q2 = WorkQueue(name="Verify", team_id=ids["Verification"])
        s.add_all([q1, q2])
        s.flush()
        s.add_all([WorkItem(queue_id=q1.id, kind="visit", title=f"v{i}", assignee_staff_id=staff.id) for i in range(3)])
        s.add(WorkItem(queue_id=q1.id, kind="visit", title="done", assignee_staff_id=staff.id, status="done"))
        s.add(WorkItem(queue_id=q2.id, kind="verify", title="rx", assignee_staff_id=staff.id))
        s.add(WorkItem(queue_id=q2.id, kind="verify", title="someone else's"))
    with db.unit_of_work() as s:
        counts = staff_service.open_work(s, CLINICIAN, staff.id)
    assert [(c.team, c.queue, c.count) for c in counts] == [
        ("Async West", "Async visits", 3),
        ("Verification", "Verify", 1),
    ]


def test_list_staff_filters_by_unit_and_role(db):
    ids = units_and_teams(db)
    doc = hire(db, npi=NPI_A, unit="virtual_care")
    pharmacist = hire(db, roles="pharmacist", credentials="RPh", npi=NPI_B, display_name="Pat Pharm")
    with db.unit_of_work() as s:
        s.add(TeamMembership(team_id=ids["Verification"], staff_id=pharmacist.id, start_date=date(2024, 1, 2)))
    with db.unit_of_work() as s:
        assert [m.id for m in staff_service.list_staff(s, CLINICIAN, unit="virtual_care")] == [doc.id]
        assert [m.id for m in staff_service.list_staff(s, CLINICIAN, unit="pharmacy")] == [pharmacist.id]
        assert [m.id for m in staff_service.list_staff(s, CLINICIAN, role=Role.PHARMACIST)] == [pharmacist.id]
        assert len(staff_service.list_staff(s, CLINICIAN)) == 2
        patient = Actor(user_id=uuid.uuid4(), label="p", roles=frozenset({Role.PATIENT}))
        with pytest.raises(AccessDenied):
            staff_service.list_staff(s, patient)


def test_clock_today_is_the_default_start_date(db):
    staff = hire(db, npi=NPI_A, start_date="")
    assert staff.start_date == clock.today()


def test_demo_seed_links_demo_staff_with_npis_and_licences_once(db, settings):
    from careplane.demo import seed_demo
    from careplane.standards.npi import is_valid_npi

    seed_demo(db, settings, patients=0)
    seed_demo(db, settings, patients=0)
    with db.unit_of_work() as s:
        members = {m.user.email.split("@")[0]: m for m in s.scalars(select(StaffMember))}
        logins = {"clinician", "pharmacist", "pharmacy_technician", "biller", "operations_lead", "administrator"}
        # the units' demos add staff of their own (Virtual Care: clinicians licensed in more states)
        assert logins <= set(members) and set(members) - logins == {"maya.patel", "jordan.lee", "sam.okafor"}
        doc = members["clinician"]
        assert is_valid_npi(doc.npi) and doc.dea_number and {lic.state for lic in doc.licences} >= {"NY", "CA", "TX"}
        assert is_valid_npi(members["pharmacist"].npi)
        states = [staff_service.expiry_state(lic.expires_on)[0] for lic in doc.licences]
        assert "expired" in states and "expiring" in states
        login_staff = [members[name].id for name in logins]
        assert s.scalar(select(func.count()).select_from(Licence).where(Licence.staff_id.in_(login_staff))) == 8
