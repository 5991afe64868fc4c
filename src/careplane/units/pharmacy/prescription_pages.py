"""The pharmacist's workspace: the verification queue (soonest due first; "Waiting for you" offers
only what the pharmacist may claim, licensed in the patient's state today) and the prescription page
with the patient's allergies, the safety alerts, and the approve, reject and contact-prescriber forms.
The queue is the kernel's work queue read through :mod:`careplane.kernel.work`; the rules live in
:mod:`.services.verification`."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from careplane.kernel import work
from careplane.kernel.access import Actor
from careplane.kernel.errors import AccessDenied, Conflict, ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.patients import service as patients
from careplane.kernel.patients.allergies import service as allergy_list
from careplane.kernel.web import (
    attempt,
    csrf_protect,
    db_session,
    form_errors,
    page_actor,
    posted_form,
    redirect,
    render,
)
from careplane.kernel.work import ItemFilter
from careplane.units.pharmacy.models import Prescription
from careplane.units.pharmacy.prescription_states import OPEN, RxStatus
from careplane.units.pharmacy.services import access, receiving, verification

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])
VIEWS = {"waiting": "Waiting for you", "mine": "Yours"}


@router.get("/pharmacy/queue")
def queue(
    request: Request,
    view: str = Query("waiting"),
    offset: int = Query(0, ge=0),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    found = work.queue_by_key(session, receiving.QUEUE_KEY)
    if found is None:
        raise AccessDenied("Pharmacy's verification queue has not been set up on this installation.")
    view = view if view in VIEWS else "waiting"
    wanted = ItemFilter(claimable=view == "waiting", assignee="me" if view == "mine" else None)
    page = work.list_items(session, actor, found.id, wanted, limit=50, offset=offset)
    ids = [uuid.UUID(row.item.subject_id) for row in page.rows if row.item.subject_id]
    loaded = {str(p.id): p for p in session.scalars(select(Prescription).where(Prescription.id.in_(ids)))}
    rows = [(row, loaded.get(row.item.subject_id or "")) for row in page.rows]
    return render(request, "pharmacy/queue.html", {"page": page, "rows": rows, "view": view, "views": VIEWS})


def prescription_page(
    request: Request,
    session: Session,
    actor: Actor,
    prescription_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    opened = access.open_as_staff(session, actor, prescription_id)
    rx = opened.prescription
    return render(
        request,
        "pharmacy/prescription.html",
        {
            "rx": rx,
            "opened": opened,
            "status": RxStatus,
            "open": RxStatus(rx.status) in OPEN,
            "patient": patients.get_patient(session, actor, rx.patient_id),
            "allergies": allergy_list.active_allergy_substances(session, actor, rx.patient_id),
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/pharmacy/prescriptions/{prescription_id}")
def prescription(
    request: Request,
    prescription_id: uuid.UUID,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    return prescription_page(request, session, actor, prescription_id)


def _act(
    request: Request,
    session: Session,
    actor: Actor,
    prescription_id: uuid.UUID,
    call: Any,
    flash: str,
    form: Any,
    field: str = "reason",
) -> Response:
    """Run a decision; a refused one shows the page again with its error on ``field``, the form's
    own field for the reason (the reject and the contact-the-prescriber forms each have one)."""
    _, problem = attempt(session, call, (ValidationFailed, Conflict, AccessDenied))
    if problem is None:
        return redirect(f"/pharmacy/prescriptions/{prescription_id}", flash=flash)
    if isinstance(problem, AccessDenied):
        raise problem
    if isinstance(problem, Conflict):
        return redirect("/pharmacy/queue", flash=problem.detail)
    values = {k: str(form.get(k, "")) for k in ("reason", "override_reason")} if form is not None else {}
    values[field] = values.get("reason", "")
    errors = {field if k == "reason" else k: v for k, v in form_errors(problem).items()} or {"action": problem.detail}
    return prescription_page(request, session, actor, prescription_id, errors=errors, values=values, status_code=422)


@router.post("/pharmacy/prescriptions/{prescription_id}/claim")
def claim(
    request: Request,
    prescription_id: uuid.UUID,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    def call() -> Prescription:
        return verification.claim(session, actor, prescription_id)

    return _act(request, session, actor, prescription_id, call, "The prescription is yours to verify.", None)


def _decide(
    request: Request,
    session: Session,
    actor: Actor,
    prescription_id: uuid.UUID,
    action: str,
    form: FormData,
    flash: str,
) -> Response:
    decision = verification.Decision(action, str(form.get("reason", "")), str(form.get("override_reason", "")))

    def call() -> Prescription:
        return verification.decide(session, actor, prescription_id, decision)

    field = "question" if action == "contact_prescriber" else "reason"
    return _act(request, session, actor, prescription_id, call, flash, form, field)


@router.post("/pharmacy/prescriptions/{prescription_id}/approve")
def approve(
    request: Request,
    prescription_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    return _decide(request, session, actor, prescription_id, "approve", form, "Prescription verified.")


@router.post("/pharmacy/prescriptions/{prescription_id}/reject")
def reject(
    request: Request,
    prescription_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    return _decide(request, session, actor, prescription_id, "reject", form, "Prescription rejected.")


@router.post("/pharmacy/prescriptions/{prescription_id}/contact-prescriber")
def contact_prescriber(
    request: Request,
    prescription_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    return _decide(
        request, session, actor, prescription_id, "contact_prescriber", form, "Marked as waiting for the prescriber."
    )
