"""Merging two registrations of one person, the way a master patient index does (HL7 v2 ADT^A40,
FHIR ``Patient.link`` of type replaced-by).

The record that survives keeps its id, MRN and demographics; its blank fields are filled from the
other. The merged record is never deleted: it stays, inactive and read-only, pointing at the
survivor (``merged_into_id``), so an old MRN, a printed label or an integration that holds its id
still leads to the person. What the registry owns moves in the same transaction (consents,
emergency contacts, allergies, portal accounts, possible-duplicate pairs); everything else is asked for with
the :class:`~careplane.kernel.patients.events.PatientsMerged` event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import InstrumentedAttribute, Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, audit_disclosures, authorize
from careplane.kernel.db import Base
from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.events import publish
from careplane.kernel.identity.models import User
from careplane.kernel.patients.allergies.models import AllergyStatus, PatientAllergy
from careplane.kernel.patients.events import PatientsMerged
from careplane.kernel.patients.models import Consent, EmergencyContact, Patient, PossibleDuplicate

#: Fields filled one by one when blank on the survivor.
SINGLE_FIELDS = ("middle_name", "preferred_name", "gender_identity", "phone", "email")
#: Filled together, and only when the survivor has no address at all: never half of one address
#: completed from another.
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "postal_code")
#: What people call the fields (in flashes, on the confirmation page).
FIELD_LABELS = {
    "middle_name": "middle name",
    "preferred_name": "preferred name",
    "gender_identity": "gender identity",
    "phone": "phone",
    "email": "e-mail",
    "address_line1": "address",
    "address_line2": "address line 2",
    "city": "city",
    "state": "state",
    "postal_code": "ZIP code",
}


class RecordMerged(Conflict):
    """The record was merged into another: it is read-only, and the answer says which record replaced it."""

    type_slug = "patient-merged"
    title = "Record merged"

    def __init__(self, patient: Patient, detail: str | None = None) -> None:
        when = patient.merged_at.strftime("%Y-%m-%d") if patient.merged_at else "earlier"
        super().__init__(
            detail
            or f"MRN {patient.mrn} was merged into another record on {when} and can no longer be "
            "changed; change the record that replaced it.",
            replaced_by=str(patient.merged_into_id),
        )
        self.replaced_by = patient.merged_into_id


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def fields_to_fill(survivor: Patient, merged: Patient) -> list[str]:
    """The survivor's blank fields that the merged record has a value for, in form order."""
    fill = [name for name in SINGLE_FIELDS if _blank(getattr(survivor, name)) and not _blank(getattr(merged, name))]
    if all(_blank(getattr(survivor, name)) for name in ADDRESS_FIELDS):
        fill += [name for name in ADDRESS_FIELDS if not _blank(getattr(merged, name))]
    return fill


def labels(fields: list[str]) -> list[str]:
    return [FIELD_LABELS[name] for name in fields]


@dataclass
class MergeResult:
    survivor: Patient
    merged: Patient
    #: Survivor fields that were blank and now hold the merged record's value.
    filled: list[str]
    consents_moved: int
    contacts_moved: int
    #: Contacts of the merged record the survivor already had (same name, relationship and phone).
    contacts_already_there: int
    portal_accounts_moved: int
    #: Records merged into the merged record earlier, now pointing at the survivor.
    earlier_merges_repointed: int
    #: Possible-duplicate pairs: "merged" (the two records' own), "repointed" (the merged record's
    #: open pairs with a third record, now the survivor's) and "superseded" (closed: the survivor
    #: already had a pair with that record).
    pairs: dict[str, int] = field(default_factory=lambda: {"merged": 0, "repointed": 0, "superseded": 0})
    event_id: uuid.UUID | None = None
    #: Allergy entries moved, each as it was (statuses, who recorded them); none is dropped as a
    #: duplicate, so no one's record of a reaction is lost.
    allergies_moved: int = 0

    def summary(self) -> str:
        """One sentence for the person who merged."""
        parts = [f"Merged MRN {self.merged.mrn} into MRN {self.survivor.mrn}."]
        if self.filled:
            parts.append(f"Filled from it: {', '.join(labels(self.filled))}.")
        moved = []
        if self.consents_moved:
            moved.append(f"{self.consents_moved} consent{'s' * (self.consents_moved != 1)}")
        if self.contacts_moved:
            moved.append(f"{self.contacts_moved} emergency contact{'s' * (self.contacts_moved != 1)}")
        if self.allergies_moved:
            moved.append(f"{self.allergies_moved} allerg{'ies' if self.allergies_moved != 1 else 'y'}")
        if self.portal_accounts_moved:
            moved.append(f"{self.portal_accounts_moved} portal account{'s' * (self.portal_accounts_moved != 1)}")
        if moved:
            parts.append(f"Moved {', '.join(moved)}.")
        return " ".join(parts)


@dataclass
class MergePreview:
    """What the confirmation page compares: the pair's two records and, for either choice of
    survivor, which of its blank fields the other record would fill."""

    pair: PossibleDuplicate
    patient: Patient
    other: Patient
    fills: dict[uuid.UUID, list[str]]


def _other_of(pair: PossibleDuplicate, patient_id: uuid.UUID) -> uuid.UUID:
    return pair.other_patient_id if pair.patient_id == patient_id else pair.patient_id


def merge_preview(session: Session, actor: Actor, patient_id: uuid.UUID, pair_id: uuid.UUID) -> MergePreview:
    """Both records of an open pair, side by side, for someone who may merge them (audited for both)."""
    authorize(
        session,
        actor,
        Permission.PATIENT_MERGE,
        patient_id=patient_id,
        resource_type="patient.merge_preview",
        resource_id=str(pair_id),
    )
    pair = session.get(PossibleDuplicate, pair_id)
    if pair is None or patient_id not in (pair.patient_id, pair.other_patient_id):
        raise NotFound("There is no such possible duplicate for this patient.")
    other_id = _other_of(pair, patient_id)
    authorize(
        session,
        actor,
        Permission.PATIENT_MERGE,
        patient_id=other_id,
        resource_type="patient.merge_preview",
        resource_id=str(pair_id),
    )
    if pair.status != "open":
        raise Conflict("This pair was already decided.")
    patient, other = session.get(Patient, patient_id), session.get(Patient, other_id)
    if patient is None or other is None:
        raise NotFound("No patient with this id.")
    for record in (patient, other):
        if not record.active:
            raise RecordMerged(record, f"MRN {record.mrn} was already merged into another record.")
    return MergePreview(
        pair, patient, other, {patient.id: fields_to_fill(patient, other), other.id: fields_to_fill(other, patient)}
    )


def merge_patients(
    session: Session, actor: Actor, survivor_id: uuid.UUID, merged_id: uuid.UUID, pair_id: uuid.UUID | None = None
) -> MergeResult:
    """Fold ``merged_id`` into ``survivor_id``: one person, one active record. Needs ``patient.merge``
    for both records (each access audited); refuses a record merged into itself, a record already
    merged (either side), unknown ids (404) and a ``pair_id`` that is not these two records' open pair."""
    for pid, other in ((survivor_id, merged_id), (merged_id, survivor_id)):
        authorize(
            session,
            actor,
            Permission.PATIENT_MERGE,
            patient_id=pid,
            resource_type="patient.merge",
            resource_id=str(other),
            reason="survivor" if pid == survivor_id else f"merged into {survivor_id}",
        )
        if survivor_id == merged_id:
            raise ValidationFailed({"merge_patient_id": "A record cannot be merged into itself."})
    # Both rows locked, in id order: two merges of the same records (even in opposite directions)
    # run one after the other, and the second sees the first's outcome.
    found = {
        p.id: p
        for p in session.scalars(
            select(Patient)
            .where(Patient.id.in_((survivor_id, merged_id)))
            .order_by(Patient.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    if survivor_id not in found:
        raise NotFound("No patient with this id.")
    if merged_id not in found:
        raise NotFound("There is no patient with the id given to merge.")
    survivor, merged = found[survivor_id], found[merged_id]
    if not merged.active:
        raise RecordMerged(merged, f"MRN {merged.mrn} was already merged into another record.")
    if not survivor.active:
        raise RecordMerged(
            survivor,
            f"MRN {survivor.mrn} was itself merged into another record; merge into the record that replaced it.",
        )
    pair = _reviewed_pair(session, pair_id, survivor_id, merged_id)

    now = clock.now()
    result = MergeResult(
        survivor=survivor,
        merged=merged,
        filled=fields_to_fill(survivor, merged),
        consents_moved=0,
        contacts_moved=0,
        contacts_already_there=0,
        portal_accounts_moved=0,
        earlier_merges_repointed=0,
    )
    for name in result.filled:
        setattr(survivor, name, getattr(merged, name))
    result.consents_moved = _repoint(session, Consent, Consent.patient_id, merged_id, survivor_id)
    result.contacts_moved, result.contacts_already_there = _move_contacts(session, survivor_id, merged_id)
    result.allergies_moved = _repoint(session, PatientAllergy, PatientAllergy.patient_id, merged_id, survivor_id)
    _settle_no_known_allergies(session, survivor, merged)
    result.portal_accounts_moved = _repoint(session, User, User.patient_id, merged_id, survivor_id)
    result.earlier_merges_repointed = _repoint(session, Patient, Patient.merged_into_id, merged_id, survivor_id)
    result.pairs = _settle_pairs(session, survivor, merged)  # the reviewed pair among them
    merged.merged_into_id = survivor_id
    merged.merged_at = now
    session.flush()
    result.event_id = publish(
        session,
        PatientsMerged(
            survivor_id=survivor_id,
            merged_id=merged_id,
            survivor_mrn=survivor.mrn,
            merged_mrn=merged.mrn,
            merged_at=now,
            pair_id=pair.id if pair else None,
        ),
    )
    return result


def merged_records(session: Session, actor: Actor, patient_id: uuid.UUID) -> list[Patient]:
    """The records merged into this one (their MRNs are this person's old numbers); shown with it, so audited."""
    authorize(
        session,
        actor,
        Permission.PATIENT_READ,
        patient_id=patient_id,
        resource_type="patient.merged_records",
        resource_id=str(patient_id),
    )
    found = list(
        session.scalars(
            select(Patient).where(Patient.merged_into_id == patient_id).order_by(Patient.merged_at, Patient.mrn)
        )
    )
    audit_disclosures(
        session, actor, Permission.PATIENT_READ, [p.id for p in found], resource_type="patient.merged_record"
    )
    return found


# ---------------------------------------------------------------- the moving parts


def _reviewed_pair(
    session: Session, pair_id: uuid.UUID | None, survivor_id: uuid.UUID, merged_id: uuid.UUID
) -> PossibleDuplicate | None:
    if pair_id is None:
        return None
    pair = session.get(PossibleDuplicate, pair_id, with_for_update=True)
    if pair is None or {pair.patient_id, pair.other_patient_id} != {survivor_id, merged_id}:
        raise NotFound("There is no such possible duplicate for these two records.")
    if pair.status != "open":
        raise Conflict(f"This pair was already decided ({pair.status.replace('_', ' ')}).")
    return pair


def _repoint(
    session: Session, model: type[Base], column: InstrumentedAttribute[uuid.UUID | None], old: uuid.UUID, new: uuid.UUID
) -> int:
    # An UPDATE's result is a CursorResult (which has the rowcount); Session.execute is typed for any statement.
    result = cast(CursorResult[Any], session.execute(update(model).where(column == old).values({column: new})))
    return result.rowcount or 0


def _settle_no_known_allergies(session: Session, survivor: Patient, merged: Patient) -> None:
    """Once the allergies moved: the survivor's "no known allergies" stands only while no entry is
    active; the merged record's statement fills a survivor that had none, as a blank field is filled."""
    active = select(PatientAllergy.id).where(
        PatientAllergy.patient_id == survivor.id, PatientAllergy.status == AllergyStatus.ACTIVE.value
    )
    if session.scalar(active.limit(1)) is not None:
        survivor.no_known_allergies_at = survivor.no_known_allergies_by = None
    elif survivor.no_known_allergies_at is None and merged.no_known_allergies_at is not None:
        survivor.no_known_allergies_at = merged.no_known_allergies_at
        survivor.no_known_allergies_by = merged.no_known_allergies_by


def _contact_key(contact: EmergencyContact) -> tuple[str, str, str]:
    return (
        " ".join(contact.name.split()).casefold(),
        " ".join(contact.relationship_to_patient.split()).casefold(),
        contact.phone,
    )


def _move_contacts(session: Session, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> tuple[int, int]:
    """Move the merged record's contacts; one the survivor already has is dropped, not doubled."""
    contacts = list(
        session.scalars(
            select(EmergencyContact)
            .where(EmergencyContact.patient_id.in_((survivor_id, merged_id)))
            .order_by(EmergencyContact.name)
        )
    )
    known = {_contact_key(c) for c in contacts if c.patient_id == survivor_id}
    moved = already = 0
    for contact in contacts:
        if contact.patient_id != merged_id:
            continue
        if _contact_key(contact) in known:
            session.delete(contact)
            already += 1
        else:
            contact.patient_id = survivor_id
            known.add(_contact_key(contact))
            moved += 1
    return moved, already


def _settle_pairs(session: Session, survivor: Patient, merged: Patient) -> dict[str, int]:
    """The two records' own open pairs become ``merged``; the merged record's other open pairs move to
    the survivor, unless the survivor already has a pair with that record (then ``superseded``).
    Decided pairs stay as they were: they are the history of what people decided."""
    involving = list(
        session.scalars(
            select(PossibleDuplicate)
            .where(
                or_(
                    PossibleDuplicate.patient_id.in_((survivor.id, merged.id)),
                    PossibleDuplicate.other_patient_id.in_((survivor.id, merged.id)),
                )
            )
            .order_by(PossibleDuplicate.found_at, PossibleDuplicate.id)
            .with_for_update()
        )
    )
    partners = {_other_of(p, survivor.id) for p in involving if survivor.id in (p.patient_id, p.other_patient_id)}
    counts = {"merged": 0, "repointed": 0, "superseded": 0}
    for pair in involving:
        if merged.id not in (pair.patient_id, pair.other_patient_id) or pair.status != "open":
            continue
        other = _other_of(pair, merged.id)
        if other == survivor.id:
            pair.status = "merged"
            counts["merged"] += 1
        elif other in partners:
            pair.status = "superseded"
            counts["superseded"] += 1
        else:
            if pair.patient_id == merged.id:
                pair.patient_id = survivor.id
            else:
                pair.other_patient_id = survivor.id
            pair.reasons = f"{pair.reasons}; matched MRN {merged.mrn}, since merged into MRN {survivor.mrn}"
            partners.add(other)
            counts["repointed"] += 1
    return counts
