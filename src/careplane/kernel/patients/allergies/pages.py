"""The allergy list's forms, on the staff chart and in the portal: add an allergy, change an entry's
status, record "no known allergies". No rules here; a refused add shows the page again with the
section's field messages."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from careplane.kernel.access import Actor
from careplane.kernel.errors import CareplaneError, Conflict, ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.patients.allergies import service
from careplane.kernel.patients.allergies.models import PatientAllergy
from careplane.kernel.patients.allergies.sections import remember_form
from careplane.kernel.patients.allergies.validation import NEW_FIELDS
from careplane.kernel.patients.pages import chart_page
from careplane.kernel.patients.portal_pages import my_page, own_patient_id
from careplane.kernel.web import attempt, csrf_protect, db_session, form_errors, page_actor, posted_form, redirect

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])

#: What the forms show as a message rather than an error page (a merged record's Conflict included).
PROBLEMS = (ValidationFailed, Conflict)
ANCHOR = "#section-allergies"


def _posted(form: FormData) -> dict[str, str]:
    """The add form's fields that were sent (a blank optional one is left for the service's default)."""
    return {name: str(form[name]) for name in NEW_FIELDS if str(form.get(name, "")).strip()}


def _add(
    request: Request, session: Session, actor: Actor, patient_id: uuid.UUID, form: FormData
) -> tuple[PatientAllergy | None, CareplaneError | None]:
    """Record the allergy; a refusal's input and field messages are kept for the page shown again."""
    values = _posted(form)
    allergy, problem = attempt(session, lambda: service.record_allergy(session, actor, patient_id, values), PROBLEMS)
    if problem is not None:
        remember_form(request, values, form_errors(problem))
    return allergy, problem


def _added(allergy: PatientAllergy) -> str:
    return f"{allergy.substance} added to the allergy list."


# ---------------------------------------------------------------- staff chart


@router.post("/patients/{patient_id}/allergies")
def add_allergy(
    request: Request,
    patient_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    allergy, problem = _add(request, session, actor, patient_id, form)
    if allergy is not None:
        return redirect(f"/patients/{patient_id}{ANCHOR}", flash=_added(allergy))
    if form_errors(problem):
        return chart_page(request, session, actor, patient_id, status_code=problem.status if problem else 422)
    return redirect(f"/patients/{patient_id}{ANCHOR}", flash=problem.detail if problem else None)


@router.post("/patients/{patient_id}/allergies/no-known-allergies")
def no_known_allergies(
    patient_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    _, problem = attempt(session, lambda: service.record_no_known_allergies(session, actor, patient_id), PROBLEMS)
    return redirect(
        f"/patients/{patient_id}{ANCHOR}", flash=problem.detail if problem else "No known allergies recorded."
    )


@router.post("/patients/{patient_id}/allergies/{allergy_id}/status")
def change_status(
    patient_id: uuid.UUID,
    allergy_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    status = str(form.get("status", ""))
    allergy, problem = attempt(
        session, lambda: service.update_allergy(session, actor, patient_id, allergy_id, {"status": status}), PROBLEMS
    )
    if allergy is None:
        flash = problem.detail if problem else "The entry was not changed."
    else:
        flash = f"{allergy.substance}: {allergy.status.replace('-', ' ')}."
    return redirect(f"/patients/{patient_id}{ANCHOR}", flash=flash)


# ---------------------------------------------------------------- portal


@router.post("/my/allergies")
def add_my_allergy(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    allergy, problem = _add(request, session, actor, own_patient_id(actor), form)
    if allergy is not None:
        return redirect(f"/my{ANCHOR}", flash=_added(allergy))
    if form_errors(problem):
        return my_page(request, session, actor, status_code=problem.status if problem else 422)
    return redirect(f"/my{ANCHOR}", flash=problem.detail if problem else None)


@router.post("/my/allergies/no-known-allergies")
def my_no_known_allergies(actor: Actor = Depends(page_actor), session: Session = Depends(db_session)) -> Response:
    patient_id = own_patient_id(actor)
    _, problem = attempt(session, lambda: service.record_no_known_allergies(session, actor, patient_id), PROBLEMS)
    return redirect(f"/my{ANCHOR}", flash=problem.detail if problem else "Recorded: you have no known allergies.")
