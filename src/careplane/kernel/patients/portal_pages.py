"""The patient portal: self-registration and "My record" (see and change one's own details)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from careplane.kernel import panels
from careplane.kernel.access import Actor
from careplane.kernel.errors import NotFound, ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.identity.models import User
from careplane.kernel.identity.passwords import RULE as PASSWORD_RULE
from careplane.kernel.identity.passwords import hash_password, password_problem
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.service import (
    check_signup_rate,
    mail_existing_account_of_signup,
    record_signup,
    send_email_verification,
)
from careplane.kernel.identity.users import create_user, find_by_email
from careplane.kernel.patients import service
from careplane.kernel.patients.models import ConsentKind
from careplane.kernel.patients.pages import (
    CHOICES,
    CONSENT_KINDS,
    FORM_PROBLEMS,
    RECORD_HELPERS,
    contact_errors,
    contacts_from,
    form_data,
)
from careplane.kernel.patients.validation import SELF_SERVICE_FIELDS, clean_patient
from careplane.kernel.web import (
    attempt,
    client_ip,
    csrf_protect,
    db_session,
    form_errors,
    nav_item,
    optional_page_actor,
    page_actor,
    posted_form,
    redirect,
    render,
)

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])
nav_item("My record", "/my", role=Role.PATIENT, order=5)

REGISTRATION_FIELDS = ("given_name", "family_name", "birth_date", "sex_at_birth", "email", "state", "phone")
REQUIRED_CONSENTS = (ConsentKind.TREATMENT, ConsentKind.HIPAA_AUTHORIZATION)
#: Self-registration is the platform acting for a person who has no account yet.
SELF_REGISTRATION = Actor.for_system("self-registration", via="web")


def own_patient_id(actor: Actor) -> uuid.UUID:
    if actor.patient_id is None:
        raise NotFound("Your account is not linked to a patient record.")
    return actor.patient_id


# ---------------------------------------------------------------- my record


def my_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    contacts: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    """The "My record" page; also shown again, with its status, by a portal form whose input was refused."""
    patient = service.get_patient(session, actor, own_patient_id(actor), include=("consents", "contacts"))
    if values is None:
        values = {name: getattr(patient, name) for name in SELF_SERVICE_FIELDS}
    if contacts is None:
        contacts = [
            {"name": c.name, "relationship": c.relationship_to_patient, "phone": c.phone}
            for c in patient.emergency_contacts
        ]
    return render(
        request,
        "portal/my.html",
        {
            "patient": patient,
            "values": values,
            "errors": errors or {},
            "contacts": contacts,
            "choices": CHOICES,
            "consent_kinds": CONSENT_KINDS,
            "can_update": True,
            "consent_base": "/my/consents",
            "verified": getattr(request.state, "user", None) is not None and request.state.user.email_verified_at,
            "sections": panels.rendered("portal_sections", request, session, actor, patient=patient),
            **RECORD_HELPERS,
        },
        status_code=status_code,
    )


@router.get("/my")
def my_record(request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)) -> Response:
    return my_page(request, session, actor)


@router.post("/my")
def update_my_record(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    data = {k: v for k, v in (form_data(form)).items() if k in SELF_SERVICE_FIELDS}
    contacts = contacts_from(form)
    patient_id = own_patient_id(actor)

    def act() -> bool:
        service.update_patient(session, actor, patient_id, data)
        service.set_emergency_contacts(session, actor, patient_id, contacts)
        return True

    done, problem = attempt(session, act, FORM_PROBLEMS)
    if done:
        return redirect("/my", flash="Your details were saved.")
    errors = contact_errors(form_errors(problem))
    return my_page(request, session, actor, values=data, errors=errors, contacts=contacts, status_code=422)


@router.post("/my/consents")
def grant_my_consent(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    kind = str(form.get("kind", ""))
    consent, problem = attempt(
        session, lambda: service.grant_consent(session, actor, own_patient_id(actor), kind), FORM_PROBLEMS
    )
    if problem:
        return redirect("/my", flash=problem.detail)
    assert consent is not None, "attempt() returns the consent or the problem"
    return redirect("/my", flash=f"{ConsentKind(consent.kind).label} recorded.")


@router.post("/my/consents/{consent_id}/revoke")
def revoke_my_consent(
    consent_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    consent = service.revoke_consent(session, actor, own_patient_id(actor), consent_id)
    return redirect("/my", flash=f"{ConsentKind(consent.kind).label} revoked.")


# ---------------------------------------------------------------- self-registration


def _register_page(
    request: Request, values: dict[str, Any], errors: dict[str, str], consents: list[str], status_code: int = 200
) -> Response:
    return render(
        request,
        "portal/register.html",
        {
            "values": values,
            "errors": errors,
            "consents": consents,
            "choices": CHOICES,
            "consent_kinds": CONSENT_KINDS,
            "required_consents": [k.value for k in REQUIRED_CONSENTS],
            "password_rule": PASSWORD_RULE,
        },
        status_code=status_code,
    )


@router.get("/register")
def register_form(request: Request, actor: Actor | None = Depends(optional_page_actor)) -> Response:
    if actor is not None:
        return redirect("/")
    return _register_page(request, {"language": "en"}, {}, [])


@router.post("/register")
def register(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor | None = Depends(optional_page_actor),
    session: Session = Depends(db_session),
) -> Response:
    """Every valid sign-up ends on the same "check your e-mail" page, whether or not the address
    already has an account (its owner is mailed instead), so the form does not tell which
    addresses belong to patients of the service: the login page keeps the same secret."""
    if actor is not None:
        return redirect("/")
    values = {name: str(form.get(name, "")).strip() for name in REGISTRATION_FIELDS}
    password = str(form.get("password", ""))
    consents = [k.value for k in CONSENT_KINDS if f"consent_{k.value}" in form]
    errors = _registration_problems(values, password, consents)
    if errors:
        return _register_page(request, values, errors, consents, status_code=422)
    settings = request.app.state.settings
    ip = client_ip(request)
    check_signup_rate(session, settings, ip)
    existing = find_by_email(session, values["email"])
    if existing is not None:
        hash_password(password)  # the work of a real sign-up, so that the time taken does not tell either
        mail_existing_account_of_signup(session, settings, existing)
    else:
        user, problem = attempt(session, lambda: _sign_up(session, values, password, consents), FORM_PROBLEMS)
        if user is None:
            return _register_page(request, values, form_errors(problem), consents, status_code=422)
        send_email_verification(session, user, settings)
    record_signup(session, values["email"], ip)
    return render(request, "portal/register_sent.html", {"email": values["email"]})


def _sign_up(session: Session, values: dict[str, str], password: str, consents: list[str]) -> User:
    # Likely duplicates are recorded for staff review but never shown to an anonymous visitor.
    data = {**values, "allow_sms": False, "preferred_channel": "email"}
    patient = service.register_patient(session, SELF_REGISTRATION, data, confirm_not_duplicate=True, consents=consents)
    assert patient.email is not None, "the sign-up form requires an e-mail address"
    return create_user(
        session,
        email=patient.email,
        display_name=patient.display_name,
        roles=[Role.PATIENT],
        password=password,
        patient_id=patient.id,
    )


def _registration_problems(values: dict[str, str], password: str, consents: list[str]) -> dict[str, str]:
    """What the patient must fix before anything is saved, beyond the registry's own field rules."""
    errors: dict[str, str] = {}
    try:
        clean_patient(values)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if not values["email"] and "email" not in errors:
        errors["email"] = "Enter your e-mail address; we use it to confirm your account."
    if not values["state"] and "state" not in errors:
        errors["state"] = "Choose the state you live in; care depends on it."
    problem = password_problem(password, email=values["email"])
    if problem:
        errors["password"] = problem
    for kind in REQUIRED_CONSENTS:
        if kind.value not in consents:
            errors[f"consent_{kind.value}"] = f"{kind.label} is needed to use careplane."
    return errors
