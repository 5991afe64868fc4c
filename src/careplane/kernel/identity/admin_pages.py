"""Administrators manage staff accounts: list, create (with an e-mailed set-password link), deactivate, reset MFA.

Patient accounts are not listed, and one asked for by its id is refused (audited): they belong to
patients' records, which administrators do not see (identity.service.reach_account).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.identity import mfa, service
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import STAFF_ROLES, Role
from careplane.kernel.web import attempt, csrf_protect, db_session, form_errors, nav_item, page_actor, redirect, render

router = APIRouter(
    route_class=GuardedRoute, prefix="/admin/users", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)
nav_item("Users", "/admin/users", permission=Permission.USER_MANAGE, order=90, area="Operations")

STAFF_ROLE_CHOICES = [(r.value, r.label) for r in Role if r in STAFF_ROLES]


@router.get("")
def users(
    request: Request,
    role: str = "",
    page: int = Query(1, ge=1),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    chosen = Role(role) if role in Role._value2member_map_ and role != Role.PATIENT else None
    people, more = service.list_users(session, actor, role=chosen, page=page)
    return render(
        request,
        "admin/users.html",
        {
            "people": people,
            "page": page,
            "more": more,
            "role": chosen.value if chosen else "",
            "role_options": [("", "All roles")] + [(r.value, r.label) for r in Role if r != Role.PATIENT],
            "units": service.UNITS,
            "now": clock.now(),
        },
    )


def _new_form(request: Request, values: dict, errors: dict | None = None, status_code: int = 200) -> Response:
    return render(
        request,
        "admin/user_new.html",
        {
            "values": values,
            "errors": errors or {},
            "role_choices": STAFF_ROLE_CHOICES,
            "unit_options": [("", "No unit")] + list(service.UNITS.items()),
        },
        status_code=status_code,
    )


@router.get("/new")
def new_user_form(request: Request, actor: Actor = Depends(page_actor)) -> Response:
    require(actor, Permission.USER_MANAGE)
    return _new_form(request, {"email": "", "display_name": "", "roles": [], "unit": ""})


@router.post("")
def create_user(
    request: Request,
    email: str = Form(""),
    display_name: str = Form(""),
    roles: list[str] = Form([]),
    unit: str = Form(""),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    try:
        user = service.create_staff_user(
            session, actor, request.app.state.settings, email=email, display_name=display_name, roles=roles, unit=unit
        )
    except ValidationFailed as exc:
        values = {"email": email, "display_name": display_name, "roles": roles, "unit": unit}
        return _new_form(request, values, exc.errors, status_code=422)
    return redirect(
        "/admin/users", flash=f"Account made for {user.email}. A link to choose a password was e-mailed to them."
    )


def _edit_form(
    request: Request, person: User, values: dict[str, Any], errors: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "admin/user_edit.html",
        {"person": person, "values": values, "errors": errors or {}, "role_choices": STAFF_ROLE_CHOICES},
        status_code=status_code,
    )


@router.get("/{user_id}/edit")
def edit_user_form(
    request: Request, user_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    person = service.get_user(session, actor, user_id)
    return _edit_form(request, person, {"display_name": person.display_name, "roles": [r.value for r in person.roles]})


@router.post("/{user_id}/edit")
def edit_user(
    request: Request,
    user_id: uuid.UUID,
    display_name: str = Form(""),
    roles: list[str] = Form([]),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    person = service.get_user(session, actor, user_id)
    done, problem = attempt(
        session, lambda: service.update_staff_user(session, actor, person, display_name=display_name, roles=roles)
    )
    if done is None:
        values = {"display_name": display_name, "roles": roles}
        return _edit_form(request, person, values, form_errors(problem), status_code=422)
    return redirect("/admin/users", flash=f"Saved {done.email}.")


@router.post("/{user_id}/deactivate")
def deactivate(
    user_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    user = service.get_user(session, actor, user_id)
    service.deactivate_user(session, actor, user)
    return redirect("/admin/users", flash=f"{user.email} is deactivated; their sessions and API tokens no longer work.")


@router.post("/{user_id}/reset-mfa")
def reset_mfa(
    user_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    user = service.get_user(session, actor, user_id)
    mfa.reset_user_mfa(session, actor, user)
    return redirect(
        "/admin/users",
        flash=f"Two-step verification of {user.email} was reset; they set it up again at their next login.",
    )
