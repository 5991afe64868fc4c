"""The demo: one login per role, a patient who can use the portal, and a synthetic population.

``seed_demo`` is idempotent: run it again and it adds only what is missing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import pyotp
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplane.kernel import clock, units
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user, find_by_email
from careplane.kernel.org.models import Licence, OrgUnit, StaffMember, Team, TeamMembership, UnitStatus
from careplane.kernel.org.structure.service import ensure_units, set_unit_lead
from careplane.kernel.patients import service
from careplane.kernel.patients.allergies import service as allergies
from careplane.kernel.patients.models import ConsentKind, Patient
from careplane.kernel.patients.synthetic import insert_synthetic_patients
from careplane.settings import Settings
from careplane.standards.dea import generate_dea, last_name_of
from careplane.standards.npi import generate_npi

DEMO_PASSWORD = "careplane-demo-pass"
DEMO_DOMAIN = "demo.careplane.test"

#: The business unit each demo staff member works in (their unit and role decide their access).
ROLE_UNITS: dict[Role, str] = {
    Role.CLINICIAN: "virtual_care",
    Role.PHARMACIST: "pharmacy",
    Role.PHARMACY_TECHNICIAN: "pharmacy",
    Role.BILLER: "revenue_cycle",
    Role.EMPLOYER_ADMIN: "benefits",
    Role.OPERATIONS_LEAD: "primary_care",
    Role.ADMINISTRATOR: "health_tech",
}

#: Who leads each kind of unit in the demo: the demo staff member whose work the unit does. Employer
#: Benefits' demo login is a customer (an employer admin), so the operations lead leads it, as any
#: other unit installed.
UNIT_LEADS: dict[str, Role] = {
    "virtual_care": Role.CLINICIAN,
    "primary_care": Role.OPERATIONS_LEAD,
    "pharmacy": Role.PHARMACIST,
    "revenue_cycle": Role.BILLER,
    "benefits": Role.OPERATIONS_LEAD,
    "health_tech": Role.ADMINISTRATOR,
}

DEMO_PATIENT = {
    "given_name": "Avery",
    "family_name": "Demo",
    "birth_date": date(1988, 4, 12),
    "sex_at_birth": "female",
    "preferred_name": "Avery",
    "address_line1": "100 Example Street",
    "city": "Albany",
    "state": "NY",
    "postal_code": "12207",
    "phone": "+15185550142",
    "language": "en",
}


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    password: str
    mfa: bool
    created: bool


#: The demo patient's allergy list, so the chart's banner and section show entries of both sources.
DEMO_ALLERGIES = (
    {"substance": "Penicillin", "category": "medication", "reaction": "hives", "criticality": "high"},
    {"substance": "Peanuts", "category": "food", "criticality": "low", "source": "patient-reported"},
)


def demo_email(role: Role) -> str:
    return f"{role.value}@{DEMO_DOMAIN}"


def seed_demo(db: Database, settings: Settings, *, patients: int = 200, seed: int | None = 2026) -> list[DemoLogin]:
    """Create the demo logins and top the registry up to ``patients`` synthetic patients."""
    actor = Actor.for_system("demo-seed", via="cli")
    logins: list[DemoLogin] = []
    with db.unit_of_work() as session:
        ensure_units(session)
        for role in Role:
            email = demo_email(role)
            existing = find_by_email(session, email)
            if role is Role.PATIENT:
                if existing is None:
                    patient = service.register_patient(
                        session,
                        actor,
                        {**DEMO_PATIENT, "email": email},
                        confirm_not_duplicate=True,
                        consents=[ConsentKind.TREATMENT, ConsentKind.HIPAA_AUTHORIZATION, ConsentKind.TELEHEALTH],
                    )
                    for allergy in DEMO_ALLERGIES:
                        allergies.record_allergy(session, actor, patient.id, allergy)
                    create_user(
                        session,
                        email=email,
                        display_name="Avery Demo",
                        roles=[role],
                        password=DEMO_PASSWORD,
                        patient_id=patient.id,
                        email_verified=True,
                    )
                logins.append(DemoLogin(role, email, DEMO_PASSWORD, mfa=False, created=existing is None))
                continue
            if existing is None:
                create_user(
                    session,
                    email=email,
                    display_name=f"Demo {role.label.lower()}",
                    roles=[role],
                    password=DEMO_PASSWORD,
                    unit=ROLE_UNITS[role],
                    mfa_secret=pyotp.random_base32(),
                    email_verified=True,
                )
            logins.append(DemoLogin(role, email, DEMO_PASSWORD, mfa=True, created=existing is None))
        ensure_demo_staff(session)
        for unit in units.installed():
            if unit.demo:
                units.load(unit.demo)(session, settings, random.Random(f"{seed}-{unit.code}"))
        ensure_demo_leads(session, actor)
        already = session.scalar(select(func.count()).select_from(Patient)) or 0
    # the demo patient is not part of the synthetic population
    missing = max(0, patients - max(0, already - 1))
    if missing:
        insert_synthetic_patients(db, missing, seed=None if already > 1 else seed)
    return logins


#: Demo licences per role: (state, kind, days from today to expiry). One expires soon and one has
#: expired, so the staff pages show their amber and red warnings.
DEMO_LICENCES: dict[Role, list[tuple[str, str, int]]] = {
    Role.CLINICIAN: [("NY", "MD", 700), ("NJ", "MD", 400), ("CA", "MD", 25), ("TX", "MD", -10), ("FL", "MD", 900)],
    Role.PHARMACIST: [("NY", "RPh", 500), ("NJ", "RPh", 50)],
    Role.PHARMACY_TECHNICIAN: [("NY", "CPhT", 300)],
}
DEMO_CREDENTIALS: dict[Role, list[str]] = {
    Role.CLINICIAN: ["MD"],
    Role.PHARMACIST: ["PharmD", "RPh"],
    Role.PHARMACY_TECHNICIAN: ["CPhT"],
    Role.BILLER: ["CPC"],
}


def ensure_demo_staff(session: Session) -> None:
    """Give each demo employee a staff record (NPI, DEA, licences, a team of their unit); idempotent."""
    rng = random.Random(2026)
    today = clock.today()
    for role in Role:
        user = find_by_email(session, demo_email(role))
        if user is None or role in (Role.PATIENT, Role.EMPLOYER_ADMIN):
            continue
        npi = generate_npi(rng)
        if session.scalar(select(StaffMember.id).where(StaffMember.user_id == user.id)):
            continue
        member = StaffMember(
            user_id=user.id,
            credentials=DEMO_CREDENTIALS.get(role, []),
            npi=npi if role in (Role.CLINICIAN, Role.PHARMACIST) else None,
            start_date=today - timedelta(days=365),
        )
        if role is Role.CLINICIAN:
            member.dea_number = generate_dea(last_name_of(user.display_name), rng)
            member.dea_expires_on = today + timedelta(days=800)
        session.add(member)
        session.flush()
        session.add_all(
            Licence(
                staff_id=member.id,
                state=state,
                kind=kind,
                number=f"{state}-{rng.randrange(10**6, 10**7)}",
                issued_on=today + timedelta(days=days - 730),
                expires_on=today + timedelta(days=days),
            )
            for state, kind, days in DEMO_LICENCES.get(role, [])
        )
        team = session.scalar(
            select(Team)
            .join(OrgUnit, OrgUnit.id == Team.unit_id)
            .where(OrgUnit.code == user.unit, Team.effective_to.is_(None))
            .order_by(Team.name)
        )
        if team is not None:
            session.add(TeamMembership(team_id=team.id, staff_id=member.id, start_date=member.start_date))


def ensure_demo_leads(session: Session, actor: Actor) -> None:
    """Give every active unit without a lead one (``UNIT_LEADS`` by its kind of work), recorded in its
    history as any change of lead is; a unit that has a lead keeps it."""
    leaderless = session.scalars(
        select(OrgUnit)
        .where(OrgUnit.status == UnitStatus.ACTIVE.value, OrgUnit.lead_staff_id.is_(None))
        .order_by(OrgUnit.name)
    )
    for unit in list(leaderless):
        user = find_by_email(session, demo_email(UNIT_LEADS.get(unit.function or "", Role.OPERATIONS_LEAD)))
        staff_id = session.scalar(select(StaffMember.id).where(StaffMember.user_id == user.id)) if user else None
        if staff_id is not None:
            set_unit_lead(session, actor, unit.id, staff_id)
