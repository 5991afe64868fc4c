"""The patient's Virtual Care pages, inside the portal: start a visit, answer the intake (save and
come back), pay, write to the clinician, read and print the summary, rate the visit.

One page per visit (``/virtual-care/visits/{id}``) shows what its state asks for: the questions,
the price and card form, the conversation, the advice, the summary. Staff opening the same address
get the clinician's view (:mod:`.workspace_pages`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from careplane.kernel import payments
from careplane.kernel.access import Actor
from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.patients import service as patients
from careplane.kernel.web import (
    attempt,
    csrf_protect,
    db_session,
    form_errors,
    page_actor,
    posted_form,
    redirect,
    render,
    templates,
)
from careplane.units.virtual_care import intake, video_pages
from careplane.units.virtual_care.catalog import shipped
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services import access, messages, prices, ratings, visits
from careplane.units.virtual_care.summary import summary_of
from careplane.units.virtual_care.visit_states import VisitStatus, refusal
from careplane.units.virtual_care.visits_api import attachment_response, pdf_response
from careplane.units.virtual_care.workspace_pages import staff_visit_page

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])
PROBLEMS = (ValidationFailed, Conflict)


def _patient_id(actor: Actor) -> uuid.UUID:
    if actor.patient_id is None:
        raise NotFound("Your account is not linked to a patient record.")
    return actor.patient_id


@router.get("/virtual-care/visits")
def my_visits(request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)) -> Response:
    if not actor.is_patient_only:
        return redirect("/virtual-care/queue")
    found = visits.visits_of_patient(session, actor, _patient_id(actor))
    return render(
        request,
        "virtual_care/my_visits.html",
        {"visits": found, "catalog": shipped(), "status": VisitStatus},
    )


def _start_page(
    request: Request, session: Session, actor: Actor, values: dict[str, str], errors: dict[str, str]
) -> Response:
    return render(
        request,
        "virtual_care/start.html",
        {
            "values": values,
            "errors": errors,
            "condition_choices": [("", "Choose a condition…")] + [(c.code, c.name) for c in shipped().conditions],
            "state_choices": [("", "Choose your state…"), *prices.STATE_CHOICES],
        },
        status_code=422 if errors else 200,
    )


@router.get("/virtual-care/visits/new")
def start_form(
    request: Request,
    condition: str = "",
    type: str = "message",
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    patient = patients.get_patient(session, actor, _patient_id(actor))
    return _start_page(
        request,
        session,
        actor,
        {"condition": condition, "state": patient.state or "", "at_home": "yes", "visit_type": type},
        {},
    )


@router.post("/virtual-care/visits/new")
def start(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    values = {k: str(form.get(k, "")) for k in ("condition", "state", "at_home", "visit_type")}
    visit, problem = attempt(
        session,
        lambda: visits.start_visit(
            session,
            actor,
            condition_code=values["condition"],
            visit_type=values["visit_type"] or "message",
            state=values["state"],
            at_home=values["at_home"] != "no",
        ),
        PROBLEMS,
    )
    if visit is not None:
        return redirect(f"/virtual-care/visits/{visit.id}")
    return _start_page(request, session, actor, values, form_errors(problem))


def visit_page(
    request: Request,
    session: Session,
    actor: Actor,
    visit_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    draft: dict[str, Any] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    visit = access.open_as_patient(session, actor, visit_id, write=False)
    condition = visits.condition_of(visit)
    answers = draft if draft is not None else {k: _as_text(v) for k, v in visit.answers.items()}
    return render(
        request,
        "virtual_care/visit.html",
        {
            "visit": visit,
            "condition": condition,
            "answers": answers,
            "items": condition.questionnaire,
            "display": intake.display,
            "asked": intake.asked(condition, visit.answers),
            "errors": errors or {},
            "notice": notice,
            "status": VisitStatus,
            "may_cancel": refusal(visit.status, "cancel") is None,
            "summary": summary_of(session, visit),
            "may_write": messages.writing_refusal(visit, clinician=False) is None,
            **video_pages.patient_context(session, visit),
        },
        status_code=status_code,
    )


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@router.get("/virtual-care/visits/{visit_id}")
def visit(
    request: Request, visit_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    if not actor.is_patient_only:
        return staff_visit_page(request, session, actor, visit_id)
    return visit_page(request, session, actor, visit_id)


def _answers_of(form: FormData, visit: Visit) -> dict[str, Any]:
    condition = visits.condition_of(visit)
    return {i.link_id: str(form.get(i.link_id, "")) for i in condition.questionnaire if i.link_id in form}


@router.post("/virtual-care/visits/{visit_id}/intake")
def answer(
    request: Request,
    visit_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    raw = _answers_of(form, access.load(session, visit_id))  # the service checks who may answer
    submitting = form.get("action") == "submit"

    def act() -> Visit:
        saved = visits.save_answers(session, actor, visit_id, raw, from_form=True)
        return visits.submit(session, actor, visit_id) if submitting else saved

    done, problem = attempt(session, act, PROBLEMS)
    if done is None:
        errors = form_errors(problem) or {"intake": problem.detail if problem else "Something went wrong."}
        return visit_page(request, session, actor, visit_id, errors=errors, draft=raw, status_code=422)
    if not submitting:
        return redirect(
            f"/virtual-care/visits/{visit_id}", flash="Your answers are saved; come back any time to finish."
        )
    return redirect(f"/virtual-care/visits/{visit_id}")


def card_of(form: FormData) -> payments.Card:
    """The card a payment form (``card_number``, ``card_expiry``, ``card_cvc``, ...) was filled with."""
    return payments.Card(
        number=str(form.get("card_number", "")),
        expiry=str(form.get("card_expiry", "")),
        cvc=str(form.get("card_cvc", "")),
        name=str(form.get("card_name", "")),
        postal_code=str(form.get("postal_code", "")),
    )


@router.post("/virtual-care/visits/{visit_id}/pay")
def pay(
    request: Request,
    visit_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    card = card_of(form)
    done, problem = attempt(session, lambda: visits.pay(session, actor, visit_id, card), PROBLEMS)
    if done is None:
        errors = form_errors(problem) or {"card_number": problem.detail if problem else "Payment failed."}
        return visit_page(request, session, actor, visit_id, errors=errors, status_code=422)
    return redirect(f"/virtual-care/visits/{visit_id}", flash="Paid. Your visit is in the queue.")


def patient_action(
    request: Request, session: Session, actor: Actor, visit_id: uuid.UUID, action: Any, flash: str
) -> Response:
    """Run a patient's action on their visit: back to the visit with ``flash``, or the visit page
    again with the problem (422 for bad input, 409 for a move the visit's state refuses)."""
    done, problem = attempt(session, action, PROBLEMS)
    if problem is not None:
        return visit_page(
            request,
            session,
            actor,
            visit_id,
            errors=form_errors(problem) or {"visit": problem.detail},
            status_code=422 if isinstance(problem, ValidationFailed) else 409,
        )
    return redirect(f"/virtual-care/visits/{visit_id}", flash=flash)


@router.post("/virtual-care/visits/{visit_id}/cancel")
def cancel(
    request: Request, visit_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    return patient_action(
        request,
        session,
        actor,
        visit_id,
        lambda: visits.cancel(session, actor, visit_id),
        "Your visit was cancelled; you have not been charged.",
    )


@router.post("/virtual-care/visits/{visit_id}/rating")
def rate(
    request: Request,
    visit_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    raw = str(form.get("rating", ""))
    stars = int(raw) if raw.isdigit() else 0
    comment = str(form.get("comment", ""))
    return patient_action(
        request,
        session,
        actor,
        visit_id,
        lambda: ratings.rate(session, actor, visit_id, stars, comment),
        "Thank you for rating your visit.",
    )


def uploads_of(form: FormData) -> list[messages.Upload]:
    """The images attached to a posted form (file inputs left empty send no file)."""
    files = [f for f in form.getlist("attachments") if isinstance(f, UploadFile) and f.filename]
    return [messages.Upload(f.filename or "", f.content_type or "", f.file.read()) for f in files]


@router.post("/virtual-care/visits/{visit_id}/messages")
def write(
    request: Request,
    visit_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    body, uploads = str(form.get("body", "")), uploads_of(form)
    _, problem = attempt(session, lambda: messages.post(session, actor, visit_id, body, uploads), PROBLEMS)
    if problem is None:
        return redirect(f"/virtual-care/visits/{visit_id}#conversation", flash="Message sent.")
    errors = form_errors(problem) or {"body": problem.detail}
    if actor.is_patient_only:
        return visit_page(request, session, actor, visit_id, errors=errors, status_code=422)
    return staff_visit_page(request, session, actor, visit_id, errors=errors, status_code=422)


@router.get("/virtual-care/visits/{visit_id}/summary.pdf")
def summary_pdf(
    visit_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    return pdf_response(session, access.open_for_either(session, actor, visit_id).visit)


@router.get("/virtual-care/visits/{visit_id}/attachments/{attachment_id}")
def attachment(
    visit_id: uuid.UUID,
    attachment_id: uuid.UUID,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    return attachment_response(messages.attachment(session, actor, visit_id, attachment_id))


def portal_section(request: Request, session: Session, actor: Actor, patient: Any) -> str:
    """The portal home's 'My online visits': the latest visits and where to start one."""
    found = visits.visits_of_patient(session, actor, patient.id)[:5]
    return templates.get_template("virtual_care/_portal_section.html").render(
        visits=found, catalog=shipped(), status=VisitStatus
    )
