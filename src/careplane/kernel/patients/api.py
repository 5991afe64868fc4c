"""JSON API for the patient registry: /api/v1/patients. Parse, call the service, serialise."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from careplane.kernel import idempotency
from careplane.kernel.access import Actor
from careplane.kernel.db import columns
from careplane.kernel.errors import NotAuthenticated
from careplane.kernel.guarded_route import GuardedRoute, needs_login
from careplane.kernel.iso_date import IsoDate
from careplane.kernel.patients import service
from careplane.kernel.patients.models import ConsentKind, Patient, PossibleDuplicate
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.web import api_actor, api_caller, api_read, api_write, csrf_protect, db_session, respond_once

router = APIRouter(
    route_class=GuardedRoute, prefix="/api/v1/patients", tags=["patients"], dependencies=[Depends(csrf_protect)]
)

_ERRORS = problem_responses(401, 403, 422, described={404: "No such patient"})
_MERGED = problem_responses(
    described={409: "The record was merged into another and is read-only: `replaced_by` names that record"}
)


# ---------------------------------------------------------------- models


class EmergencyContactIn(BaseModel):
    name: str = Field(max_length=200)
    relationship: str = Field(max_length=60, examples=["spouse"])
    phone: str = Field(max_length=30, examples=["(212) 555-0147"])


class EmergencyContactOut(BaseModel):
    id: uuid.UUID
    name: str
    relationship: str
    phone: str

    @classmethod
    def from_row(cls, c: dict[str, Any]) -> EmergencyContactOut:
        return cls(id=c["id"], name=c["name"], relationship=c["relationship_to_patient"], phone=c["phone"])


class ConsentOut(BaseModel):
    id: uuid.UUID
    kind: ConsentKind
    version: str
    granted_at: datetime
    revoked_at: datetime | None
    active: bool

    @classmethod
    def from_row(cls, c: dict[str, Any]) -> ConsentOut:
        return cls(
            id=c["id"],
            kind=ConsentKind(c["kind"]),
            version=c["version"],
            granted_at=c["granted_at"],
            revoked_at=c["revoked_at"],
            active=c["revoked_at"] is None,
        )


class _Demographics(BaseModel):
    model_config = ConfigDict(extra="forbid")

    middle_name: str | None = Field(None, max_length=200)
    preferred_name: str | None = Field(None, max_length=200)
    gender_identity: str | None = Field(None, max_length=200)
    address_line1: str | None = Field(None, max_length=400)
    address_line2: str | None = Field(None, max_length=400)
    city: str | None = Field(None, max_length=200)
    state: str | None = Field(None, max_length=20, description="USPS code of a state, DC or territory", examples=["NY"])
    postal_code: str | None = Field(None, max_length=20, description="ZIP or ZIP+4", examples=["10001"])
    phone: str | None = Field(None, max_length=30, description="US number; stored as E.164", examples=["212-555-0123"])
    email: str | None = Field(None, max_length=254)
    language: str | None = Field(None, max_length=35, description="BCP 47 tag", examples=["en", "es"])
    preferred_channel: str | None = Field(None, description="email, sms, phone or portal")
    allow_sms: bool | None = None
    allow_email: bool | None = None
    allow_phone: bool | None = None


class PatientCreate(_Demographics):
    given_name: str = Field(max_length=200)
    family_name: str = Field(max_length=200)
    birth_date: IsoDate
    sex_at_birth: str = Field(description="female, male or unknown")
    emergency_contacts: list[EmergencyContactIn] = Field(default_factory=list, max_length=5)
    consents: list[ConsentKind] = Field(default_factory=list, description="Consents given at registration")
    confirm_not_duplicate: bool = Field(
        False, description="Set after a 409 possible-duplicate answer, once you have checked the candidates"
    )


class PatientUpdate(_Demographics):
    given_name: str | None = Field(None, max_length=200)
    family_name: str | None = Field(None, max_length=200)
    birth_date: IsoDate | None = None
    sex_at_birth: str | None = None
    emergency_contacts: list[EmergencyContactIn] | None = Field(None, max_length=5, description="Replaces the list")


class PatientOut(BaseModel):
    id: uuid.UUID
    mrn: str
    given_name: str
    middle_name: str | None
    family_name: str
    preferred_name: str | None
    birth_date: date
    sex_at_birth: str
    gender_identity: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    phone: str | None
    email: str | None
    language: str
    preferred_channel: str
    allow_sms: bool
    allow_email: bool
    allow_phone: bool
    created_at: datetime
    updated_at: datetime
    active: bool | None = Field(None, description="False once this record was merged into another (read-only)")
    replaced_by: uuid.UUID | None = Field(None, description="The id of the record this one was merged into")
    consents: list[ConsentOut] | None = Field(None, description="With ?include=consents")
    emergency_contacts: list[EmergencyContactOut] | None = Field(None, description="With ?include=contacts")

    @classmethod
    def from_data(cls, data: service.PatientData) -> PatientOut:
        row = data.patient
        fields = {name: row[name] for name in cls.model_fields if name in row}
        fields.update(active=row["merged_into_id"] is None, replaced_by=row["merged_into_id"])
        if data.consents is not None:
            fields["consents"] = [ConsentOut.from_row(c) for c in data.consents]
        if data.contacts is not None:
            fields["emergency_contacts"] = [EmergencyContactOut.from_row(c) for c in data.contacts]
        return cls(**fields)


class PatientSummary(BaseModel):
    id: uuid.UUID
    mrn: str
    name: str
    preferred_name: str | None
    birth_date: date
    sex_at_birth: str
    state: str | None

    @classmethod
    def of(cls, p: Patient) -> PatientSummary:
        return cls(
            id=p.id,
            mrn=p.mrn,
            name=p.legal_name,
            preferred_name=p.preferred_name,
            birth_date=p.birth_date,
            sex_at_birth=p.sex_at_birth,
            state=p.state,
        )


class SearchResult(BaseModel):
    items: list[PatientSummary]
    count: int


class ConsentGrant(BaseModel):
    kind: ConsentKind
    version: str | None = Field(None, max_length=20)


# ---------------------------------------------------------------- endpoints


def _includes(include: str | None) -> set[str]:
    return {part.strip() for part in (include or "").split(",") if part.strip()}


def _contacts(items: list[EmergencyContactIn]) -> list[dict[str, Any]]:
    return [item.model_dump() for item in items]


@router.get("", response_model=SearchResult, responses=_ERRORS, summary="Search patients")
def search(
    q: str = Query("", max_length=200, description="Name ('family, given' or 'given family'), MRN or birth date"),
    birth_date: IsoDate | None = Query(None, description="YYYY-MM-DD"),
    mrn: str | None = Query(None, max_length=20),
    limit: int = Query(25, ge=1, le=service.SEARCH_LIMIT_MAX),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> SearchResult:
    """Every patient returned is recorded in the audit log as shown to the caller."""
    found = service.search_patients(session, actor, q, birth_date=birth_date, mrn_value=mrn, limit=limit)
    return SearchResult(items=[PatientSummary.of(p) for p in found], count=len(found))


@router.post(
    "",
    status_code=201,
    response_model=PatientOut,
    responses={
        **_ERRORS,
        **problem_responses(
            described={
                409: "Possible duplicate: `candidates` lists matching patients. Resend with "
                "`confirm_not_duplicate: true` if this is a different person."
            }
        ),
    },
    summary="Register a patient",
)
async def register(
    body: PatientCreate,
    request: Request,
    idempotency_key: str | None = Header(
        None,
        alias=idempotency.HEADER,
        description="Retries with the same key and body replay the first response instead of registering twice",
    ),
    actor: Actor = Depends(api_caller),
) -> JSONResponse:
    payload = body.model_dump(mode="json")

    def act(session: Session) -> tuple[int, Any]:
        data = body.model_dump(exclude={"emergency_contacts", "consents", "confirm_not_duplicate"}, exclude_none=True)
        registered = service.register_patient_data(
            session, actor, data, confirm_not_duplicate=body.confirm_not_duplicate, consents=body.consents
        )
        if body.emergency_contacts:
            contacts = service.set_emergency_contacts(
                session, actor, registered.patient["id"], _contacts(body.emergency_contacts)
            )
            registered = service.PatientData(
                registered.patient, registered.consents, sorted((columns(c) for c in contacts), key=lambda c: c["name"])
            )
        return 201, PatientOut.from_data(registered).model_dump(mode="json")

    return await api_write(
        request, lambda session: respond_once(request, session, actor, idempotency_key, payload, lambda: act(session))
    )


@router.get(
    "/{patient_id}",
    response_model=PatientOut,
    response_model_exclude_none=False,
    responses=_ERRORS,
    summary="Read a patient",
)
@needs_login(NotAuthenticated)
async def read(
    request: Request,
    patient_id: uuid.UUID,
    include: str | None = Query(None, description="Comma-separated: consents, contacts"),
) -> PatientOut:
    wanted = _includes(include)
    return await api_read(
        request,
        lambda reader, actor: PatientOut.from_data(service.read_patient(reader, actor, patient_id, include=wanted)),
    )


@router.patch("/{patient_id}", response_model=PatientOut, responses={**_ERRORS, **_MERGED}, summary="Change a patient")
async def change(
    patient_id: uuid.UUID,
    body: PatientUpdate,
    request: Request,
    actor: Actor = Depends(api_caller),
) -> PatientOut:
    """Only the fields sent change. Patients may change their own contact details and preferences."""
    changes = body.model_dump(exclude_unset=True, exclude={"emergency_contacts"})

    def work(session: Session) -> PatientOut:
        if body.emergency_contacts is None:
            if changes:
                return PatientOut.from_data(service.update_patient_data(session, actor, patient_id, changes))
            return PatientOut.from_data(service.read_patient(session, actor, patient_id))
        patient = service.update_patient(session, actor, patient_id, changes) if changes else None
        service.set_emergency_contacts(session, actor, patient_id, _contacts(body.emergency_contacts))
        if patient is None:
            patient = service.get_patient(session, actor, patient_id)
        session.refresh(patient)  # the new contacts, in their order
        return PatientOut.from_data(service.PatientData.of(patient, {"contacts"}))

    return await api_write(request, work)


@router.get("/{patient_id}/consents", response_model=list[ConsentOut], responses=_ERRORS, summary="List consents")
def consents(
    patient_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> list[ConsentOut]:
    return [ConsentOut.from_row(columns(c)) for c in service.list_consents(session, actor, patient_id)]


@router.post(
    "/{patient_id}/consents",
    status_code=201,
    response_model=ConsentOut,
    responses={**_ERRORS, **_MERGED},
    summary="Record a consent",
)
async def grant(
    patient_id: uuid.UUID, body: ConsentGrant, request: Request, actor: Actor = Depends(api_caller)
) -> ConsentOut:
    return await api_write(
        request,
        lambda session: ConsentOut.from_row(
            service.grant_consent_data(session, actor, patient_id, body.kind, version=body.version)
        ),
    )


@router.post(
    "/{patient_id}/consents/{consent_id}/revoke",
    response_model=ConsentOut,
    responses={**_ERRORS, **problem_responses(described={409: "Already revoked, or the record was merged"})},
    summary="Revoke a consent",
)
def revoke(
    patient_id: uuid.UUID,
    consent_id: uuid.UUID,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> ConsentOut:
    return ConsentOut.from_row(columns(service.revoke_consent(session, actor, patient_id, consent_id)))


# ---------------------------------------------------------------- duplicate review and merging


class OtherRecord(BaseModel):
    """Enough of the other record to tell two people apart, no more."""

    id: uuid.UUID
    mrn: str
    name: str
    birth_date: date


class DuplicateOut(BaseModel):
    pair_id: uuid.UUID
    score: float = Field(description="0..1; how alike the two registrations are")
    reasons: list[str] = Field(examples=[["same date of birth", "same family name", "same phone number"]])
    found_at: datetime
    other: OtherRecord

    @classmethod
    def of(cls, pair: PossibleDuplicate, other: Patient) -> DuplicateOut:
        return cls(
            pair_id=pair.id,
            score=pair.score,
            reasons=[r for r in pair.reasons.split("; ") if r],
            found_at=pair.found_at,
            other=OtherRecord(id=other.id, mrn=other.mrn, name=other.legal_name, birth_date=other.birth_date),
        )


class DuplicateDecision(BaseModel):
    pair_id: uuid.UUID
    patient_id: uuid.UUID
    other_patient_id: uuid.UUID
    status: str = Field(description="not_duplicate after a dismissal")


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merge_patient_id: uuid.UUID = Field(description="The record to fold into the one in the path, which survives")
    pair_id: uuid.UUID | None = Field(None, description="The reviewed possible-duplicate pair of the two, if any")


class PairCounts(BaseModel):
    merged: int = Field(description="The two records' own open pairs, now decided as merged")
    repointed: int = Field(description="The merged record's open pairs with others, moved to the survivor")
    superseded: int = Field(description="The merged record's open pairs closed: the survivor already had one")


class MergeOut(BaseModel):
    survivor: PatientOut = Field(description="The record that survives, after the merge (with consents and contacts)")
    merged_id: uuid.UUID
    merged_mrn: str
    filled: list[str] = Field(
        description="Survivor fields that were blank and were filled from the merged record",
        examples=[["phone", "address_line1", "city", "state", "postal_code"]],
    )
    consents_moved: int
    contacts_moved: int
    contacts_already_there: int = Field(description="Contacts the survivor already had, not doubled")
    allergies_moved: int = Field(description="Allergy entries moved to the survivor, as they were")
    portal_accounts_moved: int
    earlier_merges_repointed: int = Field(
        description="Records merged into the merged one before, now replaced by the survivor"
    )
    pairs: PairCounts
    event_id: uuid.UUID = Field(description="The PatientsMerged event other units act on")

    @classmethod
    def of(cls, r: service.MergeResult) -> MergeOut:
        return cls(
            survivor=PatientOut.from_data(service.PatientData.of(r.survivor, {"consents", "contacts"})),
            merged_id=r.merged.id,
            merged_mrn=r.merged.mrn,
            filled=r.filled,
            consents_moved=r.consents_moved,
            contacts_moved=r.contacts_moved,
            contacts_already_there=r.contacts_already_there,
            allergies_moved=r.allergies_moved,
            portal_accounts_moved=r.portal_accounts_moved,
            earlier_merges_repointed=r.earlier_merges_repointed,
            pairs=PairCounts(**r.pairs),
            event_id=r.event_id,
        )


_IDEMPOTENCY_KEY_DOC = "Retries with the same key (and body) replay the first response instead of acting twice"


@router.get(
    "/{patient_id}/duplicates", response_model=list[DuplicateOut], responses=_ERRORS, summary="List possible duplicates"
)
def duplicates(
    patient_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> list[DuplicateOut]:
    """The open pairs this record is in, best match first, each with a summary of the other record.
    Reading each other record is recorded in the audit log, as on the chart."""
    pairs = service.open_duplicates(session, actor, patient_id)
    return sorted((DuplicateOut.of(pair, other) for pair, other in pairs), key=lambda d: (-d.score, d.other.mrn))


@router.post(
    "/{patient_id}/duplicates/{pair_id}/dismiss",
    response_model=DuplicateDecision,
    responses={
        **_ERRORS,
        **problem_responses(described={404: "No such pair for this patient", 409: "The pair was already decided"}),
    },
    summary="Dismiss a possible duplicate",
)
def dismiss_duplicate(
    patient_id: uuid.UUID,
    pair_id: uuid.UUID,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_IDEMPOTENCY_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """Not the same person: the pair leaves the review list (needs `patient.register`, audited for both)."""

    def act() -> tuple[int, Any]:
        pair = service.dismiss_duplicate(session, actor, patient_id, pair_id)
        return 200, DuplicateDecision(
            pair_id=pair.id, patient_id=pair.patient_id, other_patient_id=pair.other_patient_id, status=pair.status
        ).model_dump(mode="json")

    return respond_once(request, session, actor, idempotency_key, None, act)


@router.post(
    "/{patient_id}/merge",
    response_model=MergeOut,
    responses={
        **_ERRORS,
        **problem_responses(
            described={
                404: "No such patient (either record), or no such pair of the two",
                409: "A record was already merged (`replaced_by` names its survivor), or the pair was already decided",
                422: "Validation failed, e.g. a record merged into itself",
            }
        ),
    },
    summary="Merge a duplicate record into this one",
)
def merge(
    patient_id: uuid.UUID,
    body: MergeRequest,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_IDEMPOTENCY_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """The record in the path survives and keeps its demographics; blank fields are filled from the other.
    Consents, emergency contacts and portal accounts move to it; the merged record stays, inactive and
    read-only, answering `replaced_by`. Needs `patient.merge` (audited for both records)."""

    def act() -> tuple[int, Any]:
        result = service.merge_patients(session, actor, patient_id, body.merge_patient_id, body.pair_id)
        session.flush()
        session.refresh(result.survivor)
        return 200, MergeOut.of(result).model_dump(mode="json")

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)
