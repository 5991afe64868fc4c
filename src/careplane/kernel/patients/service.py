"""Patient registry use cases: register, find, read, change, consents, contacts, preferences.

Every function takes the acting :class:`Actor` and goes through :func:`access.authorize`, which
decides (patients only ever reach their own record) and writes the audit row.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, audit_disclosures, authorize, decide, refuse_unless
from careplane.kernel.audit.record import entry_values, to_keep
from careplane.kernel.db import SessionOrReader, columns, fetch
from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.form_dates import parse_form_date
from careplane.kernel.patients import duplicates, mrn
from careplane.kernel.patients.merge import (  # noqa: F401  (the merge use cases, re-exported with the others)
    MergePreview,
    MergeResult,
    RecordMerged,
    merge_patients,
    merge_preview,
    merged_records,
)
from careplane.kernel.patients.models import Consent, ConsentKind, EmergencyContact, Patient, PossibleDuplicate
from careplane.kernel.patients.validation import (
    SELF_SERVICE_FIELDS,
    check_preferences_consistent,
    clean_emergency_contact,
    clean_patient,
    normalise_name,
)
from careplane.kernel.prepared import Prepared

SEARCH_LIMIT_MAX = 100
RELATED = frozenset({"consents", "contacts"})


#: The registration field (API body, form) that says "a different person: register anyway".
CONFIRM_NOT_DUPLICATE = "confirm_not_duplicate"


class DuplicateSuspected(Conflict):
    """The registration looks like a patient already on file. Carries the candidates, and the audit
    rows recording that they were shown, which the unit of work keeps after rolling back."""

    type_slug = "possible-duplicate"
    title = "Possible duplicate patient"

    def __init__(self, candidates: list[duplicates.Candidate], actor: Actor) -> None:
        super().__init__(
            "This looks like a patient who is already registered. Check the candidates; if this is a "
            "different person, send the registration again with `confirm_not_duplicate` set to true.",
            candidates=[c.summary() for c in candidates],
            confirm_field=CONFIRM_NOT_DUPLICATE,
        )
        self.candidates = candidates
        self.keep_after_rollback = to_keep(
            entry_values(
                actor,
                Permission.PATIENT_REGISTER.value,
                outcome="allowed",
                patient_id=c.patient.id,
                resource_type="patient.duplicate_candidate",
                resource_id=c.patient.mrn,
            )
            for c in candidates
        )


# ---------------------------------------------------------------- registering


def register_patient(
    session: Session,
    actor: Actor,
    data: dict[str, Any],
    *,
    confirm_not_duplicate: bool = False,
    consents: Iterable[ConsentKind | str] = (),
) -> Patient:
    """Add a patient (:func:`register_patient_data`) and return it as an entity."""
    registered = register_patient_data(
        session, actor, data, confirm_not_duplicate=confirm_not_duplicate, consents=consents
    )
    patient = session.get(Patient, registered.patient["id"])
    assert patient is not None
    return patient


_PATIENTS, _CONSENTS = Patient.__table__, Consent.__table__
_PATIENT_INSERT = insert(_PATIENTS)
_CONSENT_INSERT = insert(_CONSENTS)
_DUPLICATE_INSERT = insert(PossibleDuplicate.__table__)


def _as_inserted(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """A row of ``table`` as the ORM would insert ``values``: a column left out or None takes its
    Python-side default (called, if it is a function)."""
    row: dict[str, Any] = {}
    for column in table.columns:
        value = values.get(column.key)
        if value is None and column.default is not None:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
        row[column.key] = value
    return row


def register_patient_data(
    session: Session,
    actor: Actor,
    data: dict[str, Any],
    *,
    confirm_not_duplicate: bool = False,
    consents: Iterable[ConsentKind | str] = (),
) -> PatientData:
    """Add a patient. A likely duplicate raises :class:`DuplicateSuspected` unless the actor confirmed
    it is a different person; then each candidate pair is kept as a :class:`PossibleDuplicate` to review.

    Returns the rows as inserted (the patient with its consents), as :func:`read_patient` would read
    them back: the inserts are Core statements on the session's connection, and nothing is reloaded
    (registration is the busiest write, bench/mixed_load.py)."""
    patient_id = uuid.uuid4()
    authorize(
        session,
        actor,
        Permission.PATIENT_REGISTER,
        patient_id=patient_id,
        resource_type="patient",
        resource_id=str(patient_id),
    )
    fields = clean_patient(data)
    if not data.get("preferred_channel"):
        fields["preferred_channel"] = "email" if fields.get("email") else ("phone" if fields.get("phone") else "portal")
    _check_preferences(fields)
    given_norm, family_norm = normalise_name(fields["given_name"]), normalise_name(fields["family_name"])
    candidates = [
        c
        for c in duplicates.find_candidates(
            session,
            family_name_norm=family_norm,
            given_name_norm=given_norm,
            birth_date=fields["birth_date"],
            email=fields.get("email"),
            phone=fields.get("phone"),
        )
        if c.patient.active
    ]  # a merged record is the same person as its survivor, never a second candidate
    if candidates and not confirm_not_duplicate:
        raise DuplicateSuspected(candidates, actor)
    now = clock.now()
    row = _as_inserted(
        _PATIENTS,
        {
            **fields,
            "id": patient_id,
            "mrn": mrn.new_mrn(session),
            "created_at": now,
            "updated_at": now,
            "given_name_norm": given_norm,
            "family_name_norm": family_norm,
        },
    )
    connection = session.connection()
    connection.execute(_PATIENT_INSERT, row)
    if candidates:
        connection.execute(
            _DUPLICATE_INSERT,
            [
                _as_inserted(
                    PossibleDuplicate.__table__,
                    {
                        "patient_id": patient_id,
                        "other_patient_id": c.patient.id,
                        "score": c.score,
                        "reasons": "; ".join(c.reasons),
                        "found_at": now,
                    },
                )
                for c in candidates
            ],
        )
    consent_rows = [
        _as_inserted(
            _CONSENTS,
            {
                "patient_id": patient_id,
                "kind": ConsentKind(kind).value,
                "granted_at": now,
                "recorded_by_user_id": actor.user_id,
            },
        )
        for kind in consents
    ]
    if consent_rows:
        connection.execute(_CONSENT_INSERT, consent_rows)
    return PatientData(row, consents=consent_rows)


def open_registration(session: Session, actor: Actor) -> None:
    """May the actor open the form that registers a patient: refused (audited) if not."""
    refuse_unless(session, actor, Permission.PATIENT_REGISTER, resource_type="patient")


def open_edit(session: Session, actor: Actor, patient_id: uuid.UUID) -> None:
    """May the actor open the form that changes this record: refused (audited) as the save would be."""
    refuse_unless(session, actor, Permission.PATIENT_UPDATE, patient_id=patient_id, resource_type="patient")


def possible_duplicates(session: Session, actor: Actor, patient_id: uuid.UUID) -> list[PossibleDuplicate]:
    """Every pair this record is in. Staff work: a patient is refused (audited) even for their own
    record, whether or not it has any, since a pair names someone else."""
    authorize(
        session,
        actor,
        Permission.PATIENT_READ,
        patient_id=patient_id,
        resource_type="patient.duplicates",
        staff_work=True,
    )
    return list(
        session.scalars(
            select(PossibleDuplicate)
            .where(or_(PossibleDuplicate.patient_id == patient_id, PossibleDuplicate.other_patient_id == patient_id))
            .order_by(PossibleDuplicate.found_at)
        )
    )


def open_duplicates(session: Session, actor: Actor, patient_id: uuid.UUID) -> list[tuple[PossibleDuplicate, Patient]]:
    """The undecided pairs this patient is in, each with the other record (whose read is audited too)."""
    pairs = [d for d in possible_duplicates(session, actor, patient_id) if d.status == "open"]
    result = []
    for pair in pairs:
        other_id = pair.other_patient_id if pair.patient_id == patient_id else pair.patient_id
        authorize(
            session,
            actor,
            Permission.PATIENT_READ,
            patient_id=other_id,
            resource_type="patient.duplicate",
            resource_id=str(pair.id),
        )
        result.append((pair, session.get_one(Patient, other_id)))
    return result


def chart_duplicates(session: Session, actor: Actor, patient_id: uuid.UUID) -> list[tuple[PossibleDuplicate, Patient]]:
    """What a chart shows of :func:`open_duplicates`: nothing (and no refusal) to someone who may not
    see them, such as a patient viewing their own chart."""
    if decide(actor, Permission.PATIENT_READ, patient_id, staff_work=True) is not None:
        return []
    return open_duplicates(session, actor, patient_id)


def dismiss_duplicate(session: Session, actor: Actor, patient_id: uuid.UUID, pair_id: uuid.UUID) -> PossibleDuplicate:
    """A person decided the two records are different people: the pair leaves the review list.

    The permission is decided before the pair is looked up, so someone who may not review pairs is
    refused alike whether the pair exists or not: the answer does not tell which pairs exist."""
    reason = "reviewed: not the same person"
    authorize(
        session,
        actor,
        Permission.PATIENT_REGISTER,
        patient_id=patient_id,
        resource_type="patient.duplicate",
        resource_id=str(pair_id),
        reason=reason,
    )
    pair = session.get(PossibleDuplicate, pair_id)
    if pair is None or patient_id not in (pair.patient_id, pair.other_patient_id):
        raise NotFound("There is no such possible duplicate for this patient.")
    other_id = pair.other_patient_id if pair.patient_id == patient_id else pair.patient_id
    authorize(
        session,
        actor,
        Permission.PATIENT_REGISTER,
        patient_id=other_id,
        resource_type="patient.duplicate",
        resource_id=str(pair.id),
        reason=reason,
    )
    if pair.status != "open":
        raise Conflict("This pair was already decided.")
    pair.status = "not_duplicate"
    return pair


# ---------------------------------------------------------------- reading and searching


# A patient is read in one of two shapes, each by one function, behind the same access rule and
# audit row (:func:`_allow_read`): the entity (:func:`get_patient`, for the pages, whose templates
# and units' chart panels use its properties and relationships) and the column mappings
# (:func:`read_patient`, :class:`PatientData`, for the API, which serialises only that shape).


def get_patient(session: Session, actor: Actor, patient_id: uuid.UUID, *, include: Iterable[str] = ()) -> Patient:
    """One patient. Consents and contacts are loaded only when ``include`` names them."""
    return _patient_entity(session, patient_id, related=_allow_read(session, actor, patient_id, include))


@dataclass(frozen=True)
class PatientData:
    """A patient as plain column mappings (what :func:`read_patient` returns); the related lists
    are None unless asked for."""

    patient: dict[str, Any]
    consents: list[dict[str, Any]] | None = None
    contacts: list[dict[str, Any]] | None = None

    @classmethod
    def of(cls, patient: Patient, include: Iterable[str] = ()) -> PatientData:
        """An entity already read (e.g. the survivor of a merge) in this shape, with the related
        lists ``include`` names, in the order :func:`read_patient` gives them."""
        wanted = set(include)
        return cls(
            columns(patient),
            consents=[columns(c) for c in patient.consents] if "consents" in wanted else None,
            contacts=[columns(c) for c in patient.emergency_contacts] if "contacts" in wanted else None,
        )


# Prepared once: the patient read is the busiest call there is (bench/patient_read.py).
_PATIENT_ROW = Prepared(select(Patient.__table__).where(Patient.id == bindparam("patient_id")))
_CONSENT_ROWS = Prepared(
    select(Consent.__table__).where(Consent.patient_id == bindparam("patient_id")).order_by(Consent.granted_at)
)
_CONTACT_ROWS = Prepared(
    select(EmergencyContact.__table__)
    .where(EmergencyContact.patient_id == bindparam("patient_id"))
    .order_by(EmergencyContact.name)
)


def read_patient(
    target: SessionOrReader, actor: Actor, patient_id: uuid.UUID, *, include: Iterable[str] = ()
) -> PatientData:
    """:func:`get_patient` as column mappings rather than entities, for the API's read: the same
    access rule and audit row, a fraction of the cost."""
    wanted = _allow_read(target, actor, patient_id, include)
    row = _patient_row(target, patient_id)
    consents = (
        _CONSENT_ROWS.mappings(fetch(target, _CONSENT_ROWS, patient_id=patient_id)) if "consents" in wanted else None
    )
    contacts = (
        _CONTACT_ROWS.mappings(fetch(target, _CONTACT_ROWS, patient_id=patient_id)) if "contacts" in wanted else None
    )
    return PatientData(row, consents, contacts)


def _allow_read(target: SessionOrReader, actor: Actor, patient_id: uuid.UUID, include: Iterable[str]) -> set[str]:
    """Authorize (and audit) reading one patient; the related lists wanted, checked."""
    authorize(
        target,
        actor,
        Permission.PATIENT_READ,
        patient_id=patient_id,
        resource_type="patient",
        resource_id=str(patient_id),
    )
    wanted = set(include)
    unknown = wanted - RELATED
    if unknown:
        raise ValidationFailed({"include": f"Unknown include {', '.join(sorted(unknown))}; use consents, contacts."})
    return wanted


def _patient_entity(session: Session, patient_id: uuid.UUID, *, related: Iterable[str] = ()) -> Patient:
    """The patient as an entity, with the related lists named loaded, or :class:`NotFound`. No access check."""
    query = select(Patient).where(Patient.id == patient_id)
    if "consents" in related:
        query = query.options(selectinload(Patient.consents))
    if "contacts" in related:
        query = query.options(selectinload(Patient.emergency_contacts))
    patient = session.scalar(query)
    if patient is None:
        raise NotFound("No patient with this id.")
    return patient


def _patient_row(target: SessionOrReader, patient_id: uuid.UUID) -> dict[str, Any]:
    """The patient's columns (a prepared read), or :class:`NotFound`. No access check."""
    rows = _PATIENT_ROW.mappings(fetch(target, _PATIENT_ROW, patient_id=patient_id))
    if not rows:
        raise NotFound("No patient with this id.")
    return rows[0]


_MRN_QUERY = re.compile(rf"^{mrn.PREFIX}\d+$", re.IGNORECASE)


def _as_date(text: str) -> date | None:
    try:
        return parse_form_date(text)
    except ValueError:
        return None


def search_patients(
    session: Session,
    actor: Actor,
    query: str = "",
    *,
    birth_date: date | None = None,
    mrn_value: str | None = None,
    limit: int = 25,
) -> list[Patient]:
    """Find patients by name ("family, given", "given family" or a prefix), MRN or birth date.

    Only active records are found; the MRN of a merged record finds the record that replaced it.
    Every patient shown is recorded in the audit log as disclosed to the actor.
    """
    authorize(session, actor, Permission.PATIENT_SEARCH, resource_type="patient_search")
    limit = max(1, min(limit, SEARCH_LIMIT_MAX))
    conditions = []
    text = " ".join(query.split())
    if mrn_value:
        conditions.append(_mrn_condition(mrn_value.strip().upper()))
    if birth_date:
        conditions.append(Patient.birth_date == birth_date)
    if text:
        as_date = _as_date(text)
        if _MRN_QUERY.match(text):
            conditions.append(_mrn_condition(text.upper()))
        elif as_date:
            conditions.append(Patient.birth_date == as_date)
        elif _LIKE_SPECIALS.sub("", normalise_name(text).replace(",", "")).strip():
            conditions.append(_name_condition(_LIKE_SPECIALS.sub("", text)))
    if not conditions:
        return []
    patients = list(
        session.scalars(
            select(Patient)
            .where(and_(*conditions), Patient.merged_into_id.is_(None))
            .order_by(Patient.family_name_norm, Patient.given_name_norm, Patient.birth_date)
            .limit(limit)
        )
    )
    audit_disclosures(
        session, actor, Permission.PATIENT_SEARCH, [p.id for p in patients], resource_type="patient_search_result"
    )
    return patients


_LIKE_SPECIALS = re.compile(r"[%_\\]")


def _mrn_condition(value: str) -> Any:
    """This MRN, or the record that replaced the record with this MRN (an old label still finds the person)."""
    merged = aliased(Patient)
    return or_(Patient.mrn == value, Patient.id.in_(select(merged.merged_into_id).where(merged.mrn == value)))


def _starts_with(column: Any, prefix: str) -> Any:
    """``column LIKE 'prefix%'``, with a range on the same column so either engine can use its index."""
    condition = column.like(prefix + "%")
    if prefix:
        condition = and_(column >= prefix, column < prefix[:-1] + chr(ord(prefix[-1]) + 1), condition)
    return condition


def _name_condition(text: str) -> Any:
    family, given = Patient.family_name_norm, Patient.given_name_norm
    if "," in text:
        family_part, _, given_part = (normalise_name(part) for part in text.partition(","))
        cond = _starts_with(family, family_part)
        return and_(cond, _starts_with(given, given_part)) if given_part else cond
    words = normalise_name(text).split(" ")
    if len(words) == 1:
        return or_(_starts_with(family, words[0]), _starts_with(given, words[0]))
    first, rest = words[0], " ".join(words[1:])
    head, last = " ".join(words[:-1]), words[-1]
    return or_(
        and_(_starts_with(given, first), _starts_with(family, rest)),
        and_(_starts_with(given, head), _starts_with(family, last)),
        and_(_starts_with(family, first), _starts_with(given, rest)),
    )


# ---------------------------------------------------------------- changing


def update_patient(session: Session, actor: Actor, patient_id: uuid.UUID, changes: dict[str, Any]) -> Patient:
    """Change demographics and preferences. Patients may change their contact details and
    preferences; legal name, birth date and sex at birth are changed by staff."""
    patient = _for_update(session, actor, patient_id)
    for name, value in _checked_changes(actor, columns(patient), changes).items():
        setattr(patient, name, value)
    session.flush()
    return patient


_PATIENT_UPDATE = update(_PATIENTS).where(_PATIENTS.c.id == bindparam("patient_id"))


def update_patient_data(session: Session, actor: Actor, patient_id: uuid.UUID, changes: dict[str, Any]) -> PatientData:
    """:func:`update_patient` as a prepared read and a Core UPDATE of the columns that change (none,
    and updated_at stays, when nothing does, as with the entity); returns the row as it now is."""
    authorize(
        session,
        actor,
        Permission.PATIENT_UPDATE,
        patient_id=patient_id,
        resource_type="patient",
        resource_id=str(patient_id),
    )
    row = _changeable_row(session, patient_id)
    changed = {name: value for name, value in _checked_changes(actor, row, changes).items() if row[name] != value}
    if changed:
        changed["updated_at"] = clock.now()
        session.connection().execute(_PATIENT_UPDATE, {"patient_id": patient_id, **changed})
        row.update(changed)
    return PatientData(row)


def _checked_changes(actor: Actor, current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The columns to set for ``changes`` to the patient whose columns are ``current``, by the rules
    of a change (who may change what, each field's checks, preferences that agree)."""
    if actor.is_patient_only:
        locked = {name: "Contact the clinic to change this." for name in changes if name not in SELF_SERVICE_FIELDS}
        if locked:
            raise ValidationFailed(locked)
    fields = clean_patient(changes, partial=True)
    merged = {
        name: fields.get(name, current[name])
        for name in ("preferred_channel", "allow_sms", "allow_email", "allow_phone", "phone", "email")
    }
    _check_preferences(merged)
    fields["given_name_norm"] = normalise_name(fields.get("given_name", current["given_name"]))
    fields["family_name_norm"] = normalise_name(fields.get("family_name", current["family_name"]))
    return fields


def set_communication_preferences(
    session: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    preferred_channel: str,
    allow_sms: bool,
    allow_email: bool,
    allow_phone: bool,
    language: str | None = None,
) -> Patient:
    changes: dict[str, Any] = {
        "preferred_channel": preferred_channel,
        "allow_sms": allow_sms,
        "allow_email": allow_email,
        "allow_phone": allow_phone,
    }
    if language is not None:
        changes["language"] = language
    return update_patient(session, actor, patient_id, changes)


def set_emergency_contacts(
    session: Session, actor: Actor, patient_id: uuid.UUID, contacts: Sequence[dict[str, Any]]
) -> list[EmergencyContact]:
    """Replace the patient's emergency contacts with ``contacts`` (name, relationship, phone)."""
    patient = _for_update(session, actor, patient_id, load_contacts=True)
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for index, contact in enumerate(contacts):
        try:
            cleaned.append(clean_emergency_contact(contact, index))
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    patient.emergency_contacts = [EmergencyContact(**c) for c in cleaned]
    session.flush()
    return patient.emergency_contacts


def list_consents(session: Session, actor: Actor, patient_id: uuid.UUID) -> list[Consent]:
    authorize(session, actor, Permission.PATIENT_READ, patient_id=patient_id, resource_type="patient.consents")
    _exists(session, patient_id)
    return list(session.scalars(select(Consent).where(Consent.patient_id == patient_id).order_by(Consent.granted_at)))


def grant_consent(
    session: Session, actor: Actor, patient_id: uuid.UUID, kind: ConsentKind | str, *, version: str | None = None
) -> Consent:
    """Record a consent (:func:`grant_consent_data`) and return it as an entity."""
    consent = session.get(Consent, grant_consent_data(session, actor, patient_id, kind, version=version)["id"])
    assert consent is not None
    return consent


_ACTIVE_CONSENT = Prepared(
    select(_CONSENTS).where(
        _CONSENTS.c.patient_id == bindparam("patient_id"),
        _CONSENTS.c.kind == bindparam("kind"),
        _CONSENTS.c.revoked_at.is_(None),
    )
)


def grant_consent_data(
    session: Session, actor: Actor, patient_id: uuid.UUID, kind: ConsentKind | str, *, version: str | None = None
) -> dict[str, Any]:
    """Record a consent. Granting one that is already active (same kind and version) returns it.
    The consent's row, as a prepared read and a Core INSERT."""
    try:
        kind = ConsentKind(kind)
    except ValueError:
        raise ValidationFailed({"kind": "Choose treatment, hipaa_authorization or telehealth."}) from None
    authorize(
        session,
        actor,
        Permission.PATIENT_UPDATE,
        patient_id=patient_id,
        resource_type="patient.consents",
        resource_id=str(patient_id),
    )
    _changeable_row(session, patient_id)
    active = _ACTIVE_CONSENT.mappings(fetch(session, _ACTIVE_CONSENT, patient_id=patient_id, kind=kind.value))
    if active and (version is None or active[0]["version"] == version):
        return active[0]
    row = _as_inserted(
        _CONSENTS,
        {
            "patient_id": patient_id,
            "kind": kind.value,
            "granted_at": clock.now(),
            "version": version[:20] if version else None,
            "recorded_by_user_id": actor.user_id,
        },
    )
    session.connection().execute(_CONSENT_INSERT, row)
    return row


def revoke_consent(session: Session, actor: Actor, patient_id: uuid.UUID, consent_id: uuid.UUID) -> Consent:
    _for_update(session, actor, patient_id, resource_type="patient.consents")
    consent = session.get(Consent, consent_id)
    if consent is None or consent.patient_id != patient_id:
        raise NotFound("No such consent for this patient.")
    if consent.revoked_at is not None:
        raise Conflict("This consent was already revoked.")
    consent.revoked_at = clock.now()
    session.flush()
    return consent


# ---------------------------------------------------------------- helpers


def _for_update(
    session: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    resource_type: str = "patient",
    load_contacts: bool = False,
) -> Patient:
    """The record to change; a merged record is read-only (:class:`RecordMerged`, a 409)."""
    authorize(
        session,
        actor,
        Permission.PATIENT_UPDATE,
        patient_id=patient_id,
        resource_type=resource_type,
        resource_id=str(patient_id),
    )
    patient = _patient_entity(session, patient_id, related=("contacts",) if load_contacts else ())
    if not patient.active:
        raise RecordMerged(patient)
    return patient


def _changeable_row(session: Session, patient_id: uuid.UUID) -> dict[str, Any]:
    """The patient's columns, for a change already authorized; a merged record is read-only
    (:class:`RecordMerged`), as in :func:`_for_update`."""
    row = _patient_row(session, patient_id)
    if row["merged_into_id"] is not None:
        raise RecordMerged(Patient(**row))
    return row


def _exists(session: Session, patient_id: uuid.UUID) -> None:
    if session.scalar(select(Patient.id).where(Patient.id == patient_id)) is None:
        raise NotFound("No patient with this id.")


def _check_preferences(fields: dict[str, Any]) -> None:
    errors = check_preferences_consistent(
        fields.get("preferred_channel") or "email",
        allow_sms=fields.get("allow_sms", False),
        allow_email=fields.get("allow_email", True),
        allow_phone=fields.get("allow_phone", True),
        phone=fields.get("phone"),
        email=fields.get("email"),
    )
    if errors:
        raise ValidationFailed(errors)
