"""Hand-over after a departure: every unit's handler moves the open work and reports; the
departure stays incomplete until every registered unit has reported."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from careplane.kernel import events
from careplane.kernel.db import Database
from careplane.kernel.org.events import StaffDeparted
from careplane.kernel.org.models import Departure, HandoverReport, OrgUnit, Team
from careplane.kernel.org.offboarding import departures, handover
from careplane.kernel.org.structure import service as structure
from careplane.kernel.units import Unit
from careplane.kernel.work.models import WorkItem, WorkQueue
from careplane.kernel.worker import Worker
from careplane.settings import Settings
from tests.helpers import units_installed
from tests.kernel.org.test_departures import START, UNITS, add_items, lead_actor, make_org, make_staff, offboard


def drain(db: Database, settings: Settings) -> None:
    worker = Worker(db, settings, name="test")
    for _ in range(50):
        if worker.run_once() == 0:
            return
    raise AssertionError("the worker did not go quiet")


def items(db: Database, ids: list) -> list[WorkItem]:  # noqa: ANN001
    with db.unit_of_work() as s:
        return list(s.scalars(select(WorkItem).where(WorkItem.id.in_(ids))))


def status(db: Database, departure: Departure) -> handover.HandoverStatus:
    with db.unit_of_work() as s:
        return handover.status(s, s.get(Departure, departure.id))


def test_all_open_items_get_the_successor_person_and_every_unit_reports(db: Database, settings: Settings):
    queues = make_org(db)
    actor = lead_actor(db)
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    _, colleague = make_staff(db)
    visits = add_items(db, queues["virtual_care"], leaver, 3, kind="visit")
    checks = add_items(db, queues["pharmacy"], leaver, 2, kind="verification")
    denials = add_items(db, queues["revenue_cycle"], leaver, 1, kind="denial")
    others = add_items(db, queues["pharmacy"], colleague, 2, kind="verification")
    unassigned = add_items(db, queues["primary_care"], None, 1, kind="referral")

    departure = offboard(db, actor, leaver, successor_staff_id=successor.id)
    assert not status(db, departure).complete, "nothing has reported before the worker runs"
    drain(db, settings)

    moved = items(db, visits + checks + denials)
    assert {i.assignee_staff_id for i in moved} == {successor.id}
    assert {i.queue_id for i in items(db, visits)} == {queues["virtual_care"].id}, "a person successor keeps the queue"
    assert {i.assignee_staff_id for i in items(db, others)} == {colleague.id}
    assert {i.assignee_staff_id for i in items(db, unassigned)} == {None}
    with db.unit_of_work() as s:
        assert s.scalar(select(WorkItem).where(WorkItem.assignee_staff_id == leaver.id)) is None

    done = status(db, departure)
    assert done.complete and done.missing == {}
    assert {code: r.moved for code, r in done.reports.items()} == {
        "virtual_care": {"visit": 3},
        "pharmacy": {"verification": 2},
        "revenue_cycle": {"denial": 1},
        "primary_care": {},
        "benefits": {},
        "health_tech": {},
    }


def test_a_successor_queue_gets_the_items_back_unassigned(db: Database, settings: Settings):
    queues = make_org(db)
    actor = lead_actor(db)
    _, leaver = make_staff(db)
    ids = add_items(db, queues["virtual_care"], leaver, 2) + add_items(
        db, queues["benefits"], leaver, 1, kind="enrolment"
    )

    departure = offboard(db, actor, leaver, successor_queue_id=queues["virtual_care"].id)
    drain(db, settings)

    assert {(i.assignee_staff_id, i.queue_id) for i in items(db, ids)} == {(None, queues["virtual_care"].id)}
    assert status(db, departure).complete


def test_a_unit_that_has_not_reported_keeps_the_hand_over_incomplete(db: Database, settings: Settings, monkeypatch):
    queues = make_org(db)
    actor = lead_actor(db)
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    checks = add_items(db, queues["pharmacy"], leaver, 2, kind="verification")
    visits = add_items(db, queues["virtual_care"], leaver, 1)
    settings.worker_max_attempts = 1
    name = StaffDeparted.event_name()
    pharmacy = handover.handler_name("pharmacy")
    assert pharmacy in events.handlers_for(name)

    def broken(session, event):  # noqa: ANN001, ANN202
        raise RuntimeError("pharmacy system unavailable")

    monkeypatch.setitem(events._HANDLERS[name], pharmacy, broken)
    departure = offboard(db, actor, leaver, successor_staff_id=successor.id)
    drain(db, settings)

    waiting = status(db, departure)
    assert not waiting.complete
    assert waiting.missing == {"pharmacy": "Pharmacy"}
    assert "pharmacy" not in waiting.reports and "virtual_care" in waiting.reports
    assert {i.assignee_staff_id for i in items(db, checks)} == {leaver.id}, "a failed handler moved nothing"
    assert {i.assignee_staff_id for i in items(db, visits)} == {successor.id}

    monkeypatch.undo()  # the pharmacy system is back: replay its dead delivery
    with db.unit_of_work() as s:
        dead = s.scalar(select(events.EventDelivery).where(events.EventDelivery.handler == pharmacy))
        assert dead.status == events.DEAD
        events.replay(s, dead.id)
    drain(db, settings)

    finished = status(db, departure)
    assert finished.complete
    assert finished.reports["pharmacy"].moved == {"verification": 2}
    assert {i.assignee_staff_id for i in items(db, checks)} == {successor.id}


def _lab_hand_over(session, event: StaffDeparted) -> dict[str, int]:  # noqa: ANN001
    """An installed unit's own hand-over: what it moved of its own records."""
    return {"lab_orders": 4}


def test_an_installed_unit_hands_over_its_own_records_and_is_waited_for(db: Database, settings: Settings):
    make_org(db)
    actor = lead_actor(db)
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    lab = Unit(code="lab_partners", name="Lab Partners", hand_over=f"{__name__}:_lab_hand_over")
    with units_installed(lab):
        departure = offboard(db, actor, leaver, successor_staff_id=successor.id)
        assert status(db, departure).missing.get("lab_partners") == "Lab Partners"
        drain(db, settings)
        done = status(db, departure)
    assert done.complete and len(done.reports) == len(UNITS) + 1
    assert done.reports["lab_partners"].moved == {"lab_orders": 4}


def test_redelivery_neither_moves_twice_nor_reports_twice(db: Database, settings: Settings):
    queues = make_org(db)
    actor = lead_actor(db)
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    _, later = make_staff(db)
    ids = add_items(db, queues["pharmacy"], leaver, 2, kind="verification")
    departure = offboard(db, actor, leaver, successor_staff_id=successor.id)
    drain(db, settings)

    # The successor hands one item to a colleague; then the event is delivered again.
    with db.unit_of_work() as s:
        s.get(WorkItem, ids[0]).assignee_staff_id = later.id
        event = StaffDeparted(departure.id, leaver.id, successor.id, None)
        for fn in events.handlers_for(StaffDeparted.event_name()).values():
            fn(s, event)

    assert [i.assignee_staff_id for i in sorted(items(db, ids), key=lambda i: i.id == ids[0])] == [
        successor.id,
        later.id,
    ]
    with db.unit_of_work() as s:
        rows = list(s.scalars(select(HandoverReport).where(HandoverReport.departure_id == departure.id)))
    assert len(rows) == len(UNITS)
    assert next(r for r in rows if r.unit_code == "pharmacy").moved == {"verification": 2}


def test_work_goes_on_to_the_successors_successor_when_they_left_too(db: Database, settings: Settings):
    queues = make_org(db)
    actor = lead_actor(db)
    _, first = make_staff(db)
    _, second = make_staff(db)
    _, third = make_staff(db)
    ids = add_items(db, queues["virtual_care"], first, 2)
    offboard(db, actor, first, successor_staff_id=second.id)
    offboard(db, actor, second, successor_staff_id=third.id)  # before the first hand-over ran
    drain(db, settings)
    assert {i.assignee_staff_id for i in items(db, ids)} == {third.id}


def test_a_team_moved_to_another_unit_takes_its_queues_and_their_hand_over_along(db: Database, settings: Settings):
    queues = make_org(db)
    actor = lead_actor(db)
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    ids = add_items(db, queues["benefits"], leaver, 2, kind="enrolment")
    with db.unit_of_work() as s:
        health_tech = s.scalar(select(OrgUnit).where(OrgUnit.code == "health_tech"))
        structure.move_team(s, actor, queues["benefits"].team_id, health_tech.id)
    with db.unit_of_work() as s:
        counts = {u.code: u.counts for u in departures.preview(s, actor, leaver.id).units}
    assert (counts["health_tech"], counts["benefits"]) == ({"enrolment": 2}, {})
    departure = offboard(db, actor, leaver, successor_staff_id=successor.id)
    drain(db, settings)
    assert {i.assignee_staff_id for i in items(db, ids)} == {successor.id}
    reports = status(db, departure).reports
    assert (reports["health_tech"].moved, reports["benefits"].moved) == ({"enrolment": 2}, {})


def test_move_open_work_needs_exactly_one_target(db: Database):
    make_org(db)
    _, leaver = make_staff(db)
    with db.unit_of_work() as s, pytest.raises(ValueError):
        handover.move_open_work(s, leaver.id, "pharmacy")


def test_work_in_a_unit_made_by_a_split_is_handed_over_by_its_business_function(db: Database, settings: Settings):
    """A unit split off at run time (video_consults from virtual_care) does Virtual Care's work:
    its queues are handed over with Virtual Care's, and the departure is complete only once the
    person holds no open item anywhere."""
    make_org(db)
    actor = lead_actor(db)
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    with db.unit_of_work() as s:
        split = OrgUnit(code="video_consults", name="Video consults", function="virtual_care", effective_from=START)
        team = Team(name="Video team", unit=split, effective_from=START)
        queue = WorkQueue(name="Video queue", team=team)
        stray_unit = OrgUnit(code="old_desk", name="Old desk", function=None, effective_from=START)
        stray_team = Team(name="Old team", unit=stray_unit, effective_from=START)
        stray_queue = WorkQueue(name="Old queue", team=stray_team)
        s.add_all([split, team, queue, stray_unit, stray_team, stray_queue])
    visits = add_items(db, queue, leaver, 3)
    stray = add_items(db, stray_queue, leaver, 1, kind="note")
    with db.unit_of_work() as s:
        previewed = {u.code: u.handed_over for u in departures.preview(s, actor, leaver.id).units}
    assert (previewed["video_consults"], previewed["old_desk"]) == (True, False)
    with pytest.raises(departures.UncoveredWork):  # the old desk's note would stay with them
        offboard(db, actor, leaver, successor_staff_id=successor.id)
    departure = offboard(db, actor, leaver, successor_staff_id=successor.id, confirm_uncovered=True)
    drain(db, settings)

    waiting = status(db, departure)
    assert {i.assignee_staff_id for i in items(db, visits)} == {successor.id}
    assert waiting.reports["virtual_care"].moved == {"visit": 3}
    assert not waiting.missing and waiting.still_held == 1 and not waiting.complete
    with db.unit_of_work() as s:
        s.get(WorkItem, stray[0]).assignee_staff_id = successor.id
    assert status(db, departure).complete


def test_work_a_merge_carries_into_a_unit_that_already_handed_over_is_handed_over_too(db: Database, settings: Settings):
    """Pharmacy hands over first (the person holds nothing there); then Health Technology, with the
    person's item still in it, is merged into Pharmacy; then Health Technology's hand-over runs and
    finds nothing of its own. The item is moved on all the same, on Pharmacy's report."""
    queues = make_org(db)
    actor = lead_actor(db)
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    ids = add_items(db, queues["health_tech"], leaver, 1, kind="ticket")
    departure = offboard(db, actor, leaver, successor_staff_id=successor.id)
    event = StaffDeparted(departure.id, leaver.id, successor.id, None)

    def hand_over(code: str) -> None:
        with db.unit_of_work() as s:
            events.handler(StaffDeparted.event_name(), handover.handler_name(code))(s, event)

    hand_over("pharmacy")
    with db.unit_of_work() as s:
        units = {u.code: u for u in s.scalars(select(OrgUnit))}
        structure.merge_units(s, actor, units["health_tech"].id, units["pharmacy"].id)
    for code in UNITS:
        if code != "pharmacy":
            hand_over(code)

    assert {i.assignee_staff_id for i in items(db, ids)} == {successor.id}
    done = status(db, departure)
    assert done.complete
    assert (done.reports["pharmacy"].moved, done.reports["health_tech"].moved) == ({"ticket": 1}, {})
    assert done.reports["pharmacy"].notes == handover.CAUGHT_UP
    drain(db, settings)  # the deliveries themselves, run again: nothing moves twice
    assert status(db, departure).reports["pharmacy"].moved == {"ticket": 1}
