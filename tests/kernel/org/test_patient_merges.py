"""Work items follow a patient merge: the worker delivers PatientsMerged to the organisation's
handler, which re-points the merged record's work items to the survivor, once."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from careplane import wiring
from careplane.kernel import clock, events, work
from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.db import Database
from careplane.kernel.events import EventDelivery
from careplane.kernel.patients import service as patients
from careplane.kernel.patients.events import PatientsMerged
from careplane.kernel.work.models import WorkItem
from careplane.settings import Settings
from tests.kernel.org.test_departures import make_org
from tests.kernel.org.test_handover import drain
from tests.kernel.patients.conftest import patient_data

SYSTEM = Actor.for_system("tests")
HANDLER = "careplane.kernel.work.patient_merges.repoint_work_items"


def register(db: Database, given: str):  # noqa: ANN201
    with db.unit_of_work() as s:
        return patients.register_patient(
            s, SYSTEM, patient_data(given_name=given, email=None, phone=None), confirm_not_duplicate=True
        )


def merge(db: Database, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> None:
    with db.unit_of_work() as s:
        patients.merge_patients(s, SYSTEM, survivor_id, merged_id)


def items_for(
    db: Database, queue_id: uuid.UUID, patient_id: uuid.UUID, count: int, *, done: int = 0
) -> list[uuid.UUID]:
    with db.unit_of_work() as s:
        ids = [
            work.create_item(s, queue_id, kind="visit", title=f"Visit {n}", patient_id=patient_id).id
            for n in range(count)
        ]
        for item_id in ids[:done]:
            work.complete(s, Actor.for_system("tests"), item_id)
        return ids


def patients_of(db: Database, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    with db.unit_of_work() as s:
        return set(s.scalars(select(WorkItem.patient_id).where(WorkItem.id.in_(ids))))


def audit_rows(db: Database) -> list[tuple[uuid.UUID, str]]:
    with db.unit_of_work() as s:
        return [
            (a.patient_id, a.reason)
            for a in s.scalars(
                select(AuditEntry).where(AuditEntry.resource_type == "org.work_items").order_by(AuditEntry.occurred_at)
            )
        ]


def test_the_organisation_handles_patients_merged():
    wiring.load_all()
    assert HANDLER in events.handlers_for(PatientsMerged.event_name())


def test_the_merged_records_work_items_move_to_the_survivor_open_and_done(db: Database, settings: Settings):
    queues = make_org(db)
    survivor, merged, bystander = register(db, "Jonathan"), register(db, "Jon"), register(db, "Maria")
    theirs = items_for(db, queues["virtual_care"].id, merged.id, 2, done=1) + items_for(
        db, queues["pharmacy"].id, merged.id, 1
    )
    kept = items_for(db, queues["virtual_care"].id, survivor.id, 1)
    others = items_for(db, queues["pharmacy"].id, bystander.id, 2)

    merge(db, survivor.id, merged.id)
    assert patients_of(db, theirs) == {merged.id}, "nothing moves before the worker delivers the event"
    drain(db, settings)

    assert patients_of(db, theirs) == {survivor.id}
    assert patients_of(db, kept) == {survivor.id} and patients_of(db, others) == {bystander.id}
    with db.unit_of_work() as s:
        statuses = sorted(s.scalars(select(WorkItem.status).where(WorkItem.id.in_(theirs))))
        delivery = s.scalar(select(EventDelivery).where(EventDelivery.handler == HANDLER))
        assert statuses == ["done", "open", "open"], "a re-pointed item keeps its status"
        assert delivery.status == events.DONE
    assert audit_rows(db) == [(survivor.id, f"3 work items moved from merged record MRN {merged.mrn}")]


def test_a_redelivered_event_changes_nothing(db: Database, settings: Settings):
    queues = make_org(db)
    survivor, merged = register(db, "Jonathan"), register(db, "Jon")
    ids = items_for(db, queues["virtual_care"].id, merged.id, 2)
    merge(db, survivor.id, merged.id)
    drain(db, settings)
    with db.unit_of_work() as s:
        stamps = dict(s.execute(select(WorkItem.id, WorkItem.updated_at).where(WorkItem.id.in_(ids))).all())
        # the worker delivers at least once: send the same delivery again
        s.execute(
            update(EventDelivery)
            .where(EventDelivery.handler == HANDLER)
            .values(status=events.PENDING, attempts=0, completed_at=None, next_attempt_at=clock.now())
        )
    drain(db, settings)

    with db.unit_of_work() as s:
        assert s.scalar(select(EventDelivery.status).where(EventDelivery.handler == HANDLER)) == events.DONE
        again = dict(s.execute(select(WorkItem.id, WorkItem.updated_at).where(WorkItem.id.in_(ids))).all())
    assert again == stamps and patients_of(db, ids) == {survivor.id}
    assert len(audit_rows(db)) == 1, "nothing moved the second time, so nothing more is recorded"


def test_items_reach_the_record_that_is_active_when_merges_are_delivered_out_of_order(db: Database, settings: Settings):
    queues = make_org(db)
    first, second, third = register(db, "Jonathan"), register(db, "Jon"), register(db, "John")
    of_second = items_for(db, queues["virtual_care"].id, second.id, 2)
    of_first = items_for(db, queues["primary_care"].id, first.id, 1)
    merge(db, first.id, second.id)  # second -> first
    merge(db, third.id, first.id)  # then first -> third
    with db.unit_of_work() as s:  # the first merge's delivery is held back (a worker died mid-way, say)
        [early, _] = s.scalars(
            select(EventDelivery).where(EventDelivery.handler == HANDLER).order_by(EventDelivery.next_attempt_at)
        ).all()
        early_id, due = early.id, early.next_attempt_at
        early.next_attempt_at = due.replace(year=2100)
    drain(db, settings)
    assert patients_of(db, of_first) == {third.id}
    assert patients_of(db, of_second) == {second.id}, "its own event has not been delivered yet"

    with db.unit_of_work() as s:  # now it arrives, after the later merge
        s.get(EventDelivery, early_id).next_attempt_at = due
    drain(db, settings)
    assert patients_of(db, of_second) == {third.id}, "not to the first record, which has been merged since"
