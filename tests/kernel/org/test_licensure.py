"""Licensure queries: who may treat in a state, and whether a pharmacist may verify, on the platform date."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from careplane.kernel import clock
from careplane.kernel.identity.models import User
from careplane.kernel.org import clinicians_licensed_in, may_verify_for_state
from careplane.kernel.org.models import StaffMember, StaffStatus
from careplane.standards.npi import generate_npi
from tests.kernel.org.test_staff import NPI_A, NPI_B, hire, licence

NOON = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
TODAY = NOON.date()


def npi_n(i: int) -> str:
    return generate_npi(random.Random(i))


def _ids(db, state, on=None):  # noqa: ANN001, ANN202
    with db.unit_of_work() as s:
        return [m.id for m in clinicians_licensed_in(s, state, on)]


def test_a_licence_expiring_today_counts_today_and_not_tomorrow(db):
    clock.travel(NOON)
    doc = hire(db, npi=NPI_A, start_date="2024-01-01")
    licence(db, doc.id, "NY", "MD", expires_on=TODAY)
    assert _ids(db, "NY") == [doc.id]
    assert _ids(db, "ny") == [doc.id]
    clock.travel(NOON.replace(hour=23, minute=59))
    assert _ids(db, "NY") == [doc.id]
    # Midnight UTC: the same query, no restart, no job, and the clinician is gone.
    clock.travel(NOON + timedelta(hours=12, minutes=1))
    assert _ids(db, "NY") == []
    # Asking about a past day still answers for that day.
    assert _ids(db, "NY", on=TODAY) == [doc.id]


def test_only_active_clinicians_with_a_treating_licence_in_that_state(db):
    clock.travel(NOON)
    far = TODAY + timedelta(days=400)
    md = hire(db, npi=NPI_A, display_name="Alex Able, MD")
    np_ = hire(db, npi=npi_n(0), display_name="Bea Bright, NP", credentials="NP")
    rn_only = hire(db, npi=npi_n(1), display_name="Cal Nurse", credentials="RN")
    not_yet = hire(db, npi=npi_n(2), display_name="Dee Future, MD")
    departed = hire(db, npi=npi_n(3), display_name="Eve Gone, MD")
    inactive_login = hire(db, npi=npi_n(4), display_name="Flo Locked, MD")
    pharmacist = hire(db, roles="pharmacist", credentials="RPh", npi=NPI_B, display_name="Gus Pharm")
    ended = hire(
        db,
        npi=npi_n(5),
        display_name="Hal Ended, MD",
        end_date=(TODAY - timedelta(days=1)).isoformat(),
        start_date="2020-01-01",
    )
    licence(db, md.id, "CA", "MD", far)
    licence(db, md.id, "NY", "MD", far)
    licence(db, np_.id, "CA", "NP", far)
    licence(db, rn_only.id, "CA", "RN", far)
    licence(db, not_yet.id, "CA", "DO", far, issued_on=TODAY + timedelta(days=1))
    licence(db, departed.id, "CA", "MD", far)
    licence(db, inactive_login.id, "CA", "MD", far)
    licence(db, pharmacist.id, "CA", "RPh", far)
    licence(db, ended.id, "CA", "MD", far)
    licence(db, np_.id, "TX", "NP", TODAY - timedelta(days=1))
    with db.unit_of_work() as s:
        s.execute(update(StaffMember).where(StaffMember.id == departed.id).values(status=StaffStatus.DEPARTED.value))
        s.execute(update(User).where(User.id == inactive_login.user_id).values(is_active=False))
    assert _ids(db, "CA") == [md.id, np_.id]  # by name
    assert _ids(db, "NY") == [md.id]
    assert _ids(db, "TX") == []
    assert _ids(db, "CA", on=TODAY + timedelta(days=1)) == [md.id, np_.id, not_yet.id]
    assert _ids(db, "CA", on=date(2019, 12, 31)) == []  # before anyone started


def test_may_verify_for_state(db):
    clock.travel(NOON)
    pharmacist = hire(db, roles="pharmacist", credentials="PharmD;RPh", npi=NPI_B, display_name="Gus Pharm")
    technician = hire(db, roles="pharmacy_technician", credentials="CPhT", display_name="Tia Tech")
    doc = hire(db, npi=NPI_A)
    licence(db, pharmacist.id, "NY", "RPh", TODAY)
    licence(db, pharmacist.id, "NJ", "PharmD", TODAY + timedelta(days=300))
    licence(db, pharmacist.id, "CT", "CPhT", TODAY + timedelta(days=300))
    licence(db, technician.id, "NY", "RPh", TODAY + timedelta(days=300))  # a licence, but not the role
    licence(db, doc.id, "NY", "MD", TODAY + timedelta(days=300))
    with db.unit_of_work() as s:
        assert may_verify_for_state(s, pharmacist.id, "NY")
        assert may_verify_for_state(s, pharmacist.id, "nj")
        assert not may_verify_for_state(s, pharmacist.id, "CT")  # a technician licence
        assert not may_verify_for_state(s, pharmacist.id, "CA")
        assert not may_verify_for_state(s, technician.id, "NY")
        assert not may_verify_for_state(s, doc.id, "NY")
    clock.travel(NOON + timedelta(days=1))
    with db.unit_of_work() as s:
        assert not may_verify_for_state(s, pharmacist.id, "NY")  # expired yesterday
        assert may_verify_for_state(s, pharmacist.id, "NJ")
        s.execute(update(User).where(User.id == pharmacist.user_id).values(is_active=False))
        assert not may_verify_for_state(s, pharmacist.id, "NJ")  # access ended
