"""The allergy list's use cases: read it, record an allergy, change an entry, say "no known allergies".

Every function takes the acting :class:`Actor` and goes through :func:`access.authorize`: reading is
``patient.read`` and changing ``patient.update``, each audited (resource type ``patient.allergies``),
so a patient reaches only their own list and staff what their role and unit allow. A patient adds to
their own list (patient-reported) but does not change an entry's status: whether an allergy is still
real, or was never true, is the care team's judgement.

"No known allergies" is kept on the patient record (``Patient.no_known_allergies_at`` and ``_by``),
not as an allergy row with SNOMED CT 716186003 "No known allergy" as FHIR's convention would have it.
As a row it would be a substance that is not one: every reader of the list (the banner, Pharmacy's
safety checks, :func:`active_allergy_substances`) would have to leave it out, its category and
criticality would mean nothing, and the table could hold it beside an active allergy, a
contradiction. On the patient it is one statement, with who and when, that recording an allergy
clears, and that is refused while an allergy is active; so "none known" (someone asked) stays
distinct from "not recorded" (no one has). The FHIR rendering can still produce the NKA resource.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, authorize, decide
from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.patients.allergies.models import AllergyCriticality, AllergyStatus, PatientAllergy
from careplane.kernel.patients.allergies.validation import clean_allergy_changes, clean_new_allergy
from careplane.kernel.patients.merge import RecordMerged
from careplane.kernel.patients.models import Patient

RESOURCE = "patient.allergies"
#: What the list says as a whole: some allergies are active, someone said there are none, or no one has said.
Assessment = Literal["allergies", "no-known-allergies", "not-recorded"]


class DuplicateAllergy(ValidationFailed):
    """The substance is already on the patient's active list (compared without case or spacing)."""

    status = 409
    title = "Already on the allergy list"
    type_slug = "duplicate-allergy"

    def __init__(self, existing: PatientAllergy) -> None:
        when = existing.recorded_at.strftime("%Y-%m-%d")
        super().__init__(
            {"substance": f"{existing.substance} is already on the active allergy list (recorded {when})."}
        )
        self.extensions = {"allergy_id": str(existing.id)}


@dataclass(frozen=True)
class AllergyList:
    """A patient's allergy list as a reader needs it: the entries, and what having none means."""

    patient_id: uuid.UUID
    allergies: list[PatientAllergy]
    no_known_allergies_at: datetime | None
    no_known_allergies_by: str | None

    @property
    def active(self) -> list[PatientAllergy]:
        return [a for a in self.allergies if a.active]

    @property
    def assessment(self) -> Assessment:
        """``allergies`` (some active), ``no-known-allergies`` (someone said so) or ``not-recorded``."""
        if self.active:
            return "allergies"
        return "no-known-allergies" if self.no_known_allergies_at else "not-recorded"


def _order(allergy: PatientAllergy) -> tuple[bool, bool, str]:
    """Active first, the high-criticality ones first among them, then by substance."""
    return (not allergy.active, allergy.criticality != AllergyCriticality.HIGH, allergy.substance_key)


def read_allergy_list(
    session: Session, actor: Actor, patient_id: uuid.UUID, *, include_inactive: bool = False
) -> AllergyList:
    """The list with the "no known allergies" statement, in one audited read."""
    authorize(
        session,
        actor,
        Permission.PATIENT_READ,
        patient_id=patient_id,
        resource_type=RESOURCE,
        resource_id=str(patient_id),
    )
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("No patient with this id.")
    query = select(PatientAllergy).where(PatientAllergy.patient_id == patient_id)
    if not include_inactive:
        query = query.where(PatientAllergy.status == AllergyStatus.ACTIVE.value)
    allergies = sorted(session.scalars(query), key=_order)
    return AllergyList(patient_id, allergies, patient.no_known_allergies_at, patient.no_known_allergies_by)


def list_allergies(
    session: Session, actor: Actor, patient_id: uuid.UUID, *, include_inactive: bool = False
) -> list[PatientAllergy]:
    """The patient's active allergies (and the inactive and entered-in-error ones, if asked), active
    first, high criticality first among them."""
    return read_allergy_list(session, actor, patient_id, include_inactive=include_inactive).allergies


def active_allergy_substances(session: Session, actor: Actor, patient_id: uuid.UUID) -> list[str]:
    """The substances of the active entries, as recorded: the read a unit's check needs (audited)."""
    return [a.substance for a in list_allergies(session, actor, patient_id)]


def may_change_status(actor: Actor, patient_id: uuid.UUID) -> bool:
    """Would :func:`update_allergy` allow this actor (for showing its buttons; it decides again)."""
    return decide(actor, Permission.PATIENT_UPDATE, patient_id, staff_only=True) is None


def record_allergy(session: Session, actor: Actor, patient_id: uuid.UUID, data: Mapping[str, Any]) -> PatientAllergy:
    """Add an active entry: ``substance``, ``category``, optional ``reaction``, ``criticality``
    (unable-to-assess when not given) and ``source``. A substance already active is refused
    (:class:`DuplicateAllergy`); a "no known allergies" statement is cleared."""
    allergy_id = uuid.uuid4()
    authorize(
        session,
        actor,
        Permission.PATIENT_UPDATE,
        patient_id=patient_id,
        resource_type=RESOURCE,
        resource_id=str(allergy_id),
    )
    patient = _locked_patient(session, patient_id)
    fields = clean_new_allergy(data, by_patient=actor.is_patient_only)
    _refuse_duplicate(session, patient_id, fields["substance_key"])
    now = clock.now()
    allergy = PatientAllergy(
        id=allergy_id, patient_id=patient_id, recorded_by=actor.label, recorded_at=now, updated_at=now, **fields
    )
    session.add(allergy)
    patient.no_known_allergies_at = patient.no_known_allergies_by = None
    session.flush()
    return allergy


def update_allergy(
    session: Session, actor: Actor, patient_id: uuid.UUID, allergy_id: uuid.UUID, changes: Mapping[str, Any]
) -> PatientAllergy:
    """Change an entry's ``status`` (inactive: no longer true; entered-in-error: never was; active
    again), ``reaction`` or ``criticality``. A status change records who and when. Staff only; an
    entry entered in error is final."""
    authorize(
        session,
        actor,
        Permission.PATIENT_UPDATE,
        patient_id=patient_id,
        resource_type=RESOURCE,
        resource_id=str(allergy_id),
        reason=f"status: {changes['status']}" if isinstance(changes.get("status"), str) else None,
        staff_only=True,
    )
    patient = _locked_patient(session, patient_id)
    allergy = session.get(PatientAllergy, allergy_id)
    if allergy is None or allergy.patient_id != patient_id:
        raise NotFound("No such allergy on this patient's list.")
    cleaned = clean_allergy_changes(changes)
    if allergy.status == AllergyStatus.ENTERED_IN_ERROR:
        raise Conflict(
            "This entry was marked entered in error, which is final; record the allergy again if it is real."
        )
    now = clock.now()
    new_status = cleaned.pop("status", allergy.status)
    if new_status != allergy.status:
        if new_status == AllergyStatus.ACTIVE:
            _refuse_duplicate(session, patient_id, allergy.substance_key)
            patient.no_known_allergies_at = patient.no_known_allergies_by = None
        allergy.status, allergy.status_changed_by, allergy.status_changed_at = new_status, actor.label, now
        allergy.updated_at = now
    for name, value in cleaned.items():
        if getattr(allergy, name) != value:
            setattr(allergy, name, value)
            allergy.updated_at = now
    session.flush()
    return allergy


def record_no_known_allergies(session: Session, actor: Actor, patient_id: uuid.UUID) -> AllergyList:
    """Someone asked, and the patient has no known allergies: recorded with who and when. Refused
    while an entry is active (mark it inactive or entered in error first)."""
    authorize(
        session,
        actor,
        Permission.PATIENT_UPDATE,
        patient_id=patient_id,
        resource_type=RESOURCE,
        resource_id=str(patient_id),
        reason="no known allergies",
    )
    patient = _locked_patient(session, patient_id)
    active = _active(session, patient_id)
    if active:
        names = ", ".join(a.substance for a in sorted(active, key=_order))
        raise Conflict(f"The list has active allergies ({names}): mark them inactive first if they are no longer true.")
    patient.no_known_allergies_at, patient.no_known_allergies_by = clock.now(), actor.label
    session.flush()
    return AllergyList(patient_id, [], patient.no_known_allergies_at, patient.no_known_allergies_by)


def _locked_patient(session: Session, patient_id: uuid.UUID) -> Patient:
    """The record, locked so that two changes to one list run one after the other (the duplicate
    rule sees the first's entry); a merged record is read-only."""
    patient = session.scalar(
        select(Patient).where(Patient.id == patient_id).with_for_update().execution_options(populate_existing=True)
    )
    if patient is None:
        raise NotFound("No patient with this id.")
    if not patient.active:
        raise RecordMerged(patient)
    return patient


def _active(session: Session, patient_id: uuid.UUID) -> list[PatientAllergy]:
    return list(
        session.scalars(
            select(PatientAllergy).where(
                PatientAllergy.patient_id == patient_id, PatientAllergy.status == AllergyStatus.ACTIVE.value
            )
        )
    )


def _refuse_duplicate(session: Session, patient_id: uuid.UUID, key: str) -> None:
    existing = next((a for a in _active(session, patient_id) if a.substance_key == key), None)
    if existing is not None:
        raise DuplicateAllergy(existing)
