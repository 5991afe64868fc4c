"""JSON API for a patient's allergy list: /api/v1/patients/{id}/allergies. Parse, call the service,
serialise."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from careplane.kernel import idempotency
from careplane.kernel.access import Actor
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.patients.allergies import service
from careplane.kernel.patients.allergies.models import (
    AllergyCategory,
    AllergyCriticality,
    AllergySource,
    AllergyStatus,
    PatientAllergy,
)
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.web import api_actor, csrf_protect, db_session, respond_once

router = APIRouter(
    route_class=GuardedRoute, prefix="/api/v1/patients", tags=["allergies"], dependencies=[Depends(csrf_protect)]
)

_ERRORS = problem_responses(401, 403, 422, described={404: "No such patient"})
_IDEMPOTENCY_KEY_DOC = "Retries with the same key (and body) replay the first response instead of recording twice"


class AllergyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    substance: str = Field(
        max_length=240,
        description="What the patient reacts to, as the patient or clinician says it (1-120 characters)",
        examples=["Penicillin"],
    )
    category: AllergyCategory = Field(description="medication, food, environment or biologic")
    reaction: str | None = Field(
        None, max_length=400, description="What happens, in words (up to 200 characters)", examples=["hives"]
    )
    criticality: AllergyCriticality = Field(
        AllergyCriticality.UNABLE_TO_ASSESS, description="The potential for a serious reaction"
    )
    source: AllergySource | None = Field(
        None,
        description="Who says so. A patient's own entries are always patient-reported; staff's default to clinician",
    )


class AllergyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AllergyStatus | None = Field(
        None,
        description="inactive: no longer true; entered-in-error: never was (final); active: true again. "
        "Staff only; who and when are recorded",
    )
    reaction: str | None = Field(None, max_length=400, description="Replaces the reaction (null clears it)")
    criticality: AllergyCriticality | None = None


class AllergyOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    substance: str
    category: AllergyCategory
    reaction: str | None
    criticality: AllergyCriticality
    status: AllergyStatus
    source: AllergySource
    recorded_by: str = Field(description="Who recorded it (their login, or the system job)")
    recorded_at: datetime
    updated_at: datetime
    status_changed_by: str | None = Field(description="Who last changed the status (null while as recorded)")
    status_changed_at: datetime | None

    @classmethod
    def of(cls, a: PatientAllergy) -> AllergyOut:
        return cls(
            id=a.id,
            patient_id=a.patient_id,
            substance=a.substance,
            category=AllergyCategory(a.category),
            reaction=a.reaction,
            criticality=AllergyCriticality(a.criticality),
            status=AllergyStatus(a.status),
            source=AllergySource(a.source),
            recorded_by=a.recorded_by,
            recorded_at=a.recorded_at,
            updated_at=a.updated_at,
            status_changed_by=a.status_changed_by,
            status_changed_at=a.status_changed_at,
        )


class AllergyListOut(BaseModel):
    patient_id: uuid.UUID
    assessment: service.Assessment = Field(
        description="allergies: some are active; no-known-allergies: someone asked and there are none; "
        "not-recorded: no one has said either way"
    )
    no_known_allergies_at: datetime | None = Field(description="When 'no known allergies' was recorded")
    no_known_allergies_by: str | None
    items: list[AllergyOut] = Field(description="Active entries first, high criticality first among them")

    @classmethod
    def of(cls, listed: service.AllergyList) -> AllergyListOut:
        return cls(
            patient_id=listed.patient_id,
            assessment=listed.assessment,
            no_known_allergies_at=listed.no_known_allergies_at,
            no_known_allergies_by=listed.no_known_allergies_by,
            items=[AllergyOut.of(a) for a in listed.allergies],
        )


@router.get("/{patient_id}/allergies", response_model=AllergyListOut, responses=_ERRORS, summary="List allergies")
def allergies(
    patient_id: uuid.UUID,
    include_inactive: bool = Query(False, description="Also the inactive and entered-in-error entries"),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> AllergyListOut:
    """The patient's allergy list and whether "no known allergies" was recorded (audited as a read)."""
    return AllergyListOut.of(service.read_allergy_list(session, actor, patient_id, include_inactive=include_inactive))


@router.post(
    "/{patient_id}/allergies",
    status_code=201,
    response_model=AllergyOut,
    responses={
        **_ERRORS,
        **problem_responses(
            described={
                409: "The substance is already active on the list (`allergy_id` names the entry), "
                "or the record was merged into another"
            }
        ),
    },
    summary="Record an allergy",
)
def record(
    patient_id: uuid.UUID,
    body: AllergyIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_IDEMPOTENCY_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """Adds an active entry and clears a "no known allergies" statement. Patients may add to their own list."""
    data = body.model_dump(mode="json", exclude_none=True)

    def act() -> tuple[int, Any]:
        allergy = service.record_allergy(session, actor, patient_id, data)
        return 201, AllergyOut.of(allergy).model_dump(mode="json")

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


@router.post(
    "/{patient_id}/allergies/no-known-allergies",
    response_model=AllergyListOut,
    responses={
        **_ERRORS,
        **problem_responses(described={409: "Some allergies are active, or the record was merged into another"}),
    },
    summary="Record no known allergies",
)
def no_known_allergies(
    patient_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> AllergyListOut:
    """Someone asked and the patient has no known allergies; recorded with who and when."""
    return AllergyListOut.of(service.record_no_known_allergies(session, actor, patient_id))


@router.patch(
    "/{patient_id}/allergies/{allergy_id}",
    response_model=AllergyOut,
    responses={
        **_ERRORS,
        **problem_responses(
            described={
                404: "No such patient, or no such entry on the patient's list",
                409: "The entry was entered in error (final), the substance is active in another entry, "
                "or the record was merged",
            }
        ),
    },
    summary="Change an allergy",
)
def change(
    patient_id: uuid.UUID,
    allergy_id: uuid.UUID,
    body: AllergyChange,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> AllergyOut:
    """Only the fields sent change. Staff only: a patient asks the care team."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    return AllergyOut.of(service.update_allergy(session, actor, patient_id, allergy_id, changes))
