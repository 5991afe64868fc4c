"""Listing a queue: soonest deadline first (overdue leading), pages in a stable order, filters, who
may see which queue, and patients shown (and audited) only to those who may open their records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from careplane.kernel import clock, work
from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.db import Database
from careplane.kernel.errors import AccessDenied, ValidationFailed
from careplane.kernel.identity.roles import Role
from careplane.kernel.work import ItemFilter
from tests.kernel.org.test_departures import lead_actor
from tests.kernel.work.builders import VERIFY, VISITS, item, patient, person, seed


def titles(db: Database, actor: Actor, queue_id, wanted: ItemFilter | None = None, **kw) -> list[str]:  # noqa: ANN001, ANN003
    with db.unit_of_work() as s:
        return [r.item.title for r in work.list_items(s, actor, queue_id, wanted, **kw).rows]


def test_overdue_first_then_by_deadline_then_undated_oldest_first(db: Database):
    ids = seed(db)
    now = clock.now()
    for title, due in (
        ("later", now + timedelta(hours=5)),
        ("undated 1", None),
        ("overdue", now - timedelta(hours=1)),
        ("soon", now + timedelta(minutes=30)),
        ("undated 2", None),
    ):
        item(db, VISITS.key, title=title, due_at=due)
    clinician = person(db)
    assert titles(db, clinician, ids[VISITS.key]) == ["overdue", "soon", "later", "undated 1", "undated 2"]
    with db.unit_of_work() as s:
        rows = {r.item.title: r for r in work.list_items(s, clinician, ids[VISITS.key]).rows}
    assert rows["overdue"].overdue and rows["overdue"].time_left < timedelta(0)
    assert not rows["soon"].overdue and timedelta(minutes=29) < rows["soon"].time_left <= timedelta(minutes=30)
    assert rows["undated 1"].time_left is None and not rows["undated 1"].overdue
    assert titles(db, clinician, ids[VISITS.key], ItemFilter(overdue=True)) == ["overdue"]


def test_pages_cover_every_item_once_even_with_equal_deadlines(db: Database):
    ids = seed(db)
    due = clock.now() + timedelta(hours=1)
    made = {f"item {n}" for n in range(7)}
    for title in sorted(made):
        item(db, VISITS.key, title=title, due_at=due)
    clinician = person(db)
    seen, offset = [], 0
    while offset is not None:
        with db.unit_of_work() as s:
            page = work.list_items(s, clinician, ids[VISITS.key], limit=3, offset=offset)
        assert page.total == 7
        seen += [r.item.title for r in page.rows]
        offset = page.next_offset
    assert len(seen) == 7 and set(seen) == made
    assert seen == titles(db, clinician, ids[VISITS.key]), "the same order whole or in pages"
    with db.unit_of_work() as s, pytest.raises(ValidationFailed):
        work.list_items(s, clinician, ids[VISITS.key], limit=0)


def test_filters(db: Database):
    ids = seed(db)
    texan, other = person(db, licences=("TX",)), person(db, licences=("NY",))
    mine = item(db, VISITS.key, title="mine", state="TX")
    item(db, VISITS.key, title="tx open", state="TX")
    item(db, VISITS.key, title="ny open", state="NY")
    item(db, VISITS.key, title="video", kind="video_visit")
    theirs = item(db, VISITS.key, title="theirs", state="NY")
    done = item(db, VISITS.key, title="done")
    with db.unit_of_work() as s:
        work.claim(s, texan, mine)
        work.claim(s, other, theirs)
        work.claim(s, texan, done)
        work.complete(s, texan, done)
    q = ids[VISITS.key]
    assert titles(db, texan, q, ItemFilter(assignee="me")) == ["mine"]
    assert titles(db, texan, q, ItemFilter(assignee="unassigned")) == ["tx open", "ny open", "video"]
    assert titles(db, texan, q, ItemFilter(claimable=True)) == ["tx open", "video"], "NY needs a licence they lack"
    assert titles(db, texan, q, ItemFilter(kind="video_visit")) == ["video"]
    assert titles(db, texan, q, ItemFilter(state="ny")) == ["ny open", "theirs"]
    assert titles(db, texan, q, ItemFilter(status="done")) == ["done"]
    assert len(titles(db, texan, q, ItemFilter(status="all"))) == 6
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as refused:
        work.list_items(s, texan, q, ItemFilter(status="closed", assignee="nobody"))
    assert set(refused.value.errors) == {"status", "assignee"}


def test_who_sees_which_queue_and_which_patient(db: Database):
    ids = seed(db)
    pid = patient(db)
    visit = item(db, VISITS.key, patient_id=pid, due_at=clock.now() - timedelta(minutes=5))
    item(db, VERIFY.key, kind="rx_verify", title="Verify")
    clinician, pharmacist = person(db), person(db, Role.PHARMACIST)
    admin = person(db, Role.ADMINISTRATOR)
    lead = lead_actor(db)
    with pytest.raises(AccessDenied, match="worked by the staff of Virtual Care"):
        titles(db, pharmacist, ids[VISITS.key])
    with pytest.raises(AccessDenied, match="only members of team Verification"):
        titles(db, pharmacist, ids[VERIFY.key])
    with db.unit_of_work() as s:
        assert [q.place.queue.key for q in work.visible_queues(s, clinician)] == [VISITS.key]
        assert work.visible_queues(s, pharmacist) == []
        every = {q.place.queue.name: q for q in work.visible_queues(s, lead)}
        assert len(every) == 6
        assert (every["Visit queue"].open_items, every["Visit queue"].unassigned, every["Visit queue"].overdue) == (
            1,
            1,
            1,
        )
        shown = {a: work.list_items(s, a, ids[VISITS.key]).rows[0] for a in (clinician, admin, lead)}
    assert shown[clinician].patient_id == pid and shown[lead].patient_id == pid
    assert shown[admin].patient_id is None and shown[admin].has_patient, "administrators see no patient"
    with db.unit_of_work() as s:
        disclosed = set(
            s.scalars(
                select(AuditEntry.actor_label).where(
                    AuditEntry.patient_id == pid,
                    AuditEntry.resource_type == "work.item",
                    AuditEntry.outcome == "allowed",
                )
            )
        )
        assert disclosed == {clinician.label, lead.label}
        assert work.get_item(s, clinician, visit).item.id == visit
    with pytest.raises(AccessDenied), db.unit_of_work() as s:
        work.list_items(s, admin, ids[VISITS.key], ItemFilter(patient_id=pid))
    with db.unit_of_work() as s:
        refused = s.scalar(
            select(AuditEntry).where(AuditEntry.actor_label == admin.label, AuditEntry.patient_id == pid)
        )
        assert (refused.action, refused.outcome) == ("patient.read", "denied"), (
            "looking for a patient's work is audited"
        )
        assert [r.item.id for r in work.list_items(s, clinician, ids[VISITS.key], ItemFilter(patient_id=pid)).rows] == [
            visit
        ]
        assert work.list_items(s, lead, ids[VISITS.key], ItemFilter(assignee="me")).rows == []
        assert work.list_items(s, admin, ids[VISITS.key], ItemFilter(assignee="me")).total == 0, (
            "no staff record: none is theirs"
        )
