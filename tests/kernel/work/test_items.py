"""The life of a work item: create, claim, assign, release, complete, cancel, and their refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from careplane.kernel import work
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from careplane.kernel.identity.roles import Role
from careplane.kernel.work.models import WorkItem
from tests.kernel.org.test_departures import lead_actor, make_staff, offboard
from tests.kernel.work.builders import VISITS, item, person, seed, staff_id


def test_claim_release_assign_complete(db: Database):
    seed(db)
    ann, bob = person(db, licences=("NY",)), person(db, licences=("NY",))
    lead = lead_actor(db)
    item_id = item(db, VISITS.key, state="NY")
    with db.unit_of_work() as s:
        claimed = work.claim(s, ann, item_id)
        assert (claimed.assignee_staff_id, claimed.claimed_at is not None) == (staff_id(db, ann), True)
        assert work.claim(s, ann, item_id).assignee_staff_id == staff_id(db, ann), "claiming your own again is fine"
    with db.unit_of_work() as s, pytest.raises(Conflict, match="already taken"):
        work.claim(s, bob, item_id)
    with db.unit_of_work() as s, pytest.raises(AccessDenied, match="not yours"):
        work.release(s, bob, item_id)
    with db.unit_of_work() as s:
        released = work.release(s, ann, item_id)
        assert (released.assignee_staff_id, released.claimed_at) == (None, None)
        work.assign(s, lead, item_id, staff_id(db, bob))
        assert [i.id for i in work.open_items_of(s, staff_id(db, bob), "virtual_care")] == [item_id]
        assert work.open_items_of(s, staff_id(db, bob), "pharmacy") == []
    with db.unit_of_work() as s, pytest.raises(AccessDenied, match="not yours"):
        work.complete(s, ann, item_id)
    with db.unit_of_work() as s:
        done = work.complete(s, bob, item_id)
        assert (done.status, done.closed_by) == ("done", bob.label) and done.closed_at is not None
    with db.unit_of_work() as s, pytest.raises(Conflict, match="already done"):
        work.complete(s, bob, item_id)
    with db.unit_of_work() as s, pytest.raises(NotFound):
        work.claim(s, ann, uuid.uuid4())


def test_only_managers_hand_work_out_and_only_to_someone_who_may_take_it(db: Database):
    seed(db)
    ann, tx_only = person(db, licences=("NY",)), person(db, licences=("TX",))
    pharmacist = person(db, Role.PHARMACIST, unit="virtual_care", licences=("NY",), kind="RPh")
    item_id = item(db, VISITS.key, state="NY")
    with db.unit_of_work() as s, pytest.raises(AccessDenied, match="only operations and the lead"):
        work.assign(s, ann, item_id, staff_id(db, ann))
    lead = lead_actor(db)
    for target, why in ((tx_only, "no DO/MD/NP/PA licence for NY"), (pharmacist, "role\\(s\\) clinician")):
        with db.unit_of_work() as s, pytest.raises(ValidationFailed, match=why) as refused:
            work.assign(s, lead, item_id, staff_id(db, target))
        assert set(refused.value.errors) == {"staff_id"}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed, match="no such staff"):
        work.assign(s, lead, item_id, uuid.uuid4())
    with db.unit_of_work() as s:
        assert s.get(WorkItem, item_id).assignee_staff_id is None


def test_work_never_goes_to_someone_who_left_and_bad_items_are_refused(db: Database):
    queues = seed(db)
    _, gone = make_staff(db)
    _, successor = make_staff(db)
    offboard(db, lead_actor(db), gone, successor_staff_id=successor.id)
    item_id = item(db, VISITS.key)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed, match="has left") as refused:
        work.assign(s, Actor.for_system("tests"), item_id, gone.id)
    assert "staff_id" in refused.value.errors
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as refused:
        work.create_item(
            s,
            uuid.uuid4(),
            kind=" ",
            title="",
            subject_type="visit",
            state="XX",
            due_at=datetime(2030, 1, 1),
            assignee_staff_id=gone.id,
        )
    assert set(refused.value.errors) == {"queue_id", "kind", "title", "subject_id", "state", "due_at"}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed, match="no queue pharmacy.nothing"):
        work.create_item(s, "pharmacy.nothing", kind="verify", title="Rx 1")
    with db.unit_of_work() as s, pytest.raises(ValidationFailed, match="has left"):
        work.create_item(s, queues[VISITS.key], kind="visit", title="v", assignee_staff_id=gone.id)


def test_an_item_carries_its_subject_patient_state_and_deadline(db: Database):
    seed(db)
    due = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    item_id = item(db, VISITS.key, subject_type="virtual_care.visit", subject_id="v-123", state=" tx ", due_at=due)
    with db.unit_of_work() as s:
        saved = s.get(WorkItem, item_id)
        assert (saved.kind, saved.subject_type, saved.subject_id, saved.state, saved.due_at, saved.status) == (
            "async_visit",
            "virtual_care.visit",
            "v-123",
            "TX",
            due,
            "open",
        )
        assert saved.queue.key == VISITS.key


def test_cancel_is_for_the_holder_a_manager_or_the_unit_itself(db: Database):
    seed(db)
    ann = person(db)
    item_id = item(db, VISITS.key)
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        work.cancel(s, ann, item_id)
    with db.unit_of_work() as s:
        cancelled = work.cancel(s, Actor.for_system("virtual_care"), item_id)
        assert (cancelled.status, cancelled.closed_by) == ("cancelled", "system:virtual_care")
    with db.unit_of_work() as s, pytest.raises(Conflict):
        work.claim(s, ann, item_id)
