"""The allergy list on the staff chart and in the patient portal: kernel sections, declared and shown
the way units' sections are (:class:`careplane.kernel.units.Panel`, :mod:`careplane.kernel.panels`).

The chart's banner and its Allergies section show the same list; :func:`allergy_list_for` reads it
once per request, so one page view is one audited read of the list, not two."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from careplane.kernel.access import Actor, Permission
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.allergies import service
from careplane.kernel.patients.allergies.models import AllergyCategory, AllergyCriticality, AllergySource
from careplane.kernel.patients.models import Patient
from careplane.kernel.units import Panel
from careplane.kernel.web import CSRF_FIELD, csrf_token, templates

CHART_SECTIONS = (
    Panel(
        key="allergies",
        title="Allergies",
        render="careplane.kernel.patients.allergies.sections:chart_section",
        permission=Permission.PATIENT_READ.value,
        order=5,
    ),
)
PORTAL_SECTIONS = (
    Panel(
        key="allergies",
        title="My allergies",
        render="careplane.kernel.patients.allergies.sections:portal_section",
        permission=Permission.PATIENT_READ.value,
        roles=(Role.PATIENT.value,),
        order=5,
    ),
)

CHOICES: dict[str, list[tuple[str, str]]] = {
    "category": [("", "Choose…")] + [(c.value, c.value.capitalize()) for c in AllergyCategory],
    "criticality": [
        (AllergyCriticality.UNABLE_TO_ASSESS.value, "Unable to assess"),
        (AllergyCriticality.LOW.value, "Low"),
        (AllergyCriticality.HIGH.value, "High: risk of a serious reaction"),
    ],
    "source": [
        (AllergySource.CLINICIAN.value, "Clinician"),
        (AllergySource.PATIENT_REPORTED.value, "Patient-reported"),
    ],
}
STATUS_LABELS = {"active": "Active", "inactive": "Inactive", "entered-in-error": "Entered in error"}


def allergy_list_for(request: Request, session: Session, actor: Actor, patient_id: uuid.UUID) -> service.AllergyList:
    """The patient's whole list (inactive entries too), read and audited once per request."""
    cache: dict[uuid.UUID, service.AllergyList] = getattr(request.state, "allergy_lists", None) or {}
    if patient_id not in cache:
        cache[patient_id] = service.read_allergy_list(session, actor, patient_id, include_inactive=True)
        request.state.allergy_lists = cache
    return cache[patient_id]


def remember_form(request: Request, values: dict[str, Any], errors: dict[str, str]) -> None:
    """Keep a refused add form's input and messages for the section, when the page is shown again."""
    request.state.allergy_form = {"values": values, "errors": errors}


def banner_flag(listed: service.AllergyList) -> tuple[str, str]:
    """The banner's allergy flag: (badge level, text)."""
    if listed.assessment == "allergies":
        return "danger", "Allergies: " + ", ".join(a.substance for a in listed.active)
    if listed.assessment == "no-known-allergies":
        return "ok", "No known allergies"
    return "warn", "Allergies not recorded"


def _render(request: Request, session: Session, actor: Actor, patient: Patient, *, base: str, staff: bool) -> str:
    form = getattr(request.state, "allergy_form", None) or {"values": {}, "errors": {}}
    return templates.get_template("patients/_allergies.html").render(
        listed=allergy_list_for(request, session, actor, patient.id),
        base=base,
        staff=staff,
        can_add=actor.can(Permission.PATIENT_UPDATE),
        can_change=service.may_change_status(actor, patient.id),
        values=form["values"],
        errors=form["errors"],
        choices=CHOICES,
        status_labels=STATUS_LABELS,
        csrf_token=csrf_token(request),
        csrf_field=CSRF_FIELD,
    )


def chart_section(request: Request, session: Session, actor: Actor, patient: Patient) -> str:
    return _render(
        request, session, actor, patient, base=f"/patients/{patient.id}/allergies", staff=not actor.is_patient_only
    )


def portal_section(request: Request, session: Session, actor: Actor, patient: Patient) -> str:
    return _render(request, session, actor, patient, base="/my/allergies", staff=False)
