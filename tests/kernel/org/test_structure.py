"""Restructuring services: seeding, create/rename/lead, teams and queues, move, merge, split, history."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.errors import AccessDenied, ValidationFailed
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgChange, OrgUnit, StaffMember, StaffStatus, Team, TeamMembership
from careplane.kernel.org.structure import chart
from careplane.kernel.org.structure import service as structure
from careplane.kernel.units import BUSINESS_FUNCTIONS
from careplane.kernel.work.models import WorkItem, WorkItemStatus, WorkQueue
from tests.helpers import make_user

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


# ---------------------------------------------------------------- helpers other org tests import


def seed(db: Database) -> dict[str, uuid.UUID]:
    """The six units; returns code -> unit id."""
    with db.unit_of_work() as s:
        return {u.code: u.id for u in structure.ensure_units(s)}


def staff_member(
    db: Database,
    *,
    role: Role = Role.CLINICIAN,
    team_id: uuid.UUID | None = None,
    status: StaffStatus = StaffStatus.ACTIVE,
    end_date: date | None = None,
    unit: str | None = None,
) -> uuid.UUID:
    """A staff member (with a login whose home unit is ``unit``, else their role's demo unit), optionally
    in a team; returns the staff id."""
    user = make_user(db, role=role, unit=unit)
    with db.unit_of_work() as s:
        staff = StaffMember(user_id=user.id, start_date=date(2020, 1, 1), status=status.value)
        s.add(staff)
        s.flush()
        if team_id:
            s.add(TeamMembership(team_id=team_id, staff_id=staff.id, start_date=date(2020, 1, 1), end_date=end_date))
        return staff.id


def first_team(db: Database, unit_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """(team id, queue id) of a unit's first team."""
    with db.unit_of_work() as s:
        team = s.scalars(select(Team).where(Team.unit_id == unit_id).order_by(Team.name)).first()
        return team.id, team.queues[0].id


def add_items(db: Database, queue_id: uuid.UUID, open_: int, done: int = 0) -> None:
    with db.unit_of_work() as s:
        for i in range(open_ + done):
            status = WorkItemStatus.OPEN if i < open_ else WorkItemStatus.DONE
            s.add(WorkItem(queue_id=queue_id, kind="visit", title=f"Item {i}", status=status.value))


def count(db: Database, model: type) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model))


def field_errors(excinfo: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return set(excinfo.value.errors)


# ---------------------------------------------------------------- seeding


def test_six_units_seeded_once_with_first_team_and_queue(db):
    ids = seed(db)
    assert list(ids) == ["virtual_care", "primary_care", "pharmacy", "revenue_cycle", "benefits", "health_tech"]
    again = seed(db)
    assert again == ids
    assert count(db, OrgUnit) == 6 and count(db, Team) == 6 and count(db, WorkQueue) == 6
    assert count(db, OrgChange) == 6
    with db.unit_of_work() as s:
        vc = s.get(OrgUnit, ids["virtual_care"])
        assert vc.name == "Virtual Care"
        assert [(t.name, [q.name for q in t.queues]) for t in vc.teams] == [("Async visits", ["Visit queue"])]
        assert s.get(OrgUnit, ids["benefits"]).name == "Employer Benefits"
        # each seeded unit does its own code's kind of work, and its creation says so
        assert {u.code: u.function for u in s.scalars(select(OrgUnit))} == {c: c for c in ids}
        created = {c.details["code"]: c.details["function"] for c in structure.history(s, ADMIN)}
        assert created == {c: c for c in ids}


# ---------------------------------------------------------------- merge (acceptance)


def test_merge_keeps_every_team_queue_item_and_history_entry(db):
    ids = seed(db)
    pharmacy, primary = ids["pharmacy"], ids["primary_care"]
    with db.unit_of_work() as s:
        extra = structure.create_team(s, ADMIN, pharmacy, "Compounding")
        structure.create_queue(s, ADMIN, extra.id, "Compounding checks")
        extra_id = extra.id
    _, queue_id = first_team(db, pharmacy)
    add_items(db, queue_id, open_=3, done=2)
    before = {m: count(db, m) for m in (OrgUnit, Team, WorkQueue, WorkItem, OrgChange)}
    with db.unit_of_work() as s:
        pharmacy_history = len(structure.history(s, ADMIN, unit_id=pharmacy))

    with db.unit_of_work() as s:
        survivor = structure.merge_units(s, ADMIN, pharmacy, primary, effective_on=date(2031, 1, 1))
        assert survivor.id == primary

    after = {m: count(db, m) for m in (OrgUnit, Team, WorkQueue, WorkItem, OrgChange)}
    assert after == {**before, OrgChange: before[OrgChange] + 1}
    with db.unit_of_work() as s:
        merged = s.get(OrgUnit, pharmacy)
        assert (merged.status, merged.merged_into_id, merged.effective_to) == ("merged", primary, date(2031, 1, 1))
        assert s.scalar(select(func.count()).select_from(Team).where(Team.unit_id == pharmacy)) == 0
        assert {t.name for t in s.get(OrgUnit, primary).teams} == {"Care teams", "Verification", "Compounding"}
        assert s.get(Team, extra_id).queues[0].name == "Compounding checks"
        # both units' earlier history is still there, and the merge appears in both
        kept = structure.history(s, ADMIN, unit_id=pharmacy)
        assert len(kept) == pharmacy_history + 1
        merge = kept[0]
        assert merge.kind == "units.merged" and merge.actor_label == "admin@example.org"
        assert merge.effective_on == date(2031, 1, 1) and merge.other_unit_id == primary
        assert {t["name"] for t in merge.details["teams"]} == {"Verification", "Compounding"}
        assert structure.history(s, ADMIN, unit_id=primary)[0].id == merge.id
        nodes = {n.code: n for n in chart.org_chart(s, CLINICIAN)}
    assert nodes["pharmacy"].status == "merged" and nodes["pharmacy"].merged_into == (primary, "Primary Care")
    assert nodes["pharmacy"].teams == []
    assert nodes["primary_care"].open_items == 3
    assert list(nodes)[-1] == "pharmacy"  # merged units come after the active ones


def test_merge_refusals(db):
    ids = seed(db)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.merge_units(s, ADMIN, ids["pharmacy"], ids["pharmacy"])
    assert field_errors(exc) == {"into_unit_id"}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:  # the form's unit left unchosen
        structure.merge_units(s, ADMIN, ids["pharmacy"], None)
    assert exc.value.errors == {"into_unit_id": "Choose the unit to merge into."}
    with db.unit_of_work() as s:
        structure.merge_units(s, ADMIN, ids["benefits"], ids["revenue_cycle"])
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.merge_units(s, ADMIN, ids["pharmacy"], ids["benefits"])
    assert "merged" in exc.value.errors["into_unit_id"]
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.merge_units(s, ADMIN, ids["benefits"], ids["pharmacy"])
    assert field_errors(exc) == {"unit_id"}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.merge_units(s, ADMIN, ids["pharmacy"], ids["primary_care"], effective_on=date(1999, 1, 1))
    assert field_errors(exc) == {"effective_on"}
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        structure.merge_units(s, CLINICIAN, ids["pharmacy"], ids["primary_care"])
    assert count(db, OrgChange) == 7


def units_of(db: Database, user_ids) -> dict[uuid.UUID, str | None]:  # noqa: ANN001
    with db.unit_of_work() as s:
        return {i: s.get(User, i).unit for i in user_ids}


def test_merge_moves_the_merged_units_people_and_counts_them(db):
    ids = seed(db)
    pharmacists = [make_user(db, role=Role.PHARMACIST, unit="pharmacy").id for _ in range(2)]
    technician = make_user(db, role=Role.PHARMACY_TECHNICIAN, unit="pharmacy")
    with db.unit_of_work() as s:
        s.get(User, technician.id).is_active = False  # a deactivated login moves too, so none is left in a merged unit
    pharmacists.append(technician.id)
    doctor = make_user(db, role=Role.CLINICIAN, unit="primary_care").id
    biller = make_user(db, role=Role.BILLER, unit="revenue_cycle").id

    with db.unit_of_work() as s, pytest.raises(ValidationFailed):  # a refused merge moves no one
        structure.merge_units(s, ADMIN, ids["pharmacy"], ids["pharmacy"])
    assert set(units_of(db, pharmacists).values()) == {"pharmacy"}

    with db.unit_of_work() as s:
        structure.merge_units(s, ADMIN, ids["pharmacy"], ids["primary_care"])
    assert set(units_of(db, pharmacists).values()) == {"primary_care"}
    assert units_of(db, [doctor, biller]) == {doctor: "primary_care", biller: "revenue_cycle"}
    with db.unit_of_work() as s:
        change = structure.history(s, ADMIN, unit_id=ids["pharmacy"])[0]
        assert change.kind == "units.merged"
        assert change.summary == "Pharmacy merged into Primary Care (1 team and 3 people moved)"
        assert change.details["people_moved"] == 3
        assert sorted(change.details["user_ids"]) == sorted(str(i) for i in pharmacists)
        assert (change.details["function"], change.details["into_function"]) == ("pharmacy", "primary_care")
        assert structure.people_in_unit(s, "pharmacy") == 0 and structure.people_in_unit(s, "primary_care") == 4

    # a unit no one calls home merges with no one to move; the people moved before move on again
    with db.unit_of_work() as s:
        structure.merge_units(s, ADMIN, ids["primary_care"], ids["virtual_care"])
    with db.unit_of_work() as s:
        change = structure.history(s, ADMIN, unit_id=ids["primary_care"])[0]
        assert change.details["people_moved"] == 4 and "4 people moved" in change.summary
    with db.unit_of_work() as s:
        structure.merge_units(s, ADMIN, ids["benefits"], ids["health_tech"])
    with db.unit_of_work() as s:
        change = structure.history(s, ADMIN, unit_id=ids["benefits"])[0]
        assert change.details["people_moved"] == 0 and change.details["user_ids"] == []
        assert change.summary == "Employer Benefits merged into Health Technology (1 team and 0 people moved)"
    assert units_of(db, [biller]) == {biller: "revenue_cycle"}


# ---------------------------------------------------------------- move


def test_moving_a_team_moves_its_queues_and_open_work(db):
    ids = seed(db)
    team_id, queue_id = first_team(db, ids["virtual_care"])
    with db.unit_of_work() as s:
        second = structure.create_queue(s, ADMIN, team_id, "Video visits").id
    add_items(db, queue_id, open_=4, done=1)
    add_items(db, second, open_=2)
    with db.unit_of_work() as s:
        team = structure.move_team(s, ADMIN, team_id, ids["primary_care"])
        assert team.unit.code == "primary_care"
    with db.unit_of_work() as s:
        moved_items = s.scalars(
            select(WorkItem).join(WorkQueue).join(Team).where(Team.unit_id == ids["primary_care"])
        ).all()
        assert len(moved_items) == 7
        change = structure.history(s, ADMIN)[0]
        assert change.kind == "team.moved" and change.actor_label == ADMIN.label
        assert change.details["queues"] == ["Video visits", "Visit queue"]
        assert change.unit_id == ids["virtual_care"] and change.other_unit_id == ids["primary_care"]
        assert change.effective_on == clock.today()
        nodes = {n.code: n for n in chart.org_chart(s, ADMIN)}
    assert nodes["virtual_care"].teams == []
    moved = [t for t in nodes["primary_care"].teams if t.id == team_id][0]
    assert {(q.name, q.open_items) for q in moved.queues} == {("Visit queue", 4), ("Video visits", 2)}


def test_move_refusals(db):
    ids = seed(db)
    team_id, _ = first_team(db, ids["virtual_care"])
    with db.unit_of_work() as s:
        structure.merge_units(s, ADMIN, ids["benefits"], ids["revenue_cycle"])
    for target, message in ((ids["benefits"], "merged"), (ids["virtual_care"], "already in"), (uuid.uuid4(), "Choose")):
        with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
            structure.move_team(s, ADMIN, team_id, target)
        assert message in exc.value.errors["unit_id"]
    with db.unit_of_work() as s:
        structure.create_team(s, ADMIN, ids["pharmacy"], "async VISITS")
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.move_team(s, ADMIN, team_id, ids["pharmacy"])
    assert "already has a team" in exc.value.errors["unit_id"]


# ---------------------------------------------------------------- split, create, rename, lead


def test_split_gives_the_new_unit_the_chosen_teams(db):
    ids = seed(db)
    with db.unit_of_work() as s:
        keep = structure.create_team(s, ADMIN, ids["health_tech"], "FHIR API").id
        go = structure.create_team(s, ADMIN, ids["health_tech"], "Devices").id
    future = clock.today() + timedelta(days=30)
    with db.unit_of_work() as s:
        new = structure.split_unit(
            s,
            ADMIN,
            ids["health_tech"],
            new_code="Devices",
            new_name=" Remote  Monitoring ",
            team_ids=[go, go],
            effective_on=future,
        )
        new_id = new.id
        assert (new.code, new.name, new.effective_from) == ("devices", "Remote Monitoring", future)
    with db.unit_of_work() as s:
        assert [t.id for t in s.get(OrgUnit, new_id).teams] == [go]
        assert {t.id for t in s.get(OrgUnit, ids["health_tech"]).teams} >= {keep}
        change = structure.history(s, ADMIN, unit_id=ids["health_tech"])[0]
        assert change.kind == "unit.split" and change.effective_on == future and change.unit_id == new_id
        assert s.get(OrgUnit, new_id).function == "health_tech"
        assert (change.details["function"], change.details["function_inherited_from"]) == ("health_tech", "health_tech")
        assert "kind of work: Health Technology (inherited)" in change.summary


def test_split_refusals(db):
    ids = seed(db)
    other_team, _ = first_team(db, ids["pharmacy"])
    cases = [
        ({"new_code": "", "new_name": "", "team_ids": []}, {"new_code", "new_name", "team_ids"}),
        (
            {"new_code": "pharmacy", "new_name": "Pharmacy", "team_ids": [other_team]},
            {"new_code", "new_name", "team_ids"},
        ),
        (
            {"new_code": "9bad code", "new_name": "x" * 121, "team_ids": [uuid.uuid4()]},
            {"new_code", "new_name", "team_ids"},
        ),
    ]
    for kwargs, fields in cases:
        with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
            structure.split_unit(s, ADMIN, ids["health_tech"], **kwargs)
        assert field_errors(exc) == fields
    assert count(db, OrgUnit) == 6


def test_create_rename_and_lead_with_history(db):
    seed(db)
    lead = staff_member(db, role=Role.OPERATIONS_LEAD)
    gone = staff_member(db, status=StaffStatus.DEPARTED)
    with db.unit_of_work() as s:
        unit = structure.create_unit(
            s, ADMIN, code="care_nav", name="Care Navigation", function="primary_care", lead_staff_id=lead
        )
        unit_id = unit.id
    with db.unit_of_work() as s:
        structure.rename_unit(s, ADMIN, unit_id, "Care Navigation and Support")
        structure.set_unit_lead(s, ADMIN, unit_id, None)
    with db.unit_of_work() as s:
        kinds = [(c.kind, c.actor_label) for c in structure.history(s, ADMIN, unit_id=unit_id)]
        assert kinds == [
            ("unit.lead_changed", ADMIN.label),
            ("unit.renamed", ADMIN.label),
            ("unit.created", ADMIN.label),
        ]
        assert s.get(OrgUnit, unit_id).lead_staff_id is None
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.create_unit(
            s, ADMIN, code="care_nav", name="care navigation AND support", function="pharmacy", lead_staff_id=gone
        )
    assert field_errors(exc) == {"code", "name", "lead_staff_id"}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.rename_unit(s, ADMIN, unit_id, "   ")
    assert exc.value.errors == {"name": "Enter a name."}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.rename_unit(s, ADMIN, unit_id, "Pharmacy")
    assert "already a unit" in exc.value.errors["name"]
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.set_unit_lead(s, ADMIN, unit_id, None)
    assert field_errors(exc) == {"lead_staff_id"}
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        structure.create_unit(s, CLINICIAN, code="x_unit", name="X", function="pharmacy")


def test_a_new_unit_must_say_what_kind_of_work_it_does(db):
    seed(db)
    for given, message in (
        (None, "Choose what kind of work the unit does."),
        ("  ", "Choose what kind of work the unit does."),
        (
            "dentistry",
            "Choose one of the kinds of work: Virtual Care, Primary Care, Pharmacy, "
            "Revenue Cycle, Employer Benefits, Health Technology.",
        ),
    ):
        with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
            structure.create_unit(s, ADMIN, code="care_nav", name="Care Navigation", function=given)
        assert exc.value.errors == {"function": message}
    assert count(db, OrgUnit) == 6 and count(db, OrgChange) == 6

    with db.unit_of_work() as s:
        unit = structure.create_unit(s, ADMIN, code="care_nav", name="Care Navigation", function=" Benefits ")
        unit_id = unit.id
        assert unit.function == "benefits"
    with db.unit_of_work() as s:
        (created,) = structure.history(s, ADMIN, unit_id=unit_id)
        assert created.details["function"] == "benefits"
        assert created.summary == "Unit Care Navigation (care_nav) created; kind of work: Employer Benefits"
        assert chart.unit_chart(s, ADMIN, unit_id).function_label == "Employer Benefits"
        structure.create_team(s, ADMIN, unit_id, "Navigators")
    with db.unit_of_work() as s:
        (team,) = s.get(OrgUnit, unit_id).teams
        split = structure.split_unit(
            s, ADMIN, unit_id, new_code="nav_west", new_name="Navigation West", team_ids=[team.id]
        )
        # inherited from the parent, whose code is not a function
        assert split.function == "benefits"


def test_team_and_queue_validation(db):
    ids = seed(db)
    team_id, _ = first_team(db, ids["pharmacy"])
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.create_team(s, ADMIN, ids["pharmacy"], "verification")
    assert field_errors(exc) == {"name"}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.create_queue(s, ADMIN, team_id, "VERIFICATION queue")
    assert field_errors(exc) == {"name"}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.create_queue(s, ADMIN, uuid.uuid4(), "")
    assert field_errors(exc) == {"team_id", "name"}
    with db.unit_of_work() as s:
        structure.merge_units(s, ADMIN, ids["benefits"], ids["pharmacy"])
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        structure.create_team(s, ADMIN, ids["benefits"], "New team")
    assert "merged" in exc.value.errors["unit_id"]


# ---------------------------------------------------------------- chart


def test_chart_lists_current_people_with_roles_and_open_counts(db):
    ids = seed(db)
    team_id, queue_id = first_team(db, ids["virtual_care"])
    tomorrow = clock.today() + timedelta(days=1)
    staff_member(db, team_id=team_id)  # current
    staff_member(db, role=Role.PHARMACIST, team_id=team_id, end_date=tomorrow)  # ends in the future: still here
    staff_member(db, team_id=team_id, end_date=clock.today())  # ended today
    staff_member(db, team_id=team_id, status=StaffStatus.DEPARTED)
    add_items(db, queue_id, open_=5, done=3)
    with db.unit_of_work() as s:
        node = chart.unit_chart(s, CLINICIAN, ids["virtual_care"])
    (team,) = node.teams
    assert sorted(p.roles for p in team.people) == [["Clinician"], ["Pharmacist"]]
    assert [(q.name, q.open_items) for q in team.queues] == [("Visit queue", 5)]
    assert node.open_items == 5
    patient_actor = Actor(user_id=uuid.uuid4(), label="p", roles=frozenset({Role.PATIENT}))
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        chart.org_chart(s, patient_actor)


def test_demo_seeding_adds_the_six_units_once(db, settings):
    from careplane.demo import seed_demo

    seed_demo(db, settings, patients=0)
    seed_demo(db, settings, patients=0)
    with db.unit_of_work() as s:
        assert sorted(s.scalars(select(OrgUnit.code))) == sorted(BUSINESS_FUNCTIONS)
    # each unit created, and given its lead, once
    assert count(db, Team) == 6 and count(db, OrgChange) == 12


def test_demo_seeding_gives_every_unit_a_lead_of_its_kind_of_work(db, settings):
    from careplane.demo import seed_demo

    seed_demo(db, settings, patients=0)
    with db.unit_of_work() as s:
        leads = {u.code: u.lead_name for u in chart.org_chart(s, Actor.for_system("tests"))}
        changes = sorted(s.scalars(select(OrgChange.summary).where(OrgChange.kind == "unit.lead_changed")))
    assert leads == {
        "virtual_care": "Demo clinician",
        "primary_care": "Demo operations lead",
        "pharmacy": "Demo pharmacist",
        "revenue_cycle": "Demo biller",
        "benefits": "Demo operations lead",
        "health_tech": "Demo administrator",
    }
    assert "Demo pharmacist now leads Pharmacy" in changes and len(changes) == 6


def _race(*actions):  # noqa: ANN002, ANN202
    """Run each action in its own thread and unit of work at the same time; return what each raised (or None)."""
    import threading

    barrier = threading.Barrier(len(actions))
    outcomes: list[BaseException | None] = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        try:
            actions[i]()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_concurrent_merge_and_move_never_leave_a_team_in_a_merged_unit(db):
    for _ in range(3):
        ids = seed(db)
        team_id, _ = first_team(db, ids["revenue_cycle"])

        def merge() -> None:
            with db.unit_of_work() as s:
                structure.merge_units(s, ADMIN, ids["benefits"], ids["pharmacy"])  # noqa: B023 - run in this iteration

        def move() -> None:
            with db.unit_of_work() as s:
                structure.move_team(s, ADMIN, team_id, ids["benefits"])  # noqa: B023 - run in this iteration

        merged, moved = _race(merge, move)
        assert merged is None
        assert moved is None or isinstance(moved, ValidationFailed)
        with db.unit_of_work() as s:
            team = s.get(Team, team_id)
            assert team.unit_id == (ids["revenue_cycle"] if moved else ids["pharmacy"])
            assert s.scalar(select(func.count()).select_from(Team).where(Team.unit_id == ids["benefits"])) == 0
        _reset(db)


def test_opposite_merges_at_once_merge_exactly_one(db):
    ids = seed(db)

    def merge(a: str, b: str):  # noqa: ANN202
        def act() -> None:
            with db.unit_of_work() as s:
                structure.merge_units(s, ADMIN, ids[a], ids[b])

        return act

    outcomes = _race(merge("benefits", "pharmacy"), merge("pharmacy", "benefits"))
    assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "ValidationFailed"]
    with db.unit_of_work() as s:
        statuses = sorted(s.get(OrgUnit, ids[c]).status for c in ("benefits", "pharmacy"))
    assert statuses == ["active", "merged"]


def _reset(db: Database) -> None:
    from tests.conftest import _empty_all_tables

    _empty_all_tables(db)
