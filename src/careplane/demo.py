"""The demo: one login per role, a patient who can use the portal, and a synthetic population.

``seed_demo`` is idempotent: run it again and it adds only what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyotp
from sqlalchemy import func, select

from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user, find_by_email
from careplane.kernel.org.structure import ensure_six_units
from careplane.kernel.patients import service
from careplane.kernel.patients.models import ConsentKind, Patient
from careplane.kernel.patients.synthetic import insert_synthetic_patients
from careplane.settings import Settings

DEMO_PASSWORD = "careplane-demo-pass"
DEMO_DOMAIN = "demo.careplane.test"

#: The business unit each staff role works in.
ROLE_UNITS: dict[Role, str] = {
    Role.CLINICIAN: "virtual_care",
    Role.PHARMACIST: "pharmacy",
    Role.PHARMACY_TECHNICIAN: "pharmacy",
    Role.BILLER: "revenue_cycle",
    Role.EMPLOYER_ADMIN: "benefits",
    Role.OPERATIONS_LEAD: "operations",
    Role.ADMINISTRATOR: "platform",
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


def demo_email(role: Role) -> str:
    return f"{role.value}@{DEMO_DOMAIN}"


def seed_demo(db: Database, settings: Settings, *, patients: int = 200, seed: int | None = 2026) -> list[DemoLogin]:
    """Create the demo logins and top the registry up to ``patients`` synthetic patients."""
    actor = Actor.for_system("demo-seed", via="cli")
    logins: list[DemoLogin] = []
    with db.unit_of_work() as session:
        ensure_six_units(session)
        for role in Role:
            email = demo_email(role)
            existing = find_by_email(session, email)
            if role is Role.PATIENT:
                if existing is None:
                    patient = service.register_patient(
                        session, actor, {**DEMO_PATIENT, "email": email}, confirm_not_duplicate=True,
                        consents=[ConsentKind.TREATMENT, ConsentKind.HIPAA_AUTHORIZATION, ConsentKind.TELEHEALTH],
                    )
                    create_user(session, email=email, display_name="Avery Demo", roles=[role],
                                password=DEMO_PASSWORD, patient_id=patient.id, email_verified=True)
                logins.append(DemoLogin(role, email, DEMO_PASSWORD, mfa=False, created=existing is None))
                continue
            if existing is None:
                create_user(session, email=email, display_name=f"Demo {role.label.lower()}", roles=[role],
                            password=DEMO_PASSWORD, unit=ROLE_UNITS[role], mfa_secret=pyotp.random_base32(),
                            email_verified=True)
            logins.append(DemoLogin(role, email, DEMO_PASSWORD, mfa=True, created=existing is None))
        already = session.scalar(select(func.count()).select_from(Patient)) or 0
    # the demo patient is not part of the synthetic population
    missing = max(0, patients - max(0, already - 1))
    if missing:
        insert_synthetic_patients(db, missing, seed=None if already > 1 else seed)
    return logins
