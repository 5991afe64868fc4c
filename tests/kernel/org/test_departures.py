"""Offboarding: validation, access ended at once, memberships and unit leads, the event, the preview.

The builders at the top are shared by the hand-over and web tests of departures.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from careplane.kernel import clock, work
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from careplane.kernel.events import EventDelivery, OutboxEvent
from careplane.kernel.identity import authn
from careplane.kernel.identity.models import ApiToken, User, WebSession
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.events import StaffDeparted
from careplane.kernel.org.models import Departure, OrgChange, OrgUnit, StaffMember, Team, TeamMembership
from careplane.kernel.org.offboarding import departures
from careplane.kernel.org.structure import service as structure
from careplane.kernel.units import BUSINESS_FUNCTIONS
from careplane.kernel.work.models import WorkQueue
from careplane.settings import Settings
from tests.helpers import api_token, make_user, session_cookie

UNITS = BUSINESS_FUNCTIONS
START = date(2020, 1, 1)


def make_org(db: Database) -> dict[str, WorkQueue]:
    """The six units, each with one team and one queue; returns unit code -> that queue."""
    queues = {}
    with db.unit_of_work() as s:
        for code, name in UNITS.items():
            unit = OrgUnit(code=code, name=name, function=code, effective_from=START)
            team = Team(name=f"{name} team", unit=unit, effective_from=START)
            queue = WorkQueue(name=f"{name} queue", team=team)
            s.add_all([unit, team, queue])
            queues[code] = queue
    return queues


def make_staff(db: Database, role: Role = Role.CLINICIAN, name: str | None = None, email: str | None = None):  # noqa: ANN201
    """A user with ``role`` and their staff record; returns (user, staff)."""
    user = make_user(db, role=role, email=email)
    with db.unit_of_work() as s:
        if name:
            s.get(User, user.id).display_name = name
            user.display_name = name
        staff = StaffMember(user_id=user.id, start_date=START, credentials=[])
        s.add(staff)
    return user, staff


def add_items(
    db: Database, queue: WorkQueue, staff: StaffMember | None, count: int, kind: str = "visit"
) -> list[uuid.UUID]:
    with db.unit_of_work() as s:
        return [
            work.create_item(
                s, queue.id, kind=kind, title=f"{kind} {n}", assignee_staff_id=staff.id if staff else None
            ).id
            for n in range(count)
        ]


def lead_actor(db: Database) -> Actor:
    user = make_user(db, role=Role.OPERATIONS_LEAD)
    return Actor(
        user_id=user.id,
        label=user.email,
        roles=frozenset({Role.OPERATIONS_LEAD}),
        unit="primary_care",
        unit_function="primary_care",
    )


def offboard(db: Database, actor: Actor, staff: StaffMember, **kwargs) -> Departure:  # noqa: ANN003
    with db.unit_of_work() as s:
        return departures.offboard(s, actor, staff.id, **kwargs)


# ---------------------------------------------------------------- tests


def test_offboarding_ends_access_memberships_and_records_the_departure(db: Database, settings: Settings):
    queues = make_org(db)
    actor = lead_actor(db)
    user, leaver = make_staff(db)
    _, successor = make_staff(db)
    cookie = session_cookie(db, settings, user)
    token = api_token(db, user)
    with db.unit_of_work() as s:
        s.add(TeamMembership(team_id=queues["virtual_care"].team_id, staff_id=leaver.id, start_date=START))
        s.add(
            TeamMembership(
                team_id=queues["pharmacy"].team_id, staff_id=leaver.id, start_date=START, end_date=date(2021, 1, 1)
            )
        )

    departure = offboard(db, actor, leaver, successor_staff_id=successor.id, reason="Moved abroad")

    with db.unit_of_work() as s:
        assert authn.from_session_cookie(s, cookie, settings) is None
        assert authn.from_bearer_token(s, token) is None
        row = s.get(User, user.id)
        assert row.is_active is False and row.deactivated_at is not None
        assert all(w.revoked_at for w in s.scalars(select(WebSession).where(WebSession.user_id == user.id)))
        assert all(t.revoked_at for t in s.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))
        staff = s.get(StaffMember, leaver.id)
        assert (staff.status, staff.end_date) == ("departed", clock.today())
        ends = sorted(m.end_date for m in s.scalars(select(TeamMembership).where(TeamMembership.staff_id == leaver.id)))
        assert ends == [date(2021, 1, 1), clock.today()], "an earlier end stays; the open one ends today"
        saved = s.get(Departure, departure.id)
        assert (saved.staff_id, saved.successor_staff_id, saved.successor_queue_id) == (leaver.id, successor.id, None)
        assert (saved.initiated_by, saved.reason) == (actor.label, "Moved abroad")
        event = s.scalar(select(OutboxEvent).where(OutboxEvent.name == StaffDeparted.event_name()))
        assert StaffDeparted.from_payload(event.payload) == StaffDeparted(departure.id, leaver.id, successor.id, None)
        handlers = {d.handler for d in s.scalars(select(EventDelivery).where(EventDelivery.event_id == event.id))}
        assert {h.split(".")[2] for h in handlers} >= set(UNITS), "every unit's handler gets the event"


def test_validation_refusals_change_nothing(db: Database):
    queues = make_org(db)
    actor = lead_actor(db)
    user, leaver = make_staff(db)
    _, successor = make_staff(db)
    _, gone = make_staff(db)
    offboard(db, actor, gone, successor_staff_id=successor.id)

    cases = [
        ({}, "successor"),
        ({"successor_staff_id": successor.id, "successor_queue_id": queues["pharmacy"].id}, "successor"),
        ({"successor_staff_id": leaver.id}, "successor_staff_id"),
        ({"successor_staff_id": gone.id}, "successor_staff_id"),
        ({"successor_staff_id": uuid.uuid4()}, "successor_staff_id"),
        ({"successor_queue_id": uuid.uuid4()}, "successor_queue_id"),
        ({"successor_staff_id": successor.id, "effective_on": clock.today() + timedelta(days=1)}, "effective_on"),
        ({"successor_staff_id": successor.id, "effective_on": START - timedelta(days=1)}, "effective_on"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            offboard(db, actor, leaver, **kwargs)
        assert field in refused.value.errors, (kwargs, refused.value.errors)

    with pytest.raises(Conflict):
        offboard(db, actor, gone, successor_staff_id=successor.id)
    with pytest.raises(NotFound):
        offboard(db, actor, StaffMember(id=uuid.uuid4()), successor_staff_id=successor.id)
    own_actor = Actor(
        user_id=user.id,
        label=user.email,
        roles=frozenset({Role.OPERATIONS_LEAD}),
        unit="primary_care",
        unit_function="primary_care",
    )
    with pytest.raises(Conflict):
        offboard(db, own_actor, leaver, successor_staff_id=successor.id)

    with db.unit_of_work() as s:
        assert s.get(StaffMember, leaver.id).status == "active"
        assert s.get(User, user.id).is_active is True
        assert s.scalar(select(Departure).where(Departure.staff_id == leaver.id)) is None


def test_a_clinician_may_not_offboard_or_preview(db: Database):
    make_org(db)
    clinician, _ = make_staff(db)
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    actor = Actor(
        user_id=clinician.id,
        label=clinician.email,
        roles=frozenset({Role.CLINICIAN}),
        unit="virtual_care",
        unit_function="virtual_care",
    )
    with pytest.raises(AccessDenied):
        offboard(db, actor, leaver, successor_staff_id=successor.id)
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        departures.preview(s, actor, leaver.id)
    with db.unit_of_work() as s:
        assert s.get(StaffMember, leaver.id).status == "active"


def test_preview_counts_open_work_per_unit_and_lists_led_units(db: Database):
    queues = make_org(db)
    actor = lead_actor(db)
    _, leaver = make_staff(db, name="Dr Leaving")
    add_items(db, queues["virtual_care"], leaver, 3, kind="visit")
    add_items(db, queues["virtual_care"], leaver, 1, kind="message")
    add_items(db, queues["pharmacy"], leaver, 2, kind="verification")
    add_items(db, queues["pharmacy"], None, 5, kind="verification")  # unassigned: not theirs
    done = add_items(db, queues["revenue_cycle"], leaver, 1, kind="denial")
    with db.unit_of_work() as s:
        work.complete(s, Actor.for_system("tests"), done[0])
        s.scalar(select(OrgUnit).where(OrgUnit.code == "pharmacy")).lead_staff_id = leaver.id
    try:
        with db.unit_of_work() as s:
            seen = departures.preview(s, actor, leaver.id)
            by_unit = {u.code: u.counts for u in seen.units}
            assert by_unit["virtual_care"] == {"visit": 3, "message": 1}
            assert by_unit["pharmacy"] == {"verification": 2}
            assert by_unit["revenue_cycle"] == {}
            assert set(by_unit) == set(UNITS)
            assert seen.total == 6 and seen.name == "Dr Leaving"
            assert [u.code for u in seen.leads] == ["pharmacy"]
    finally:
        with db.unit_of_work() as s:
            s.scalar(select(OrgUnit).where(OrgUnit.code == "pharmacy")).lead_staff_id = None


def test_a_departing_lead_passes_the_unit_to_the_successor_or_leaves_it_flagged(db: Database):
    queues = make_org(db)
    actor = lead_actor(db)
    _, lead_a = make_staff(db, name="Lead A")
    _, lead_b = make_staff(db, name="Lead B")
    _, successor = make_staff(db, name="Next Lead")
    with db.unit_of_work() as s:
        units = {u.code: u for u in s.scalars(select(OrgUnit))}
        units["pharmacy"].lead_staff_id = lead_a.id
        units["benefits"].lead_staff_id = lead_b.id
    try:
        offboard(db, actor, lead_a, successor_staff_id=successor.id)
        second = offboard(db, actor, lead_b, successor_queue_id=queues["benefits"].id)
        with db.unit_of_work() as s:
            units = {u.code: u for u in s.scalars(select(OrgUnit))}
            assert units["pharmacy"].lead_staff_id == successor.id
            assert units["benefits"].lead_staff_id is None
            changes = sorted(
                s.scalars(select(OrgChange).where(OrgChange.kind == "unit.lead_changed")), key=lambda c: c.summary
            )
            assert [c.summary for c in changes] == ["Employer Benefits has no lead", "Next Lead now leads Pharmacy"]
            assert [(c.details["from"], c.details["to"]) for c in changes] == [
                (str(lead_b.id), None),
                (str(lead_a.id), str(successor.id)),
            ]
            assert all(c.actor_label == actor.label for c in changes)
            assert departures.get_departure(s, actor, second.id).leaderless == ["Employer Benefits"]
    finally:
        with db.unit_of_work() as s:
            for unit in s.scalars(select(OrgUnit)):
                unit.lead_staff_id = None


def test_an_offboarding_is_recorded_in_the_organisations_history(db: Database):
    queues = make_org(db)
    actor = lead_actor(db)
    _, leaver = make_staff(db, name="Dr Ada Leaving")  # a clinician: works in Virtual Care
    _, second = make_staff(db, name="Bo Also Leaving")
    _, successor = make_staff(db, name="Dr Grace Next")
    add_items(db, queues["virtual_care"], leaver, 2)
    add_items(db, queues["pharmacy"], leaver, 1, kind="verification")
    add_items(db, queues["pharmacy"], None, 4, kind="verification")  # no one's: not counted
    first = offboard(db, actor, leaver, successor_staff_id=successor.id, effective_on=START + timedelta(days=30))
    later = offboard(db, actor, second, successor_queue_id=queues["benefits"].id)

    with db.unit_of_work() as s:
        units = {u.code: u.id for u in s.scalars(select(OrgUnit))}
        change = s.scalar(
            select(OrgChange).where(
                OrgChange.kind == "staff.offboarded", OrgChange.details["staff_id"].as_string() == str(leaver.id)
            )
        )
        assert change.summary == (
            "Dr Ada Leaving offboarded (last day 2020-01-31); 3 open work items handed over to Dr Grace Next"
        )
        assert (change.effective_on, change.actor_label, change.at) == (
            START + timedelta(days=30),
            actor.label,
            first.at,
        )
        assert change.details == {
            "departure_id": str(first.id),
            "staff_id": str(leaver.id),
            "name": "Dr Ada Leaving",
            "home_unit": "virtual_care",
            "successor_staff_id": str(successor.id),
            "successor_queue_id": None,
            "successor": "Dr Grace Next",
            "items_handed_over": 3,
            "items_not_covered": 0,
            "by_unit": {"virtual_care": 2, "pharmacy": 1},
        }
        assert (change.unit_id, change.other_unit_id) == (units["virtual_care"], None)

        history = structure.history(s, actor)
        assert [c.kind for c in history][:2] == ["staff.offboarded", "staff.offboarded"], (
            "newest first, with the restructurings"
        )
        queued = history[0]
        assert queued.summary.endswith(
            "0 open work items handed over to Employer Benefits / Employer Benefits team / Employer Benefits queue"
        )
        assert queued.details["departure_id"] == str(later.id)
        assert (queued.unit_id, queued.other_unit_id) == (units["virtual_care"], units["benefits"])
        assert queued in structure.history(s, actor, unit_id=units["benefits"]), "the queue's unit sees it too"
        assert change not in structure.history(s, actor, unit_id=units["benefits"])
