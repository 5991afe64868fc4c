"""JSON API of received prescriptions under /api/v1/pharmacy/prescriptions: read one, claim it from
the verification queue, and decide it (approve, reject, contact the prescriber).

Parse, call the service, serialise; errors are problem+json. The POSTs take an ``Idempotency-Key``:
a retried request is answered as the first was, and acts once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from careplane.kernel import idempotency
from careplane.kernel.access import Actor
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.web import api_actor, db_session, respond_once
from careplane.units.pharmacy.models import Prescription
from careplane.units.pharmacy.services import access, verification

router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1/pharmacy/prescriptions",
    tags=["pharmacy"],
    responses=problem_responses(401, 403),
)

_KEY_DOC = (
    "Any unique string (e.g. a UUID): a retry with the same key is answered as the first request, without acting twice."
)
_READ = problem_responses(described={404: "No such prescription"})
_WRITE = problem_responses(
    described={
        404: "No such prescription",
        409: "The prescription is already decided (`detail` says how), or another pharmacist holds it",
        422: "Validation failed: `errors` names each field (`reason`, `override_reason`)",
    }
)


class AlertOut(BaseModel):
    kind: str = Field(description="allergy, duplicate_therapy, or catalog (the product left the catalog)")
    severity: str = Field(description="high or moderate")
    message: str = Field(examples=["Penicillin allergy: amoxicillin is a penicillin"])


class PrescriptionOut(BaseModel):
    id: uuid.UUID
    rx_number: str = Field(examples=["RX-01234567"])
    patient_id: uuid.UUID
    drug_id: str = Field(description="The product in the drug catalog", examples=["amoxicillin-500mg-cap"])
    drug_name: str
    sig: str
    quantity: str
    refills: int
    prescriber_staff_id: uuid.UUID
    prescriber_npi: str | None
    source: str = Field(description="internal: signed in a Virtual Care visit")
    source_id: str = Field(description="The signed prescription's id in its source")
    state: str = Field(description="The patient's state: the verifying pharmacist must be licensed there today")
    status: str = Field(description="received, verified, rejected or contact_prescriber")
    alerts: list[AlertOut]
    held_by_you: bool = Field(description="Whether the caller is the pharmacist holding it")
    verified_by: uuid.UUID | None = Field(description="The pharmacist who approved or rejected it")
    verified_at: datetime | None
    reason: str | None = Field(description="Why it was rejected, what the prescriber is asked, or the override")
    signed_at: datetime
    received_at: datetime

    @classmethod
    def of(cls, rx: Prescription, *, held_by_you: bool) -> PrescriptionOut:
        return cls(
            id=rx.id,
            rx_number=rx.rx_number,
            patient_id=rx.patient_id,
            drug_id=rx.drug_id,
            drug_name=rx.drug_name,
            sig=rx.sig,
            quantity=rx.quantity,
            refills=rx.refills,
            prescriber_staff_id=rx.prescriber_staff_id,
            prescriber_npi=rx.prescriber_npi,
            source=rx.source,
            source_id=rx.source_id,
            state=rx.state,
            status=rx.status,
            alerts=[AlertOut(**a) for a in rx.alerts],
            held_by_you=held_by_you,
            verified_by=rx.verified_by,
            verified_at=rx.verified_at,
            reason=rx.reason,
            signed_at=rx.signed_at,
            received_at=rx.received_at,
        )


class DecisionIn(BaseModel):
    action: Literal["approve", "reject", "contact_prescriber"]
    reason: str = Field("", description="Required to reject, or to contact the prescriber (what they are asked)")
    override_reason: str = Field(
        "", description="Required to approve a prescription with a high-severity alert: why it is safe anyway"
    )


def _out(session: Session, actor: Actor, prescription_id: uuid.UUID) -> dict[str, Any]:
    session.flush()
    opened = access.open_as_staff(session, actor, prescription_id)
    return PrescriptionOut.of(opened.prescription, held_by_you=opened.holds).model_dump(mode="json")


@router.get("/{prescription_id}", response_model=PrescriptionOut, responses=_READ, summary="A received prescription")
def get_prescription(
    prescription_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> PrescriptionOut:
    """For a pharmacist who holds it or may take it (licensed in the patient's state today), and for
    the queue's managers; audited as a read of the patient's record."""
    opened = access.open_as_staff(session, actor, prescription_id)
    return PrescriptionOut.of(opened.prescription, held_by_you=opened.holds)


@router.post(
    "/{prescription_id}/claim", response_model=PrescriptionOut, responses=_WRITE, summary="Claim for verification"
)
def claim(
    prescription_id: uuid.UUID,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """Take a prescription from the verification queue. Needs a pharmacist licence valid today for
    the patient's state; of two claims at once one wins (409 for the other)."""

    def act() -> tuple[int, Any]:
        verification.claim(session, actor, prescription_id)
        return 200, _out(session, actor, prescription_id)

    return respond_once(request, session, actor, idempotency_key, None, act)


@router.post(
    "/{prescription_id}/verify", response_model=PrescriptionOut, responses=_WRITE, summary="Approve, reject or ask"
)
def verify(
    prescription_id: uuid.UUID,
    body: DecisionIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """The holding pharmacist decides: `approve` (with `override_reason` when a high-severity alert
    stands), `reject` or `contact_prescriber` (each with a `reason`)."""
    decision = verification.Decision(body.action, body.reason, body.override_reason)

    def act() -> tuple[int, Any]:
        verification.decide(session, actor, prescription_id, decision)
        return 200, _out(session, actor, prescription_id)

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)
