"""JSON API of visits under /api/v1/virtual-care/visits: the patient's side (start, answer, submit,
pay, cancel, message, rate, summary) and the clinician's (claim, release, message, complete, refer).

Parse, call the service, serialise; errors are problem+json. Writes that a client may retry take an
``Idempotency-Key``: a retried request is answered as the first was, and acts once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from careplane.kernel import idempotency, payments
from careplane.kernel.access import Actor
from careplane.kernel.errors import NotFound
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.web import api_actor, db_session, respond_once
from careplane.kernel.work import policy
from careplane.units.virtual_care import diagnoses as icd
from careplane.units.virtual_care.catalog import shipped
from careplane.units.virtual_care.models import Visit, VisitAttachment
from careplane.units.virtual_care.services import access, messages, ratings, treatment, visits
from careplane.units.virtual_care.summary import summary_of, summary_pdf

router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1/virtual-care",
    tags=["virtual care"],
    responses=problem_responses(401, 403),
)

_KEY_DOC = (
    "Any unique string (e.g. a UUID): a retry with the same key is answered as the first request, without acting twice."
)
_WRITE = problem_responses(
    described={
        404: "No such visit",
        409: "The visit's state does not allow this (`detail` says why), or it was taken by someone else",
        422: "Validation failed: `errors` names each field",
    }
)


class MessageOut(BaseModel):
    id: uuid.UUID
    author_kind: str = Field(description="patient, clinician or system")
    author_name: str
    body: str
    created_at: datetime
    attachments: list[dict[str, Any]] = Field(description="id, filename, content_type, size and where to fetch it")


class PrescriptionOut(BaseModel):
    drug_id: str = Field(description="The product in the Pharmacy unit's catalog")
    drug_name: str
    sig: str
    quantity: str
    refills: int


class VisitOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    condition: str = Field(examples=["uti"])
    visit_type: str = Field(examples=["message"])
    state: str = Field(description="The state the patient is in for this visit", examples=["NY"])
    status: str = Field(
        description="intake, awaiting_payment, queued, booked (video), in_progress, completed, referred_out, "
        "ended_with_advice, cancelled or no_show (video)"
    )
    answers: dict[str, Any] = Field(description="Intake answers by linkId")
    price_cents: int | None
    advice: str | None = Field(description="Why the visit ended, when a red-flag answer ended it")
    advice_level: str | None = Field(description="emergency or in_person")
    reply_due_at: datetime | None = Field(description="The response-time promise: first clinician reply by then")
    first_reply_at: datetime | None
    held_by_you: bool = Field(description="Whether the caller is the clinician holding the visit")
    follow_up_until: datetime | None
    diagnoses: list[str]
    plan: str | None
    cpt_code: str | None
    referral_reason: str | None
    rating: int | None
    messages: list[MessageOut]
    prescriptions: list[PrescriptionOut]
    created_at: datetime

    @classmethod
    def of(cls, visit: Visit, *, held_by_you: bool = False) -> VisitOut:
        base = f"{router.prefix}/visits/{visit.id}"
        return cls(
            id=visit.id,
            patient_id=visit.patient_id,
            condition=visit.condition_code,
            visit_type=visit.visit_type,
            state=visit.state,
            status=visit.status,
            answers=dict(visit.answers),
            price_cents=visit.price.cents if visit.price is not None else None,
            advice=visit.advice,
            advice_level=visit.advice_level,
            reply_due_at=visit.reply_due_at,
            first_reply_at=visit.first_reply_at,
            held_by_you=held_by_you,
            follow_up_until=visit.follow_up_until,
            diagnoses=list(visit.diagnoses),
            plan=visit.plan,
            cpt_code=visit.cpt_code,
            referral_reason=visit.referral_reason,
            rating=visit.rating,
            messages=[
                MessageOut(
                    id=m.id,
                    author_kind=m.author_kind,
                    author_name=m.author_name,
                    body=m.body,
                    created_at=m.created_at,
                    attachments=[
                        {
                            "id": str(a.id),
                            "filename": a.filename,
                            "content_type": a.content_type,
                            "size": a.size,
                            "href": f"{base}/attachments/{a.id}",
                        }
                        for a in m.attachments
                    ],
                )
                for m in visit.messages
            ],
            prescriptions=[
                PrescriptionOut(
                    drug_id=p.drug_id, drug_name=p.drug_name, sig=p.sig, quantity=p.quantity, refills=p.refills
                )
                for p in visit.prescriptions
            ],
            created_at=visit.created_at,
        )


class StartIn(BaseModel):
    condition: str = Field(description="A condition code of the catalog", examples=["uti"])
    visit_type: str = Field("message", description="message, or video (booked for a time after the intake)")
    state: str | None = Field(None, description="The state you are in now (default: the one on your record)")
    at_home: bool = Field(True, description="Whether you are at home (decides the place of service billed)")


class AnswersIn(BaseModel):
    answers: dict[str, Any] = Field(
        description="Answers by linkId, typed as the question asks", examples=[{"dysuria": True, "duration_days": 2}]
    )


class SubmitIn(BaseModel):
    answers: dict[str, Any] | None = Field(None, description="The whole intake; none: the answers saved so far")


class CardIn(BaseModel):
    number: str = Field(examples=["4242 4242 4242 4242"])
    expiry: str = Field(description="MM/YY", examples=["12/30"])
    cvc: str = Field(examples=["123"])
    name: str = ""
    postal_code: str = ""


class PrescriptionIn(BaseModel):
    drug_id: str = Field(description="A product id of GET /api/v1/pharmacy/drugs")
    sig: str = Field(examples=["Take 1 capsule by mouth twice a day with food for 5 days."])
    quantity: str = Field(examples=["10"])
    refills: int = 0


class CompleteIn(BaseModel):
    diagnoses: list[str] = Field(description="ICD-10-CM codes, the first one primary", examples=[["N39.0"]])
    plan: str = Field(description="The plan the patient reads")
    minutes: int | None = Field(
        None, description="Message visits: minutes spent on the visit (99421: 5-10, 99422: 11-20, 99423: 21+)"
    )
    level: int | None = Field(
        None, description="Video visits: the level of medical decision making, 2 to 5 (99212-99215, modifier 95)"
    )
    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    prescriptions: list[PrescriptionIn] = []


class ReferIn(BaseModel):
    reason: str = Field(description="Why in-person care is needed, and where to go; the patient reads it")


class RatingIn(BaseModel):
    rating: int = Field(description="1 (poor) to 5 (excellent)")
    comment: str = ""


def _out(session: Session, actor: Actor, visit: Visit) -> dict[str, Any]:
    session.flush()
    session.refresh(visit)
    return VisitOut.of(visit, held_by_you=_holds(session, actor, visit)).model_dump(mode="json")


def _holds(session: Session, actor: Actor, visit: Visit) -> bool:
    if actor.is_patient_only or visit.clinician_staff_id is None:
        return False
    who = policy.acting_worker(session, actor)
    return who is not None and who.staff_id == visit.clinician_staff_id


def _once(
    request: Request, session: Session, actor: Actor, key: str | None, payload: Any, work: Any, status: int = 200
) -> JSONResponse:
    return respond_once(request, session, actor, key, payload, lambda: (status, _out(session, actor, work())))


@router.post("/visits", status_code=201, response_model=VisitOut, responses=_WRITE, summary="Start a message visit")
def start(
    body: StartIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """A patient starts a visit for a condition. Refused (422) when the patient is not eligible
    (age, sex) or no clinician is licensed in their state today."""

    def work() -> Visit:
        return visits.start_visit(
            session,
            actor,
            condition_code=body.condition,
            visit_type=body.visit_type,
            state=body.state,
            at_home=body.at_home,
        )

    return _once(request, session, actor, idempotency_key, body.model_dump(mode="json"), work, 201)


@router.get(
    "/visits",
    response_model=list[VisitOut],
    responses=problem_responses(described={404: "The caller is not a patient (clinicians use the work queue)"}),
    summary="Your visits (patients)",
)
def my_visits(actor: Actor = Depends(api_actor), session: Session = Depends(db_session)) -> list[VisitOut]:
    if actor.patient_id is None:
        raise NotFound("Only patients have visits of their own; clinicians use the work queue.")
    return [VisitOut.of(v) for v in visits.visits_of_patient(session, actor, actor.patient_id)]


@router.get("/visits/{visit_id}", response_model=VisitOut, responses=_WRITE, summary="A visit")
def get_visit(
    visit_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> VisitOut:
    """The patient's own visit, or for staff: one they hold, may take, or manage (audited)."""
    opened = access.open_for_either(session, actor, visit_id)
    return VisitOut.of(opened.visit, held_by_you=opened.holds)


@router.put("/visits/{visit_id}/answers", response_model=VisitOut, responses=_WRITE, summary="Save intake answers")
def save_answers(
    visit_id: uuid.UUID, body: AnswersIn, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> dict[str, Any]:
    """Keep the answers given so far (resumable). A wrong type is refused and nothing is kept."""
    return _out(session, actor, visits.save_answers(session, actor, visit_id, body.answers, from_form=False))


@router.post("/visits/{visit_id}/submit", response_model=VisitOut, responses=_WRITE, summary="Submit the intake")
def submit(
    visit_id: uuid.UUID,
    request: Request,
    body: SubmitIn | None = None,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """Every required answer checked; a red-flag answer ends the visit with advice and no charge
    (status `ended_with_advice`), otherwise it waits for payment."""
    answers = body.answers if body else None
    return _once(
        request, session, actor, idempotency_key, answers, lambda: visits.submit(session, actor, visit_id, answers)
    )


@router.post("/visits/{visit_id}/payment", response_model=VisitOut, responses=_WRITE, summary="Pay and join the queue")
def pay(
    visit_id: uuid.UUID,
    body: CardIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """The price is authorised on the card (charged when the visit is completed); a declined card is
    422 with `errors.card_number`. Test cards: docs/payments.md."""
    card = payments.Card(
        number=body.number, expiry=body.expiry, cvc=body.cvc, name=body.name, postal_code=body.postal_code
    )
    payload = {"number": body.number[-4:], "expiry": body.expiry}
    return _once(request, session, actor, idempotency_key, payload, lambda: visits.pay(session, actor, visit_id, card))


def add_visit_action(on: APIRouter, path: str, summary: str, doc: str, call: Any, *, name: str | None = None) -> None:
    """A POST ``/visits/{visit_id}/<path>`` on ``on`` that calls ``call(session, actor, visit_id)``
    once per ``Idempotency-Key`` and answers with the visit (message and video visits share it)."""

    def endpoint(
        visit_id: uuid.UUID,
        request: Request,
        idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
        actor: Actor = Depends(api_actor),
        session: Session = Depends(db_session),
    ) -> JSONResponse:
        return _once(request, session, actor, idempotency_key, None, lambda: call(session, actor, visit_id))

    endpoint.__doc__ = doc
    endpoint.__name__ = name or path.replace("-", "_")
    on.post(f"/visits/{{visit_id}}/{path}", response_model=VisitOut, responses=_WRITE, summary=summary)(endpoint)


def _action(path: str, summary: str, doc: str, call: Any) -> None:
    add_visit_action(router, path, summary, doc, call)


_action(
    "cancel",
    "Cancel a visit",
    "The patient withdraws a visit no clinician has taken; the authorisation is voided.",
    visits.cancel,
)
_action(
    "claim",
    "Claim a visit (clinicians)",
    "Take a queued visit. Needs a licence valid today for the patient's state; "
    "of two claims at once one wins (409 for the other).",
    treatment.claim,
)
_action(
    "release",
    "Give a visit back to the queue",
    "The holding clinician puts the visit back into the queue.",
    treatment.release,
)


@router.post(
    "/visits/{visit_id}/complete", response_model=VisitOut, responses=_WRITE, summary="Complete a visit (clinicians)"
)
def complete(
    visit_id: uuid.UUID,
    body: CompleteIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """Sign the note, diagnoses and prescriptions; the card is charged; `VisitCompleted` and
    `PrescriptionSigned` are published."""
    done = treatment.Completion(
        diagnoses=body.diagnoses,
        plan=body.plan,
        minutes=body.minutes,
        level=body.level,
        subjective=body.subjective,
        objective=body.objective,
        assessment=body.assessment,
        prescriptions=[
            treatment.PrescriptionOrder(p.drug_id, p.sig, p.quantity, p.refills) for p in body.prescriptions
        ],
    )
    return _once(
        request,
        session,
        actor,
        idempotency_key,
        body.model_dump(mode="json"),
        lambda: treatment.complete(session, actor, visit_id, done),
    )


@router.post(
    "/visits/{visit_id}/refer",
    response_model=VisitOut,
    responses=_WRITE,
    summary="Refer to in-person care (clinicians)",
)
def refer(
    visit_id: uuid.UUID,
    body: ReferIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """No charge: the authorisation is voided and the patient reads the reason."""
    return _once(
        request,
        session,
        actor,
        idempotency_key,
        body.model_dump(mode="json"),
        lambda: treatment.refer_out(session, actor, visit_id, body.reason),
    )


@router.post(
    "/visits/{visit_id}/messages",
    status_code=201,
    response_model=VisitOut,
    responses=_WRITE,
    summary="Write a message, with images attached",
)
def post_message(
    visit_id: uuid.UUID,
    request: Request,
    body: str = Form("", description="The message"),
    attachments: list[UploadFile] = File(
        default_factory=list, description="Images: JPEG, PNG, WebP or GIF, up to 5 MB each, 4 at most"
    ),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """multipart/form-data. The patient, or the clinician holding the visit; refused (409) on a closed visit."""
    uploads = [messages.Upload(f.filename or "", f.content_type or "", f.file.read()) for f in attachments]
    messages.post(session, actor, visit_id, body, uploads)
    return _out(session, actor, access.load(session, visit_id))


@router.get(
    "/visits/{visit_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}, "description": "The image"}, **_WRITE},
    summary="An attachment of the visit's conversation",
)
def get_attachment(
    visit_id: uuid.UUID,
    attachment_id: uuid.UUID,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> Response:
    return attachment_response(messages.attachment(session, actor, visit_id, attachment_id))


def attachment_response(found: VisitAttachment) -> Response:
    """An image of the conversation as served to the API and the pages: never cached, never sniffed."""
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f'inline; filename="{found.filename.replace(chr(34), "")}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/visits/{visit_id}/rating", response_model=VisitOut, responses=_WRITE, summary="Rate a completed visit")
def rate(
    visit_id: uuid.UUID, body: RatingIn, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> dict[str, Any]:
    return _out(session, actor, ratings.rate(session, actor, visit_id, body.rating, body.comment))


@router.get(
    "/visits/{visit_id}/summary.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The visit summary"}, **_WRITE},
    summary="The visit summary as PDF",
)
def summary_as_pdf(
    visit_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> Response:
    return pdf_response(session, access.open_for_either(session, actor, visit_id).visit)


def pdf_response(session: Session, visit: Visit) -> Response:
    """The visit's summary PDF (404 before it is completed); shared with the portal page."""
    summary = summary_of(session, visit)
    if summary is None:
        raise NotFound("This visit has no summary: it is not completed.")
    return Response(
        summary_pdf(summary),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="visit-summary-{visit.closed_at:%Y-%m-%d}.pdf"',
            "Cache-Control": "no-store",
        },
    )


class DiagnosisOut(BaseModel):
    code: str = Field(examples=["N39.0"])
    description: str


@router.get("/diagnoses", response_model=list[DiagnosisOut], summary="Search billable ICD-10-CM codes")
def search_diagnoses(
    q: str = Query(..., min_length=1, max_length=100, description="Words of the description, or the start of a code"),
    condition: str | None = Query(None, description="A condition code: its own diagnoses come first"),
    limit: int = Query(20, ge=1, le=100),
    actor: Actor = Depends(api_actor),
) -> list[DiagnosisOut]:
    own = shipped().get(condition or "")
    return [DiagnosisOut(code=c, description=t) for c, t in icd.search(q, first=own.icd10 if own else (), limit=limit)]
