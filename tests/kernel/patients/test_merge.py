"""Merging two registrations of one person: what moves, what is filled, what is refused, what is recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.audit.search import AuditFilters
from careplane.kernel.audit.search import search as audit_search
from careplane.kernel.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from careplane.kernel.events import OutboxEvent
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from careplane.kernel.patients import service
from careplane.kernel.patients.events import PatientsMerged
from careplane.kernel.patients.models import Patient, PossibleDuplicate
from careplane.kernel.patients.service import DuplicateSuspected, RecordMerged

from .conftest import SYSTEM, patient_data

LEAD = Actor(
    user_id=uuid.uuid4(),
    label="lead@example.org",
    roles=frozenset({Role.OPERATIONS_LEAD}),
    unit="primary_care",
    unit_function="primary_care",
)


def count(db, model, *where) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def pair_of(db, a, b) -> PossibleDuplicate:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(
            select(PossibleDuplicate).where(
                PossibleDuplicate.patient_id.in_((a, b)), PossibleDuplicate.other_patient_id.in_((a, b))
            )
        )


def add_pair(db, a, b, status="open") -> uuid.UUID:  # noqa: ANN001
    with db.unit_of_work() as s:
        pair = PossibleDuplicate(
            patient_id=a, other_patient_id=b, score=0.93, reasons="same date of birth", status=status
        )
        s.add(pair)
        s.flush()
        return pair.id


@pytest.fixture
def two(register):  # noqa: ANN001, ANN201
    """The same man registered twice: a sparse record first, a fuller one (as 'Jon') that matched it."""
    survivor = register(email=None, phone=None, state=None, postal_code=None)
    merged = register(
        given_name="Jon",
        middle_name="Quincy",
        address_line1="1 Main St",
        city="Albany",
        state="NY",
        postal_code="12207",
        gender_identity="man",
    )
    return survivor, merged


def test_merge_moves_what_the_registry_owns_fills_blanks_and_settles_pairs(db, register, two):
    survivor, merged = two
    pair = pair_of(db, survivor.id, merged.id)
    assert pair is not None and pair.status == "open"  # found when the second one registered
    third = register(given_name="Maria", family_name="Garcia", birth_date="1990-02-02", email=None, phone=None)
    fourth = register(given_name="Ana", family_name="Lopez", birth_date="1991-03-03", email=None, phone=None)
    fifth = register(given_name="Li", family_name="Wei", birth_date="1992-04-04", email=None, phone=None)
    earlier = register(given_name="Johnny", birth_date="1970-01-01", email=None, phone=None)
    to_third = add_pair(db, merged.id, third.id)  # moves to the survivor
    add_pair(db, fourth.id, survivor.id)
    to_fourth = add_pair(db, merged.id, fourth.id)  # the survivor has its own pair with her: closed
    decided = add_pair(db, fifth.id, merged.id, status="not_duplicate")  # history, untouched

    clock.travel(datetime(2025, 6, 1, 9, tzinfo=UTC))
    with db.unit_of_work() as s:
        service.grant_consent(s, SYSTEM, merged.id, "telehealth", version="2025-06")
        service.grant_consent(s, SYSTEM, merged.id, "treatment")
        service.set_emergency_contacts(
            s, SYSTEM, survivor.id, [{"name": "Ann Smith", "relationship": "spouse", "phone": "(212) 555-0177"}]
        )
        service.set_emergency_contacts(
            s,
            SYSTEM,
            merged.id,
            [
                {"name": "ann  SMITH", "relationship": "Spouse", "phone": "212 555 0177"},  # the same contact
                {"name": "Bob Smith", "relationship": "brother", "phone": "(212) 555-0188"},
            ],
        )
        portal = create_user(s, email="jon@example.org", display_name="Jon", roles=[Role.PATIENT], patient_id=merged.id)
        service.merge_patients(s, SYSTEM, merged.id, earlier.id)  # an earlier merge into the merged record
    clock.travel(datetime(2026, 2, 3, 10, tzinfo=UTC))

    with db.unit_of_work() as s:
        result = service.merge_patients(s, LEAD, survivor.id, merged.id, pair.id)
        assert result.filled == [
            "middle_name",
            "gender_identity",
            "phone",
            "email",
            "address_line1",
            "city",
            "state",
            "postal_code",
        ]
        assert (result.consents_moved, result.contacts_moved, result.contacts_already_there) == (2, 1, 1)
        assert (result.portal_accounts_moved, result.earlier_merges_repointed) == (1, 1)
        assert result.pairs == {"merged": 1, "repointed": 1, "superseded": 1}
        assert "Merged MRN" in result.summary() and "middle name" in result.summary()

    with db.unit_of_work() as s:
        kept, gone = s.get(Patient, survivor.id), s.get(Patient, merged.id)
        # the survivor keeps its own demographics, and gains what it lacked
        assert (kept.given_name, kept.middle_name, kept.city, kept.state) == ("Jonathan", "Quincy", "Albany", "NY")
        assert kept.phone == "+12125550123" and kept.active and kept.replaced_by is None
        # the merged record is kept, inactive, pointing at the survivor
        assert gone.given_name == "Jon" and not gone.active and gone.replaced_by == survivor.id
        assert gone.merged_at.date() == date(2026, 2, 3)
        assert s.get(Patient, earlier.id).merged_into_id == survivor.id  # no chains
        consents = sorted((c.kind, c.version, c.granted_at.date()) for c in kept.consents)
        assert consents == [("telehealth", "2025-06", date(2025, 6, 1)), ("treatment", "2026-01", date(2025, 6, 1))]
        assert sorted(c.name for c in kept.emergency_contacts) == ["Ann Smith", "Bob Smith"]
        assert gone.consents == [] and gone.emergency_contacts == []
        assert s.get(User, portal.id).patient_id == survivor.id
        assert s.get(PossibleDuplicate, pair.id).status == "merged"
        moved = s.get(PossibleDuplicate, to_third)
        assert {moved.patient_id, moved.other_patient_id} == {survivor.id, third.id} and moved.status == "open"
        assert f"matched MRN {merged.mrn}" in moved.reasons
        assert s.get(PossibleDuplicate, to_fourth).status == "superseded"
        assert s.get(PossibleDuplicate, decided).status == "not_duplicate"
        assert s.get(PossibleDuplicate, decided).other_patient_id == merged.id
        events = list(
            s.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.name == PatientsMerged.event_name())
                .order_by(OutboxEvent.occurred_at)
            )
        )
        assert len(events) == 2
        event = PatientsMerged.from_payload(events[-1].payload)
        assert (event.survivor_id, event.merged_id, event.pair_id) == (survivor.id, merged.id, pair.id)
        assert (event.survivor_mrn, event.merged_mrn) == (survivor.mrn, merged.mrn)
    for pid in (survivor.id, merged.id):
        assert (
            count(
                db,
                AuditEntry,
                AuditEntry.patient_id == pid,
                AuditEntry.action == "patient.merge",
                AuditEntry.outcome == "allowed",
                AuditEntry.actor_label == LEAD.label,
            )
            == 1
        )


def test_a_merged_record_is_hidden_from_search_and_matching_and_is_read_only(db, register, two):
    survivor, merged = two
    with db.unit_of_work() as s:
        service.merge_patients(s, LEAD, survivor.id, merged.id)
    with db.unit_of_work() as s:
        assert [p.id for p in service.search_patients(s, LEAD, "smith")] == [survivor.id]
        assert [p.id for p in service.search_patients(s, LEAD, "jon smith")] == [survivor.id]
        # the old MRN on a label still finds the person
        assert [p.id for p in service.search_patients(s, LEAD, merged.mrn)] == [survivor.id]
        assert [p.id for p in service.search_patients(s, LEAD, mrn_value=merged.mrn)] == [survivor.id]
        read = service.get_patient(s, LEAD, merged.id)
        assert read.active is False and read.replaced_by == survivor.id
    # a new registration of the same man is matched against the survivor only
    with pytest.raises(DuplicateSuspected) as caught, db.unit_of_work() as s:
        service.register_patient(s, LEAD, patient_data(given_name="Jon"))
    assert [c["id"] for c in caught.value.extensions["candidates"]] == [str(survivor.id)]
    for change in (
        lambda s: service.update_patient(s, LEAD, merged.id, {"city": "Troy"}),
        lambda s: service.set_emergency_contacts(s, LEAD, merged.id, []),
        lambda s: service.grant_consent(s, LEAD, merged.id, "telehealth"),
    ):
        with pytest.raises(RecordMerged) as refused, db.unit_of_work() as s:
            change(s)
        assert refused.value.status == 409 and refused.value.extensions["replaced_by"] == str(survivor.id)
    with db.unit_of_work() as s:
        assert s.get(Patient, merged.id).city == "Albany"


def test_merge_refuses_itself_unknown_ids_merged_records_and_foreign_pairs(db, register, two):
    survivor, merged = two
    other = register(given_name="Maria", family_name="Garcia", birth_date="1990-02-02", email=None, phone=None)
    with pytest.raises(ValidationFailed) as itself, db.unit_of_work() as s:
        service.merge_patients(s, LEAD, survivor.id, survivor.id)
    assert "itself" in itself.value.errors["merge_patient_id"]
    for a, b in ((uuid.uuid4(), merged.id), (survivor.id, uuid.uuid4())):
        with pytest.raises(NotFound), db.unit_of_work() as s:
            service.merge_patients(s, LEAD, a, b)
    foreign = add_pair(db, other.id, merged.id)
    with pytest.raises(NotFound), db.unit_of_work() as s:
        service.merge_patients(s, LEAD, survivor.id, merged.id, foreign)
    pair = pair_of(db, survivor.id, merged.id)
    with db.unit_of_work() as s:
        service.dismiss_duplicate(s, LEAD, survivor.id, pair.id)
    with pytest.raises(Conflict), db.unit_of_work() as s:  # decided as different people
        service.merge_patients(s, LEAD, survivor.id, merged.id, pair.id)

    with db.unit_of_work() as s:  # staff may still merge without a pair, having found it themselves
        service.merge_patients(s, LEAD, survivor.id, merged.id)
    for a, b in ((survivor.id, merged.id), (merged.id, survivor.id), (other.id, merged.id), (merged.id, other.id)):
        with pytest.raises(RecordMerged) as refused, db.unit_of_work() as s:
            service.merge_patients(s, LEAD, a, b)
        assert refused.value.extensions["replaced_by"] == str(survivor.id)
    assert count(db, OutboxEvent) == 1


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.PATIENT, Role.BILLER])
def test_only_those_who_hold_patient_merge_may_merge_and_refusals_are_recorded(db, two, role):
    survivor, merged = two
    actor = Actor(
        user_id=uuid.uuid4(),
        label=f"{role.value}@example.org",
        roles=frozenset({role}),
        patient_id=survivor.id if role is Role.PATIENT else None,
    )
    pair = pair_of(db, survivor.id, merged.id)
    with pytest.raises(AccessDenied), db.unit_of_work() as s:
        service.merge_patients(s, actor, survivor.id, merged.id, pair.id)
    with pytest.raises(AccessDenied), db.unit_of_work() as s:
        service.merge_preview(s, actor, survivor.id, pair.id)
    assert (
        count(
            db,
            AuditEntry,
            AuditEntry.actor_user_id == actor.user_id,
            AuditEntry.outcome == "denied",
            AuditEntry.action == "patient.merge",
            AuditEntry.patient_id == survivor.id,
        )
        == 2
    )
    with db.unit_of_work() as s:
        assert s.get(Patient, merged.id).active and s.get(PossibleDuplicate, pair.id).status == "open"
    assert count(db, OutboxEvent) == 0


def test_the_preview_shows_what_either_choice_would_fill(db, two):
    survivor, merged = two
    pair = pair_of(db, survivor.id, merged.id)
    with db.unit_of_work() as s:
        preview = service.merge_preview(s, LEAD, merged.id, pair.id)
        assert (preview.patient.id, preview.other.id) == (merged.id, survivor.id)
        assert preview.fills[survivor.id] == [
            "middle_name",
            "gender_identity",
            "phone",
            "email",
            "address_line1",
            "city",
            "state",
            "postal_code",
        ]
        assert preview.fills[merged.id] == []  # the fuller record lacks nothing the other has
    assert count(db, AuditEntry, AuditEntry.resource_type == "patient.merge_preview") == 2
    with pytest.raises(NotFound), db.unit_of_work() as s:
        service.merge_preview(s, LEAD, merged.id, uuid.uuid4())


def test_audit_search_by_the_survivor_finds_what_was_recorded_under_the_merged_record(db, two):
    survivor, merged = two
    with db.unit_of_work() as s:
        service.get_patient(s, LEAD, merged.id)
        service.merge_patients(s, LEAD, survivor.id, merged.id)
    with db.unit_of_work() as s:
        rows = audit_search(s, LEAD, AuditFilters(patient=survivor.mrn), limit=200).rows
        under_merged = [r for r in rows if r.entry.patient_id == merged.id]
        assert {r.entry.action for r in under_merged} >= {"patient.register", "patient.read", "patient.merge"}
        assert {r.patient_mrn for r in under_merged} == {merged.mrn}  # each row still names its record
        only_merged = audit_search(s, LEAD, AuditFilters(patient=merged.mrn), limit=200).rows
        assert {r.entry.patient_id for r in only_merged} == {merged.id}
