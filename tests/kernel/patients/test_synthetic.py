from sqlalchemy import func, select
from typer.testing import CliRunner

from careplane.demo import DEMO_PASSWORD, ROLE_UNITS, demo_email, seed_demo
from careplane.kernel import clock
from careplane.kernel.identity.models import User
from careplane.kernel.identity.passwords import verify_password
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.models import Consent, Patient
from careplane.kernel.patients.mrn import is_valid_mrn
from careplane.kernel.patients.synthetic import PatientFactory, insert_synthetic_patients
from careplane.kernel.patients.validation import clean_patient


def test_generator_inserts_valid_patients_with_unique_mrns_across_states(db):
    ids = insert_synthetic_patients(db, 1200, seed=11, batch_size=500)
    assert len(set(ids)) == 1200
    with db.unit_of_work() as s:
        rows = s.scalars(select(Patient)).all()
        consents = s.scalar(select(func.count()).select_from(Consent))
    assert len(rows) == 1200
    assert len({p.mrn for p in rows}) == 1200 and all(is_valid_mrn(p.mrn) for p in rows)
    assert len({p.state for p in rows}) >= 25
    assert {p.sex_at_birth for p in rows} >= {"female", "male"}
    assert {"en", "es"} <= {p.language for p in rows}
    ages = [(clock.today() - p.birth_date).days / 365.25 for p in rows]
    assert min(ages) >= 0 and max(ages) <= 96 and any(a < 18 for a in ages) and any(a > 65 for a in ages)
    assert consents >= 2 * 1200
    # every generated record passes the same rules as a registration
    fields = (
        "given_name",
        "family_name",
        "birth_date",
        "sex_at_birth",
        "state",
        "postal_code",
        "phone",
        "email",
        "language",
        "preferred_channel",
    )
    for p in rows[:200]:
        clean_patient({f: getattr(p, f) for f in fields})


def test_same_seed_same_people():
    now = clock.now()
    a, b = PatientFactory(5), PatientFactory(5)
    rows_a = [a.patient_row(now) for _ in range(20)]
    rows_b = [b.patient_row(now) for _ in range(20)]
    assert rows_a == rows_b
    assert [r["family_name"] for r in rows_a] != [
        r["family_name"] for r in (PatientFactory(6).patient_row(now) for _ in range(20))
    ]


def test_demo_seed_is_idempotent_and_has_every_role(db, settings):
    logins = seed_demo(db, settings, patients=30)
    assert {login.role for login in logins} == set(Role)
    again = seed_demo(db, settings, patients=30)
    assert not any(login.created for login in again)
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 31
        users = {u.email: u for u in s.scalars(select(User)).unique()}
    for role in Role:
        user = users[demo_email(role)]
        assert verify_password(user.password_hash, DEMO_PASSWORD)
        if role is Role.PATIENT:
            assert user.patient_id is not None and user.mfa_secret is None
        else:
            assert user.mfa_enabled and user.mfa_secret and user.unit == ROLE_UNITS[role]


def test_seed_command(db, monkeypatch):
    from careplane.cli import app
    from careplane.settings import get_settings

    monkeypatch.setenv("CAREPLANE_DATABASE_URL", db.url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["seed", "--patients", "50", "--seed", "3"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "added 50 synthetic patients" in result.output
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 50
