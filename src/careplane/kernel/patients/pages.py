"""Staff pages for the patient registry: search, register (with the duplicate step), chart header, edit,
and the review of possible duplicates (dismiss, or merge two records of one person)."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from careplane.kernel import clock, panels
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.patients import service
from careplane.kernel.patients.allergies import sections as allergy_sections
from careplane.kernel.patients.merge import labels as field_labels
from careplane.kernel.patients.models import ConsentKind, ContactChannel, Patient, SexAtBirth
from careplane.kernel.patients.service import DuplicateSuspected, RecordMerged
from careplane.kernel.patients.validation import LANGUAGES, PATIENT_FIELDS, US_STATES
from careplane.kernel.web import (
    attempt,
    csrf_protect,
    db_session,
    form_errors,
    nav_item,
    page_actor,
    posted_form,
    redirect,
    render,
)

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])
nav_item("Patients", "/patients", permission=Permission.PATIENT_SEARCH, order=10)


#: Choices the templates offer; shared with the portal pages.
CHOICES: dict[str, list[tuple[str, str]]] = {
    "sex_at_birth": [("", "Choose…")] + [(s.value, s.value.capitalize()) for s in SexAtBirth],
    "state": [("", "Choose…")]
    + sorted(((code, f"{name} ({code})") for code, name in US_STATES.items()), key=lambda c: c[1]),
    "language": [(code, name) for code, name in LANGUAGES.items()],
    "preferred_channel": [
        (ContactChannel.EMAIL.value, "E-mail"),
        (ContactChannel.SMS.value, "Text message"),
        (ContactChannel.PHONE.value, "Phone call"),
        (ContactChannel.PORTAL.value, "Portal message"),
    ],
}
CONSENT_KINDS = list(ConsentKind)


#: What the shared record templates need to show codes as words.
def age_of(born: date, today: date | None = None) -> str:
    """Age as a chart banner says it: years, or months under two (``4 mo``), or days under a month."""
    today = today or clock.today()
    months = (today.year - born.year) * 12 + today.month - born.month - (today.day < born.day)
    if months >= 24:
        return f"{months // 12} y"
    if months >= 1:
        return f"{months} mo"
    return f"{(today - born).days} d"


RECORD_HELPERS: dict[str, Any] = {
    "state_names": US_STATES,
    "languages": LANGUAGES,
    "consent_label": lambda kind: ConsentKind(kind).label,
    "age_of": age_of,
}
FLAGS = ("allow_sms", "allow_email", "allow_phone")


#: What the registry's forms show rather than an error page (:func:`careplane.kernel.web.attempt`).
FORM_PROBLEMS = (ValidationFailed, DuplicateSuspected, RecordMerged)


def merged_notice(patient: Any) -> str:
    """The flash shown on the survivor's chart to someone who asked for a merged record."""
    when = patient.merged_at.strftime("%Y-%m-%d") if patient.merged_at else "earlier"
    return f"MRN {patient.mrn} was merged into this record on {when}: this is the record that replaced it."


def form_data(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {name: str(form.get(name, "")) for name in PATIENT_FIELDS if name in form}
    for flag in FLAGS:
        data[flag] = flag in form
    return data


#: A contact row's fields are named contact_<row>_<field>; the form shows every contact a record has
#: (a merge can leave more than the two empty rows a new record gets), so all of them come back.
_CONTACT_FIELD = re.compile(r"^contact_(\d{1,2})_(?:name|relationship|phone)$")


def contacts_from(form: Any) -> list[dict[str, str]]:
    """Emergency-contact rows of a form, in row order; blank rows are dropped."""
    contacts = []
    for i in sorted({int(m.group(1)) for key in form if (m := _CONTACT_FIELD.match(key))}):
        row = {key: str(form.get(f"contact_{i}_{key}", "")).strip() for key in ("name", "relationship", "phone")}
        if any(row.values()):
            contacts.append(row)
    return contacts


def contact_errors(errors: dict[str, str]) -> dict[str, str]:
    """``emergency_contacts.0.phone`` -> ``contact_0_phone`` so the form shows it beside the field."""
    return {
        name.replace("emergency_contacts.", "contact_").replace(".", "_"): message for name, message in errors.items()
    }


# ---------------------------------------------------------------- search


@router.get("/patients")
def search_page(
    request: Request, q: str = "", actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    require(actor, Permission.PATIENT_SEARCH)
    results = service.search_patients(session, actor, q[:200]) if q.strip() else None
    return render(request, "patients/search.html", {"q": q, "results": results})


@router.get("/patients/results")
def search_results(
    request: Request, q: str = "", actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    """The live-results fragment htmx swaps in as the user types."""
    require(actor, Permission.PATIENT_SEARCH)
    results = service.search_patients(session, actor, q[:200]) if q.strip() else None
    return render(request, "patients/_results.html", {"q": q, "results": results})


# ---------------------------------------------------------------- register


@router.get("/patients/new")
def new_patient(
    request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    service.open_registration(session, actor)
    defaults = {"language": "en", "allow_email": True, "allow_phone": True, "allow_sms": False}
    return render(request, "patients/new.html", _form_context(defaults, auto_channel=True))


@router.post("/patients/new")
def register_patient(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    data = form_data(form)
    confirm = form.get("confirm_not_duplicate") == "1"
    consents = [k for k in CONSENT_KINDS if f"consent_{k.value}" in form]
    contacts = contacts_from(form)

    def act() -> Patient:
        patient = service.register_patient(session, actor, data, confirm_not_duplicate=confirm, consents=consents)
        if contacts:
            service.set_emergency_contacts(session, actor, patient.id, contacts)
        return patient

    patient, problem = attempt(session, act, FORM_PROBLEMS)
    if patient is not None:
        return redirect(f"/patients/{patient.id}", flash=f"Registered {patient.legal_name}, MRN {patient.mrn}.")
    context = _form_context(data, consents=[k.value for k in consents], contacts=contacts, auto_channel=True)
    if isinstance(problem, DuplicateSuspected):
        context["candidates"] = problem.extensions["candidates"]
        return render(request, "patients/new.html", context, status_code=409)
    context["errors"] = contact_errors(form_errors(problem))
    return render(request, "patients/new.html", context, status_code=422)


def _form_context(values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "values": values,
        "errors": {},
        "choices": CHOICES,
        "consent_kinds": CONSENT_KINDS,
        "consents": [],
        "contacts": [],
        "candidates": None,
        **extra,
    }


# ---------------------------------------------------------------- chart header and edit


@router.get("/patients/{patient_id}")
def chart(
    request: Request, patient_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    return chart_page(request, session, actor, patient_id)


def chart_page(
    request: Request, session: Session, actor: Actor, patient_id: uuid.UUID, *, status_code: int = 200
) -> Response:
    """The chart; also shown again, with its status, by a chart form whose input was refused."""
    patient = service.get_patient(session, actor, patient_id, include=("consents", "contacts"))
    if not patient.active:
        return redirect(f"/patients/{patient.replaced_by}", flash=merged_notice(patient))
    duplicates = service.chart_duplicates(session, actor, patient_id)
    return render(
        request,
        "patients/chart.html",
        {
            "patient": patient,
            "duplicates": duplicates,
            "consent_kinds": CONSENT_KINDS,
            "merged_records": service.merged_records(session, actor, patient_id),
            "can_update": actor.can(Permission.PATIENT_UPDATE),
            "can_review": actor.can(Permission.PATIENT_REGISTER),
            "can_merge": actor.can(Permission.PATIENT_MERGE),
            "allergy_flag": allergy_sections.banner_flag(
                allergy_sections.allergy_list_for(request, session, actor, patient_id)
            ),
            **RECORD_HELPERS,
            "sections": panels.rendered("chart_sections", request, session, actor, patient=patient),
        },
        status_code=status_code,
    )


@router.post("/patients/{patient_id}/duplicates/{pair_id}/dismiss")
def dismiss_duplicate(
    patient_id: uuid.UUID,
    pair_id: uuid.UUID,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    service.dismiss_duplicate(session, actor, patient_id, pair_id)
    return redirect(f"/patients/{patient_id}", flash="Marked as different people; the pair left the review list.")


def _merge_page(
    request: Request,
    preview: service.MergePreview,
    *,
    chosen: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "patients/merge.html",
        {
            "preview": preview,
            "patient": preview.patient,
            "other": preview.other,
            "chosen": chosen,
            "errors": errors or {},
            "field_labels": field_labels,
            **RECORD_HELPERS,
        },
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/duplicates/{pair_id}/merge")
def merge_form(
    request: Request,
    patient_id: uuid.UUID,
    pair_id: uuid.UUID,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    """The two records side by side; staff choose the one that is kept."""
    return _merge_page(request, service.merge_preview(session, actor, patient_id, pair_id))


@router.post("/patients/{patient_id}/duplicates/{pair_id}/merge")
def merge_submit(
    request: Request,
    patient_id: uuid.UUID,
    pair_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    chosen = str(form.get("survivor", ""))
    preview = service.merge_preview(session, actor, patient_id, pair_id)
    ids = {str(preview.patient.id): preview.patient, str(preview.other.id): preview.other}
    if chosen not in ids:
        return _merge_page(request, preview, errors={"survivor": "Choose which record is kept."}, status_code=422)
    survivor = ids.pop(chosen)
    (merged,) = ids.values()
    result, problem = attempt(
        session, lambda: service.merge_patients(session, actor, survivor.id, merged.id, pair_id), FORM_PROBLEMS
    )
    if result is None:
        message = problem.detail if problem else "The records could not be merged."
        return _merge_page(request, preview, chosen=chosen, errors={"survivor": message}, status_code=409)
    return redirect(f"/patients/{survivor.id}", flash=result.summary())


@router.get("/patients/{patient_id}/edit")
def edit_form(
    request: Request, patient_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    service.open_edit(session, actor, patient_id)
    patient = service.get_patient(session, actor, patient_id, include=("contacts",))
    if not patient.active:
        return redirect(f"/patients/{patient.replaced_by}", flash=merged_notice(patient) + " Change this one instead.")
    values = {name: getattr(patient, name) for name in PATIENT_FIELDS}
    contacts = [
        {"name": c.name, "relationship": c.relationship_to_patient, "phone": c.phone}
        for c in patient.emergency_contacts
    ]
    return render(request, "patients/edit.html", _form_context(values, patient=patient, contacts=contacts))


@router.post("/patients/{patient_id}/edit")
def edit_submit(
    request: Request,
    patient_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    data = form_data(form)
    contacts = contacts_from(form)

    def act() -> bool:
        service.update_patient(session, actor, patient_id, data)
        service.set_emergency_contacts(session, actor, patient_id, contacts)
        return True

    done, problem = attempt(session, act, FORM_PROBLEMS)
    if done:
        return redirect(f"/patients/{patient_id}", flash="Changes saved.")
    patient = service.get_patient(session, actor, patient_id)
    context = _form_context(data, patient=patient, contacts=contacts)
    if isinstance(problem, RecordMerged):
        context["merged_problem"] = problem
        return render(request, "patients/edit.html", context, status_code=409)
    context["errors"] = contact_errors(form_errors(problem))
    return render(request, "patients/edit.html", context, status_code=422)


@router.post("/patients/{patient_id}/consents")
def grant_consent(
    request: Request,
    patient_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    kind = str(form.get("kind", ""))
    consent, problem = attempt(session, lambda: service.grant_consent(session, actor, patient_id, kind), FORM_PROBLEMS)
    if problem:
        return redirect(f"/patients/{patient_id}", flash=problem.detail)
    assert consent is not None, "attempt() returns the consent or the problem"
    return redirect(f"/patients/{patient_id}", flash=f"{ConsentKind(consent.kind).label} recorded.")


@router.post("/patients/{patient_id}/consents/{consent_id}/revoke")
def revoke_consent(
    patient_id: uuid.UUID,
    consent_id: uuid.UUID,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    consent = service.revoke_consent(session, actor, patient_id, consent_id)
    return redirect(f"/patients/{patient_id}", flash=f"{ConsentKind(consent.kind).label} revoked.")
