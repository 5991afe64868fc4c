"""Searching the audit log: filters, time zones, paging, bad input, and the search itself audited."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from careplane.kernel.access import Actor
from careplane.kernel.audit.chain import seal_all
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.audit.record import entry_for
from careplane.kernel.audit.search import AuditFilters, search
from careplane.kernel.errors import AccessDenied, ValidationFailed
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from tests.kernel.audit.helpers import add_patient

LEAD = Actor(
    user_id=uuid.uuid4(),
    label="lead@example.org",
    roles=frozenset({Role.OPERATIONS_LEAD}),
    unit="primary_care",
    unit_function="primary_care",
    via="cli",
)


@pytest.fixture
def world(db):
    """Two patients, two users, entries across two days (UTC)."""
    with db.unit_of_work() as s:
        ada = add_patient(s, "MRN-ADA", "Ada", "Lovelace")
        bob = add_patient(s, "MRN-BOB", "Bob", "Builder")
        doc = create_user(s, email="doc@example.org", display_name="Doc", roles=[Role.CLINICIAN])
        rph = create_user(s, email="rph@example.org", display_name="Rph", roles=[Role.PHARMACIST])
        doc_actor = Actor(user_id=doc.id, label=doc.email, roles=doc.roles, unit_function=doc.unit, ip="10.0.0.1")
        rph_actor = Actor(user_id=rph.id, label=rph.email, roles=rph.roles, unit_function=rph.unit, ip="10.0.0.2")
        rows = [
            (doc_actor, "patient.read", "allowed", ada.id, datetime(2026, 3, 1, 3, 0, tzinfo=UTC)),
            (doc_actor, "patient.update", "allowed", ada.id, datetime(2026, 3, 1, 15, 0, tzinfo=UTC)),
            (rph_actor, "patient.read", "denied", ada.id, datetime(2026, 3, 2, 4, 30, tzinfo=UTC)),
            (rph_actor, "patient.read", "allowed", bob.id, datetime(2026, 3, 2, 12, 0, tzinfo=UTC)),
            (Actor.for_system("import"), "patient.register", "allowed", bob.id, datetime(2026, 3, 3, 9, 0, tzinfo=UTC)),
        ]
        for actor, action, outcome, patient_id, at in rows:
            entry = entry_for(actor, action, outcome=outcome, patient_id=patient_id)
            entry.occurred_at = at
            s.add(entry)
    return {"ada": ada, "bob": bob, "doc": doc, "rph": rph}


def run(db, actor=LEAD, after=None, limit=50, **filters):
    with db.unit_of_work() as s:
        page = search(s, actor, AuditFilters(**filters), after=after, limit=limit)
        return [(r.entry.action, r.entry.outcome, r.patient_mrn, r.occurred_local) for r in page.rows], page


def test_newest_first_with_patient_mrn_and_name(db, world):
    rows, page = run(db)
    assert [r[3] for r in rows] == sorted((r[3] for r in rows), reverse=True)
    assert len(rows) == 5 and page.next_cursor is None
    assert rows[0][2] == "MRN-BOB" and page.rows[0].patient_name == "Bob Builder"


def test_filter_by_patient_mrn_or_id(db, world):
    by_mrn, _ = run(db, patient="MRN-ADA")
    by_id, _ = run(db, patient=str(world["ada"].id))
    assert len(by_mrn) == 3 and by_mrn == by_id
    assert {r[2] for r in by_mrn} == {"MRN-ADA"}


def test_filter_by_user_email_and_system_label(db, world):
    rows, _ = run(db, user="  RPH@example.org ")
    assert [(a, o) for a, o, *_ in rows] == [("patient.read", "allowed"), ("patient.read", "denied")]
    rows, _ = run(db, user="system:import")
    assert [r[0] for r in rows] == ["patient.register"]
    rows, _ = run(db, user="nobody@example.org")
    assert rows == []


def test_filter_by_outcome_and_action(db, world):
    rows, _ = run(db, outcome="denied")
    assert [(r[1], r[2]) for r in rows] == [("denied", "MRN-ADA")]
    rows, _ = run(db, action="patient.update")
    assert len(rows) == 1


def test_dates_are_whole_days_in_the_viewers_zone(db, world):
    rows, _ = run(db, since="2026-03-01", until="2026-03-01")  # UTC day
    assert len(rows) == 2
    # In New York (UTC-5), 1 March runs 05:00 UTC 1 Mar to 05:00 UTC 2 Mar.
    rows, page = run(db, since="2026-03-01", until="2026-03-01", tz="America/New_York")
    assert [r[0] for r in rows] == ["patient.read", "patient.update"]
    assert rows[0][3].utcoffset() == timedelta(hours=-5) and rows[0][3].hour == 23  # 04:30 UTC shown as 23:30
    rows, _ = run(db, since="2026-03-02T00:00", until="2026-03-31", tz="America/New_York")
    assert len(rows) == 2
    rows, _ = run(db, since="2026-03-02T12:00:00+00:00", until="2026-03-02T12:00:00+00:00")
    assert len(rows) == 1  # a date-time until is inclusive


def test_keyset_pages_walk_everything_once(db, world):
    seen, after = [], None
    while True:
        rows, page = run(db, after=after, limit=2)
        seen += rows
        after = page.next_cursor
        if after is None:
            break
    assert len(seen) == 5 and len({r[3] for r in seen}) == 5


def test_bad_filters_name_their_fields(db, world):
    with pytest.raises(ValidationFailed) as exc:
        run(db, since="2026-03-05", until="2026-03-01", outcome="maybe", patient="MRN-NOPE", tz="Mars/Base")
    assert set(exc.value.errors) == {"until", "outcome", "patient", "tz"}
    with pytest.raises(ValidationFailed) as exc:
        run(db, since="yesterday")
    assert set(exc.value.errors) == {"since"}
    with pytest.raises(ValidationFailed) as exc:
        run(db, after="not-a-cursor")
    assert set(exc.value.errors) == {"after"}


def test_search_is_recorded_and_sealed_state_shown(db, world):
    with db.unit_of_work() as s:
        seal_all(s)
    rows, page = run(db, patient="MRN-BOB")
    assert all(r.sealed for r in page.rows)
    with db.unit_of_work() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "audit.read")).all()
        assert len(reads) == 1
        assert reads[0].patient_id is None and reads[0].actor_label == "lead@example.org"
        assert "patient=MRN-BOB" in reads[0].reason and reads[0].seq is None


def test_refused_search_is_recorded(db, world):
    clinician = Actor(
        user_id=world["doc"].id,
        label="doc@example.org",
        roles=frozenset({Role.CLINICIAN}),
        unit="virtual_care",
        unit_function="virtual_care",
    )
    with pytest.raises(AccessDenied), db.unit_of_work() as s:
        search(s, clinician, AuditFilters(patient="MRN-ADA"))
    with db.unit_of_work() as s:
        denied = s.scalar(select(AuditEntry).where(AuditEntry.action == "audit.read"))
        assert denied.outcome == "denied" and denied.actor_user_id == world["doc"].id


def test_refused_search_reveals_nothing_about_its_filters(db, world):
    """An outsider's bad filters are refused, not answered with "no such MRN" (which would tell them what exists)."""
    clinician = Actor(
        user_id=world["doc"].id,
        label="doc@example.org",
        roles=frozenset({Role.CLINICIAN}),
        unit="virtual_care",
        unit_function="virtual_care",
    )
    for filters in (
        AuditFilters(patient="NO-SUCH-MRN"),
        AuditFilters(user="nobody@example.org"),
        AuditFilters(since="yesterday", tz="Mars/Base"),
    ):
        with pytest.raises(AccessDenied), db.unit_of_work() as s:
            search(s, clinician, filters)
    with db.unit_of_work() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "audit.read")).all()
        assert [d.outcome for d in denied] == ["denied"] * 3
