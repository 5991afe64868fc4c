"""The clinician's workspace: the visit queue (soonest promise first, filters by state, condition and
type), claiming, and the visit page with the chart review, the conversation, the SOAP note from the
condition's template, diagnoses, prescriptions from the condition's protocols, and completion or
referral. The queue is the kernel's work queue read through :mod:`careplane.kernel.work`, so only
visits the clinician may take (licensed in the patient's state today) are offered."""

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
    templates,
    viewer_zone,
)
from careplane.kernel.work import ItemFilter, policy
from careplane.units import pharmacy
from careplane.units.virtual_care import diagnoses, intake, video_pages
from careplane.units.virtual_care.catalog import VISIT_TYPES, Condition, shipped
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services import access, lead_report, messages, treatment, visits
from careplane.units.virtual_care.visit_states import VisitStatus

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])
PROBLEMS = (ValidationFailed, Conflict)
VIEWS = {"waiting": "Waiting for you", "mine": "Yours"}


@router.get("/virtual-care/queue")
def queue(
    request: Request,
    view: str = Query("waiting"),
    state: str = Query(""),
    condition: str = Query(""),
    visit_type: str = Query(""),
    offset: int = Query(0, ge=0),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    found = work.queue_by_key(session, visits.QUEUE_KEY)
    if found is None:
        raise AccessDenied("Virtual Care's visit queue has not been set up on this installation.")
    view = view if view in VIEWS else "waiting"
    chosen = select(Visit.work_item_id).where(Visit.work_item_id.is_not(None))
    if condition:
        chosen = chosen.where(Visit.condition_code == condition)
    if visit_type in VISIT_TYPES:
        chosen = chosen.where(Visit.visit_type == visit_type)
    wanted = ItemFilter(
        claimable=view == "waiting",
        assignee="me" if view == "mine" else None,
        state=state.strip().upper() or None,
        within=chosen if condition or visit_type in VISIT_TYPES else None,
    )
    page = work.list_items(session, actor, found.id, wanted, limit=50, offset=offset)
    by_id = {row.item.subject_id: row for row in page.rows}
    loaded = {str(v.id): v for v in session.query(Visit).filter(Visit.id.in_([uuid.UUID(s) for s in by_id if s])).all()}
    rows = [(row, loaded.get(row.item.subject_id or "")) for row in page.rows]
    return render(
        request,
        "virtual_care/queue.html",
        {
            "page": page,
            "rows": rows,
            "view": view,
            "views": VIEWS,
            "state": state.upper(),
            "condition": condition,
            "visit_type": visit_type,
            "catalog": shipped(),
        },
    )


def staff_visit_page(
    request: Request,
    session: Session,
    actor: Actor,
    visit_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    opened = access.open_as_staff(session, actor, visit_id)
    visit = opened.visit
    condition = visits.condition_of(visit)
    patient = patients.get_patient(session, actor, visit.patient_id)
    history = [v for v in visits.visits_of_patient(session, actor, visit.patient_id) if v.id != visit.id]
    allergies = allergy_list.active_allergy_substances(session, actor, visit.patient_id)
    protocol_drugs = []
    for protocol in condition.protocols:
        for drug in protocol.drugs:
            product = pharmacy.match_drug(drug.name, drug.strength)
            warnings = pharmacy.allergy_conflicts(product.id, allergies) if product else []
            protocol_drugs.append((protocol.name, drug, product, warnings))
    return render(
        request,
        "virtual_care/staff_visit.html",
        {
            "visit": visit,
            "opened": opened,
            "condition": condition,
            "patient": patient,
            "asked": intake.asked(condition, visit.answers),
            "display": intake.display,
            "history": history,
            "catalog": shipped(),
            "status": VisitStatus,
            "errors": errors or {},
            "values": values or note_template(condition, visit),
            "diagnosis_choices": [(code, f"{code} {diagnoses.describe(code)}") for code in condition.icd10],
            "protocol_drugs": protocol_drugs,
            "allergies": allergies,
            "may_write": opened.holds and messages.writing_refusal(visit, clinician=True) is None,
            **video_pages.staff_context(session, visit),
        },
        status_code=status_code,
    )


def note_template(condition: Condition, visit: Visit) -> dict[str, str]:
    """The SOAP note's starting text for the condition: what the patient said, and the usual assessment."""
    said = "; ".join(
        f"{item.text.rstrip('?')}: {intake.display(item, answer)}"
        for item, answer in intake.asked(condition, visit.answers)
    )
    return {
        "subjective": f"Patient reports via {visit.visit_type} visit intake. {said}.",
        "objective": "Seen by video (synchronous telehealth); observations: "
        if visit.visit_type == "video"
        else "Not examined in person (asynchronous telehealth).",
        "assessment": f"Presentation consistent with {condition.name.lower()}; no red-flag answers in the intake.",
        "plan": "",
        "minutes": "",
    }


def _visit_action(
    request: Request,
    session: Session,
    actor: Actor,
    visit_id: uuid.UUID,
    action: Any,
    flash: str,
    back: str | None = None,
) -> Response:
    _, problem = attempt(session, action, PROBLEMS + (AccessDenied,))
    if problem is None:
        return redirect(back or f"/virtual-care/visits/{visit_id}", flash=flash)
    if isinstance(problem, AccessDenied):
        raise problem
    return (
        redirect("/virtual-care/queue", flash=problem.detail)
        if isinstance(problem, Conflict)
        else staff_visit_page(request, session, actor, visit_id, errors=form_errors(problem), status_code=422)
    )


@router.post("/virtual-care/visits/{visit_id}/claim")
def claim(
    request: Request, visit_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    return _visit_action(
        request, session, actor, visit_id, lambda: treatment.claim(session, actor, visit_id), "The visit is yours."
    )


@router.post("/virtual-care/visits/{visit_id}/release")
def release(
    request: Request, visit_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    return _visit_action(
        request,
        session,
        actor,
        visit_id,
        lambda: treatment.release(session, actor, visit_id),
        "The visit is back in the queue.",
        "/virtual-care/queue",
    )


def _completion_of(form: FormData, visit: Visit) -> treatment.Completion:
    codes = [str(c) for c in form.getlist("diagnoses")] + [
        c for c in str(form.get("other_diagnoses", "")).replace(",", " ").split() if c
    ]
    orders = []
    for key in form.getlist("prescribe"):
        n = str(key)
        refills = str(form.get(f"refills-{n}", "0")).strip()
        orders.append(
            treatment.PrescriptionOrder(
                drug_id=str(form.get(f"drug-{n}", "")),
                sig=str(form.get(f"sig-{n}", "")),
                quantity=str(form.get(f"quantity-{n}", "")),
                refills=int(refills) if refills.isdigit() else -1,
            )
        )
    minutes, level = str(form.get("minutes", "")).strip(), str(form.get("level", "")).strip()
    return treatment.Completion(
        diagnoses=codes,
        plan=str(form.get("plan", "")),
        minutes=int(minutes) if minutes.isdigit() else None,
        subjective=str(form.get("subjective", "")),
        objective=str(form.get("objective", "")),
        assessment=str(form.get("assessment", "")),
        prescriptions=orders,
        level=int(level) if level.isdigit() else None,
    )


@router.post("/virtual-care/visits/{visit_id}/complete")
def complete(
    request: Request,
    visit_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    visit = access.load(session, visit_id)
    done = _completion_of(form, visit)
    _, problem = attempt(session, lambda: treatment.complete(session, actor, visit_id, done), PROBLEMS)
    if problem is None:
        return redirect("/virtual-care/queue", flash="Visit completed and signed.")
    values = {
        k: str(form.get(k, ""))
        for k in ("plan", "minutes", "level", "subjective", "objective", "assessment", "other_diagnoses")
    }
    errors = form_errors(problem) or {"visit": problem.detail}
    return staff_visit_page(request, session, actor, visit_id, errors=errors, values=values, status_code=422)


@router.post("/virtual-care/visits/{visit_id}/refer")
def refer(
    request: Request,
    visit_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    reason = str(form.get("reason", ""))
    return _visit_action(
        request,
        session,
        actor,
        visit_id,
        lambda: treatment.refer_out(session, actor, visit_id, reason),
        "Referred to in-person care; no charge.",
        "/virtual-care/queue",
    )


@router.get("/virtual-care/lead")
def lead_page(request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)) -> Response:
    report = lead_report.report(session, actor, viewer_zone(request))
    labels = [f"{d.day:%b %d}" for d in report.days]
    return render(request, "virtual_care/lead.html", {"r": report, "labels": labels})


def home_panel(request: Request, session: Session, actor: Actor) -> str:
    """A clinician's home: visits waiting that they may take, and theirs in progress."""
    found = work.queue_by_key(session, visits.QUEUE_KEY)
    if found is None or policy.see_refusal(
        actor, policy.acting_worker(session, actor), policy.place_of(session, found)
    ):
        return ""
    waiting = work.list_items(session, actor, found.id, ItemFilter(claimable=True), limit=5)
    mine = work.list_items(session, actor, found.id, ItemFilter(assignee="me"), limit=5)
    leads = policy.manages(actor, policy.place_of(session, found), policy.acting_worker(session, actor))
    return templates.get_template("virtual_care/_home_panel.html").render(waiting=waiting, mine=mine, leads=leads)


def chart_section(request: Request, session: Session, actor: Actor, patient: Any) -> str:
    """The chart's 'Online visits': the patient's visits, newest first (the chart has already checked
    and audited the reading of this record)."""
    found = list(
        session.scalars(select(Visit).where(Visit.patient_id == patient.id).order_by(Visit.created_at.desc()).limit(20))
    )
    return templates.get_template("virtual_care/_chart_section.html").render(
        visits=found, catalog=shipped(), status=VisitStatus
    )
