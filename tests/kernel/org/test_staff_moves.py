"""Moving a staff member to another home unit: the rules, the history of both units, the audit entry,
and the locks that keep a concurrent merge or hire from leaving anyone in a merged unit."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date

import pytest
from sqlalchemy import func, or_, select, text, update

from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.db import Database
from careplane.kernel.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgChange, OrgUnit, StaffMember, StaffStatus, UnitStatus
from careplane.kernel.org.staff import service as staff_service
from careplane.kernel.org.structure import service as structure
from tests.kernel.org.test_departures import START, make_org, make_staff

OPS = Actor(
    user_id=uuid.uuid4(),
    label="ops@example.org",
    roles=frozenset({Role.OPERATIONS_LEAD}),
    unit="primary_care",
    unit_function="primary_care",
)
CLINICIAN = Actor(
    user_id=uuid.uuid4(),
    label="doc@example.org",
    roles=frozenset({Role.CLINICIAN}),
    unit="virtual_care",
    unit_function="virtual_care",
)


def unit_of(db: Database, user_id: uuid.UUID) -> str | None:
    with db.unit_of_work() as s:
        return s.scalar(select(User.unit).where(User.id == user_id))


def unit_id(db: Database, code: str) -> uuid.UUID:
    with db.unit_of_work() as s:
        return s.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


def move(db: Database, staff_id: uuid.UUID, code: str | None, actor: Actor = OPS, **kw) -> OrgChange:  # noqa: ANN003
    with db.unit_of_work() as s:
        return staff_service.move_staff(s, actor, staff_id, code, **kw)


def test_a_move_changes_the_home_unit_and_is_in_both_units_history_and_the_audit_log(db):
    make_org(db)
    user, staff = make_staff(db, Role.PHARMACIST, name="Dana Diaz")
    assert unit_of(db, user.id) == "pharmacy"

    change = move(db, staff.id, "health_tech", effective_on=date(2026, 3, 1))

    assert unit_of(db, user.id) == "health_tech"
    assert change.summary == (
        "Dana Diaz moved from Pharmacy to Health Technology (kind of work: Health "
        "Technology); they may now open no patient records"
    )
    units = [unit_id(db, c) for c in ("pharmacy", "health_tech")]
    with db.unit_of_work() as s:
        pharmacy, health_tech = (structure.history(s, OPS, unit_id=u) for u in units)
        assert [c.kind for c in pharmacy] == [c.kind for c in health_tech] == ["staff.moved"]
        entry = health_tech[0]
        assert entry.effective_on == date(2026, 3, 1) and entry.actor_label == "ops@example.org"
        assert entry.details == {
            "staff_id": str(staff.id),
            "user_id": str(user.id),
            "name": "Dana Diaz",
            "from_code": "pharmacy",
            "from_name": "Pharmacy",
            "from_function": "pharmacy",
            "to_code": "health_tech",
            "to_name": "Health Technology",
            "to_function": "health_tech",
            "roles": ["pharmacist"],
            "patient_access": [],
        }
        audit = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "org.staff.update", AuditEntry.resource_id == str(staff.id))
        ).all()
        assert [(a.outcome, a.reason, a.actor_label) for a in audit] == [
            ("allowed", "moved from unit pharmacy to health_tech", "ops@example.org")
        ]


def test_the_summary_says_what_the_person_may_open_in_the_new_unit(db):
    make_org(db)
    _, tech = make_staff(db, Role.PHARMACIST, name="Pat Moreno")
    move(db, tech.id, "health_tech")
    back = move(db, tech.id, "revenue_cycle")
    assert back.summary == (
        "Pat Moreno moved from Health Technology to Revenue Cycle (kind of work: Revenue "
        "Cycle); they may now find and read patient records"
    )
    assert back.details["patient_access"] == ["patient.search", "patient.read"]


def test_someone_without_a_home_unit_gets_one(db):
    make_org(db)
    user, staff = make_staff(db, Role.BILLER, name="Ola Nowak")
    with db.unit_of_work() as s:
        s.execute(update(User).where(User.id == user.id).values(unit=None))
    change = move(db, staff.id, "revenue_cycle")
    assert unit_of(db, user.id) == "revenue_cycle"
    assert change.summary.startswith("Ola Nowak moved from no unit to Revenue Cycle")
    assert change.unit_id is None and change.other_unit_id == unit_id(db, "revenue_cycle")
    assert change.details["from_code"] is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "Choose the unit they move to."),
        ("nowhere", "No active unit with the code 'nowhere'."),
        ("pharmacy", "Test Pharmacist already works in Pharmacy."),
        ("benefits", "Employer Benefits is merged; choose an active unit."),
    ],
)
def test_the_unit_must_be_another_active_one(db, code, message):
    make_org(db)
    with db.unit_of_work() as s:
        s.execute(update(OrgUnit).where(OrgUnit.code == "benefits").values(status=UnitStatus.MERGED.value))
    user, staff = make_staff(db, Role.PHARMACIST)
    with pytest.raises(ValidationFailed) as refused:
        move(db, staff.id, code)
    assert refused.value.errors == {"unit": message}
    assert unit_of(db, user.id) == "pharmacy"
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(OrgChange)) == 0
        assert (
            s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "org.staff.update")) == 0
        )


def test_the_effective_date_cannot_be_before_they_started_or_the_unit_began(db):
    make_org(db)
    _, staff = make_staff(db, Role.PHARMACIST)
    with pytest.raises(ValidationFailed) as early:
        move(db, staff.id, "health_tech", effective_on=date(2019, 12, 31))
    assert early.value.errors == {"effective_on": f"Choose a date on or after {START.isoformat()}, when they started."}
    with db.unit_of_work() as s:
        s.add(
            OrgUnit(
                code="care_navigation", name="Care Navigation", function="primary_care", effective_from=date(2026, 1, 1)
            )
        )
    with pytest.raises(ValidationFailed) as before_unit:
        move(db, staff.id, "care_navigation", effective_on=date(2025, 6, 1))
    assert before_unit.value.errors == {
        "effective_on": "Choose a date on or after 2026-01-01, when Care Navigation began."
    }


def test_a_departed_person_cannot_be_moved(db):
    make_org(db)
    user, staff = make_staff(db, Role.PHARMACIST, name="Lee Leaver")
    with db.unit_of_work() as s:
        row = s.get(StaffMember, staff.id)
        row.status, row.end_date = StaffStatus.DEPARTED.value, date(2025, 5, 31)
    with pytest.raises(Conflict) as refused:
        move(db, staff.id, "health_tech")
    assert refused.value.detail == (
        "Lee Leaver has left (offboarded on 2025-05-31); a departed staff member cannot be moved to another unit."
    )
    assert unit_of(db, user.id) == "pharmacy"


def test_only_org_managers_move_people_and_unknown_staff_is_not_found(db):
    make_org(db)
    user, staff = make_staff(db, Role.PHARMACIST)
    with pytest.raises(AccessDenied):
        move(db, staff.id, "health_tech", actor=CLINICIAN)
    assert unit_of(db, user.id) == "pharmacy"
    with pytest.raises(NotFound):
        move(db, uuid.uuid4(), "health_tech")


# ---------------------------------------------------------------- a merge of the unit at the same time


def _wait_until_blocked(db: Database, thread: threading.Thread) -> None:
    """Until ``thread`` waits for a lock this test's transaction holds (a row lock on PostgreSQL, the
    single writer's turn on SQLite)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if db.is_postgres:
            with db.engine.connect() as conn:
                waiting = conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"
                    )
                )
            if waiting:
                return
        elif thread.is_alive():
            thread.join(0.3)
            return
        if not thread.is_alive():
            return
        time.sleep(0.02)


def _merge_while(db: Database, put_in_benefits) -> tuple[BaseException | None, bool]:  # noqa: ANN001
    """Run ``put_in_benefits(session)`` and, before it commits, start merging Employer Benefits into
    Primary Care in another thread. Returns what the merge raised and whether it had to wait."""
    ids = {u: unit_id(db, u) for u in ("benefits", "primary_care")}
    raised: list[BaseException | None] = [None]

    def merge() -> None:
        try:
            with db.unit_of_work() as s:
                structure.merge_units(s, OPS, ids["benefits"], ids["primary_care"])
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            raised[0] = exc

    thread = threading.Thread(target=merge)
    with db.unit_of_work() as s:
        put_in_benefits(s)
        s.flush()
        thread.start()
        _wait_until_blocked(db, thread)
        waited = thread.is_alive()
    thread.join(30)
    assert not thread.is_alive()
    return raised[0], waited


def _people_moved_by_the_merge(db: Database) -> list[str]:
    with db.unit_of_work() as s:
        merged = s.scalar(select(OrgChange).where(OrgChange.kind == "units.merged"))
        return merged.details["user_ids"]


def test_a_merge_of_the_unit_someone_is_moving_into_waits_and_takes_them_along(db):
    make_org(db)
    user, staff = make_staff(db, Role.BILLER)
    raised, waited = _merge_while(db, lambda s: staff_service.move_staff(s, OPS, staff.id, "benefits"))
    assert raised is None and waited, "the merge waits for the move's share lock on the unit"
    assert unit_of(db, user.id) == "primary_care"
    assert _people_moved_by_the_merge(db) == [str(user.id)]


def test_a_merge_of_the_unit_someone_is_hired_into_waits_and_takes_them_along(db):
    make_org(db)
    values = {"email": "new.hire@example.org", "display_name": "Nia Hire", "roles": ["biller"], "unit": "benefits"}
    raised, waited = _merge_while(db, lambda s: staff_service.hire(s, OPS, values))
    assert raised is None and waited, "the merge waits for the hire's share lock on the unit"
    with db.unit_of_work() as s:
        hired = s.scalar(select(User).where(User.email == "new.hire@example.org"))
        assert hired.unit == "primary_care"
    assert _people_moved_by_the_merge(db) == [str(hired.id)]


def _act_while_merging(db: Database, act) -> tuple[BaseException | None, bool]:  # noqa: ANN001
    """Merge Employer Benefits into Primary Care and, before the merge commits, start ``act(session)``
    in another thread. Returns what ``act`` raised and whether it had to wait for the merge."""
    ids = {u: unit_id(db, u) for u in ("benefits", "primary_care")}
    raised: list[BaseException | None] = [None]

    def run() -> None:
        try:
            with db.unit_of_work() as s:
                act(s)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            raised[0] = exc

    thread = threading.Thread(target=run)
    with db.unit_of_work() as s:
        structure.merge_units(s, OPS, ids["benefits"], ids["primary_care"])
        s.flush()
        thread.start()
        _wait_until_blocked(db, thread)
        waited = thread.is_alive()
    thread.join(30)
    assert not thread.is_alive()
    return raised[0], waited


def test_a_move_into_a_unit_being_merged_waits_for_the_merge_and_is_refused(db):
    make_org(db)
    user, staff = make_staff(db, Role.BILLER)
    raised, waited = _act_while_merging(db, lambda s: staff_service.move_staff(s, OPS, staff.id, "benefits"))
    assert waited
    assert isinstance(raised, ValidationFailed) and raised.errors == {
        "unit": "Employer Benefits is merged; choose an active unit."
    }
    assert unit_of(db, user.id) == "revenue_cycle"


def test_a_hire_into_a_unit_being_merged_waits_for_the_merge_and_is_refused(db):
    make_org(db)
    values = {"email": "x@example.org", "display_name": "X", "roles": ["biller"], "unit": "benefits"}
    raised, waited = _act_while_merging(db, lambda s: staff_service.hire(s, OPS, values))
    assert waited
    assert isinstance(raised, ValidationFailed) and raised.errors == {
        "unit": "No active unit with the code 'benefits'."
    }
    with db.unit_of_work() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(User)
                .where(or_(User.unit == "benefits", User.email == "x@example.org"))
            )
            == 0
        )
