"""Work items, the substrate hand-over moves: create, claim, assign, complete, and their refusals."""

from __future__ import annotations

import uuid

import pytest

from careplane.kernel.db import Database
from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.org import work
from careplane.kernel.org.models import WorkItem
from tests.kernel.org.test_departures import add_items, lead_actor, make_org, make_staff, offboard


def test_claim_assign_complete(db: Database):
    queues = make_org(db)
    _, ann = make_staff(db)
    _, bob = make_staff(db)
    (item_id,) = add_items(db, queues["virtual_care"], None, 1)
    with db.unit_of_work() as s:
        assert work.claim(s, item_id, ann.id).assignee_staff_id == ann.id
        assert work.claim(s, item_id, ann.id).assignee_staff_id == ann.id, "claiming your own item again is fine"
    with db.unit_of_work() as s, pytest.raises(Conflict):
        work.claim(s, item_id, bob.id)
    with db.unit_of_work() as s:
        work.assign(s, item_id, bob.id)
        assert [i.id for i in work.open_items_of(s, bob.id, "virtual_care")] == [item_id]
        assert work.open_items_of(s, bob.id, "pharmacy") == []
        work.assign(s, item_id, None)
        work.complete(s, item_id)
    with db.unit_of_work() as s:
        assert s.get(WorkItem, item_id).status == "done"
    with db.unit_of_work() as s, pytest.raises(Conflict):
        work.complete(s, item_id)
    with db.unit_of_work() as s, pytest.raises(NotFound):
        work.claim(s, uuid.uuid4(), ann.id)


def test_work_never_goes_to_someone_who_left_and_bad_items_are_refused(db: Database):
    queues = make_org(db)
    _, gone = make_staff(db)
    _, successor = make_staff(db)
    offboard(db, lead_actor(db), gone, successor_staff_id=successor.id)
    (item_id,) = add_items(db, queues["pharmacy"], None, 1)
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as refused:
        work.assign(s, item_id, gone.id)
    assert "staff_id" in refused.value.errors
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as refused:
        work.create_item(s, uuid.uuid4(), kind=" ", title="", assignee_staff_id=gone.id)
    assert set(refused.value.errors) == {"queue_id", "kind", "title"}
    with db.unit_of_work() as s, pytest.raises(ValidationFailed):
        work.create_item(s, queues["pharmacy"].id, kind="verification", title="Rx 1", assignee_staff_id=gone.id)
