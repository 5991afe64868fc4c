"""Staff pages: the staff list, a person's page (licences with expiry warnings, open work), hiring,
adding and renewing licences, and the CSV upload. Thin: parse, call the staff services, render."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute, accepts_upload
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgUnit, StaffMember, UnitStatus
from careplane.kernel.org.staff import csv_import
from careplane.kernel.org.staff import service as staff_service
from careplane.kernel.org.structure import service as structure
from careplane.kernel.org.structure.pages import EFFECTIVE_HINT
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
from careplane.standards import dea

router = APIRouter(
    route_class=GuardedRoute, prefix="/org/staff", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)
nav_item("Staff", "/org/staff", permission=Permission.ORG_READ, order=62, area="Organisation")

STAFF_FIELDS = ("email", "display_name", "unit", "team", "npi", "dea_number", "dea_expires_on", "start_date")
LICENCE_FIELDS = ("state", "number", "kind", "issued_on", "expires_on")
ROLE_CHOICES = [r for r in Role if r.is_staff and r is not Role.EMPLOYER_ADMIN]
CREDENTIAL_OPTIONS = [(c, c) for c in staff_service.CREDENTIALS]
#: What the edit page changes: the fields ``update_staff`` (and ``PATCH /api/v1/org/staff/{id}``) accept.
EDIT_FIELDS = ("npi", "dea_number", "dea_expires_on", "end_date")


def _helpers(session: Session) -> dict[str, Any]:
    return {
        "today": clock.today(),
        "expiry_state": staff_service.expiry_state,
        "worst_expiry": staff_service.worst_expiry,
        "units": dict(staff_service.unit_choices(session)),
    }


# ---------------------------------------------------------------- list


#: How the staff list sorts: by name (default), home unit, or the licence (or DEA registration)
#: that expires first; ``-key`` reverses.
_SORTS: dict[str, Callable[[StaffMember], Any]] = {
    "name": lambda p: (p.user.display_name.casefold(), p.user.email),
    "unit": lambda p: (p.user.unit or "~", p.user.display_name.casefold()),
    "expiry": lambda p: (
        min(
            [*(lic.expires_on for lic in p.licences), *([p.dea_expires_on] if p.dea_expires_on else [])],
            default=date.max,
        ),
        p.user.display_name.casefold(),
    ),
}


def sorted_by(people: list[StaffMember], sort: str) -> tuple[list[StaffMember], str]:
    """The people in the order ``sort`` names, and the sort in force (an unknown one: by name)."""
    key = sort.lstrip("-")
    if key not in _SORTS:
        return sorted(people, key=_SORTS["name"]), "name"
    return sorted(people, key=_SORTS[key], reverse=sort.startswith("-")), sort


@router.get("")
def staff_list(
    request: Request,
    unit: str = "",
    role: str = "",
    sort: str = "name",
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    chosen_role = Role(role) if role in {r.value for r in ROLE_CHOICES} else None
    people, sort = sorted_by(staff_service.list_staff(session, actor, unit=unit or None, role=chosen_role), sort)
    return render(
        request,
        "org/staff_list.html",
        {
            "people": people,
            "sort": sort,
            "unit": unit,
            "role": chosen_role.value if chosen_role else "",
            "unit_options": [("", "All units"), *staff_service.unit_choices(session)],
            "role_options": [("", "All roles"), *((r.value, r.label) for r in ROLE_CHOICES)],
            "can_manage": actor.can(Permission.ORG_MANAGE),
            **_helpers(session),
        },
    )


# ---------------------------------------------------------------- hire


def _form_context(session: Session, values: dict[str, Any], errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors or {},
        "role_options": [(r.value, r.label) for r in ROLE_CHOICES],
        "credential_options": CREDENTIAL_OPTIONS,
        "unit_options": [("", "None"), *staff_service.unit_choices(session)],
    }


@router.get("/new")
def new_staff(request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)) -> Response:
    require(actor, Permission.ORG_MANAGE)
    values = {"start_date": clock.today().isoformat(), "roles": [], "credentials": []}
    return render(request, "org/staff_form.html", _form_context(session, values))


@router.post("/new")
def create_staff(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in STAFF_FIELDS}
    values["roles"] = [str(v) for v in form.getlist("roles")]
    values["credentials"] = [str(v) for v in form.getlist("credentials")]
    settings = request.app.state.settings
    staff, problem = attempt(session, lambda: staff_service.hire(session, actor, values, settings=settings))
    if staff is not None:
        return redirect(f"/org/staff/{staff.id}", flash=f"{values['display_name'].strip()} added to staff.")
    return render(request, "org/staff_form.html", _form_context(session, values, form_errors(problem)), status_code=422)


# ---------------------------------------------------------------- CSV upload


@router.get("/import")
def import_form(request: Request, actor: Actor = Depends(page_actor)) -> Response:
    require(actor, Permission.ORG_MANAGE)
    return render(request, "org/import.html", {"columns": csv_import.COLUMNS, "result": None, "problem": None})


@router.post("/import")
@accepts_upload
def import_upload(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    upload = form.get("file")
    dry_run = form.get("dry_run") == "1"
    context: dict[str, Any] = {"columns": csv_import.COLUMNS, "result": None, "problem": None, "dry_run": dry_run}
    raw = upload.file.read(csv_import.MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    if not raw:
        context["problem"] = "Choose a CSV file to upload."
    elif len(raw) > csv_import.MAX_BYTES:
        context["problem"] = "The file is larger than 20 MB: import it with 'careplane staff import'."
    else:
        try:
            text = csv_import.decode(raw)
        except ValueError as exc:
            context["problem"] = str(exc)
        else:
            result = csv_import.import_staff(session, actor, text, dry_run=dry_run, settings=request.app.state.settings)
            context["result"] = result
    failed = context["problem"] or (context["result"] and not context["result"].plan.ok)
    return render(
        request,
        "org/import_result.html" if context["result"] else "org/import.html",
        context,
        status_code=422 if failed else 200,
    )


# ---------------------------------------------------------------- a person


def _person_context(session: Session, actor: Actor, staff_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    staff = staff_service.get_staff(session, actor, staff_id)
    active = list(
        session.scalars(select(OrgUnit).where(OrgUnit.status == UnitStatus.ACTIVE.value).order_by(OrgUnit.name))
    )
    home = session.scalar(select(OrgUnit).where(OrgUnit.code == staff.user.unit)) if staff.user.unit else None
    return {
        "staff": staff,
        "person": staff.user,
        "open_work": staff_service.open_work(session, actor, staff_id),
        "home_unit": home,
        "home_work": structure.function_label(home.function) if home else None,
        "move_options": [
            ("", "Choose a unit…"),
            *(
                (u.code, f"{u.name} (kind of work: {structure.function_label(u.function)})")
                for u in active
                if u.code != staff.user.unit
            ),
        ],
        "move_values": {},
        "move_errors": {},
        "effective_hint": EFFECTIVE_HINT,
        "dea_check": dea.check_dea(staff.dea_number, dea.last_name_of(staff.user.display_name))
        if staff.dea_number
        else None,
        "can_manage": actor.can(Permission.ORG_MANAGE),
        "kind_options": [("", "Choose…"), *((k, k) for k in staff_service.LICENCE_KINDS)],
        "state_options": [("", "Choose…"), *staff_service.STATE_CHOICES],
        "licence_values": {},
        "licence_errors": {},
        "renew_errors": {},
        "renew_id": None,
        **_helpers(session),
        **extra,
    }


@router.get("/{staff_id}")
def person(
    request: Request, staff_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    return render(request, "org/person.html", _person_context(session, actor, staff_id))


@router.post("/{staff_id}/licences")
def add_licence(
    request: Request,
    staff_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    values = {name: str(form.get(name, "")) for name in LICENCE_FIELDS}
    licence, problem = attempt(session, lambda: staff_service.add_licence(session, actor, staff_id, values))
    if licence is not None:
        return redirect(
            f"/org/staff/{staff_id}#licences", flash=f"{licence.state} {licence.kind} licence {licence.number} added."
        )
    return render(
        request,
        "org/person.html",
        _person_context(session, actor, staff_id, licence_values=values, licence_errors=form_errors(problem)),
        status_code=422,
    )


@router.post("/{staff_id}/licences/{licence_id}/renew")
def renew_licence(
    request: Request,
    staff_id: uuid.UUID,
    licence_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    values = {name: str(form.get(name, "")) for name in ("expires_on", "issued_on")}
    licence, problem = attempt(
        session, lambda: staff_service.renew_licence(session, actor, staff_id, licence_id, values)
    )
    if licence is not None:
        return redirect(
            f"/org/staff/{staff_id}#licences",
            flash=f"{licence.state} {licence.kind} licence {licence.number} renewed to {licence.expires_on}.",
        )
    return render(
        request,
        "org/person.html",
        _person_context(session, actor, staff_id, renew_errors=form_errors(problem), renew_id=licence_id),
        status_code=422,
    )


@router.post("/{staff_id}/move")
def move(
    request: Request,
    staff_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    values = {name: str(form.get(name, "")).strip() for name in ("unit", "effective_on")}

    def act() -> Any:
        when, problem = staff_service.parse_date(values["effective_on"], required=False, label="effective date")
        if problem:
            raise ValidationFailed({"effective_on": problem})
        return staff_service.move_staff(session, actor, staff_id, values["unit"], effective_on=when)

    change, problem = attempt(session, act)
    if change is not None:
        return redirect(f"/org/staff/{staff_id}", flash=f"{change.summary}.")
    return render(
        request,
        "org/person.html",
        _person_context(session, actor, staff_id, move_values=values, move_errors=form_errors(problem)),
        status_code=422,
    )


# ---------------------------------------------------------------- editing a person


def _edit_context(
    session: Session,
    actor: Actor,
    staff_id: uuid.UUID,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    staff = staff_service.get_staff(session, actor, staff_id)
    if values is None:
        values = {
            "credentials": list(staff.credentials),
            "npi": staff.npi or "",
            "dea_number": staff.dea_number or "",
            "dea_expires_on": staff.dea_expires_on.isoformat() if staff.dea_expires_on else "",
            "end_date": staff.end_date.isoformat() if staff.end_date else "",
        }
    return {
        "staff": staff,
        "person": staff.user,
        "values": values,
        "errors": errors or {},
        "credential_options": CREDENTIAL_OPTIONS,
    }


@router.get("/{staff_id}/edit")
def edit_form(
    request: Request, staff_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    return render(request, "org/staff_edit.html", _edit_context(session, actor, staff_id))


@router.post("/{staff_id}/edit")
def edit(
    request: Request,
    staff_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in EDIT_FIELDS}
    values["credentials"] = [str(v) for v in form.getlist("credentials")]
    staff, problem = attempt(session, lambda: staff_service.update_staff(session, actor, staff_id, values))
    if staff is not None:
        return redirect(f"/org/staff/{staff_id}", flash=f"Changes to {staff.user.display_name} saved.")
    return render(
        request,
        "org/staff_edit.html",
        _edit_context(session, actor, staff_id, values, form_errors(problem)),
        status_code=422,
    )


# ---------------------------------------------------------------- a person's teams


def _teams_context(session: Session, actor: Actor, staff_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    staff = staff_service.get_staff(session, actor, staff_id)
    today = clock.today()
    memberships = sorted(
        staff.memberships,
        key=lambda ms: (ms.end_date is not None and ms.end_date <= today, ms.team.name, ms.start_date),
    )
    return {
        "staff": staff,
        "person": staff.user,
        "memberships": memberships,
        "today": today,
        "team_options": [("", "Choose a team…"), *staff_service.team_choices(session)],
        "join_values": {},
        "join_errors": {},
        "end_errors": {},
        **extra,
    }


@router.get("/{staff_id}/teams")
def teams(
    request: Request, staff_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    return render(request, "org/person_teams.html", _teams_context(session, actor, staff_id))


@router.post("/{staff_id}/teams")
def join_team(
    request: Request,
    staff_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    values = {name: str(form.get(name, "")).strip() for name in ("team_id", "start_date")}

    def act() -> Any:
        errors: dict[str, str] = {}
        team_id = _uuid(values["team_id"])
        if team_id is None:
            errors["team_id"] = "Choose a team."
        start, problem = staff_service.parse_date(values["start_date"], required=False, label="start date")
        if problem:
            errors["start_date"] = problem
        if errors:
            raise ValidationFailed(errors)
        assert team_id is not None
        return staff_service.join_team(session, actor, staff_id, team_id, start)

    membership, problem = attempt(session, act)
    if membership is not None:
        session.refresh(membership)
        return redirect(
            f"/org/staff/{staff_id}/teams",
            flash=f"{membership.staff.user.display_name} joined {membership.team.name} "
            f"from {membership.start_date.isoformat()}.",
        )
    return render(
        request,
        "org/person_teams.html",
        _teams_context(session, actor, staff_id, join_values=values, join_errors=form_errors(problem)),
        status_code=422,
    )


@router.post("/{staff_id}/teams/{membership_id}/end")
def end_membership(
    request: Request,
    staff_id: uuid.UUID,
    membership_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    text = str(form.get("end_date", "")).strip()

    def act() -> Any:
        end, problem = staff_service.parse_date(text, required=False, label="end date")
        if problem:
            raise ValidationFailed({"end_date": problem})
        return staff_service.leave_team(session, actor, staff_id, membership_id, end)

    membership, problem = attempt(session, act)
    if membership is not None:
        return redirect(
            f"/org/staff/{staff_id}/teams",
            flash=f"{membership.staff.user.display_name} left {membership.team.name} on {membership.end_date}.",
        )
    errors = {f"end-{membership_id}": message for message in form_errors(problem).values()}
    return render(
        request, "org/person_teams.html", _teams_context(session, actor, staff_id, end_errors=errors), status_code=422
    )


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
