"""Organisation pages: the chart, a unit, the restructuring history, and the restructuring forms."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.errors import NotFound, ValidationFailed
from careplane.kernel.form_dates import parse_form_date
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.org.staff import service as staff_service
from careplane.kernel.org.structure import chart
from careplane.kernel.org.structure import service as structure
from careplane.kernel.units import BUSINESS_FUNCTIONS
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

router = APIRouter(
    route_class=GuardedRoute, prefix="/org", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)
nav_item("Organisation", "/org", permission=Permission.ORG_READ, order=60, area="Organisation")

HISTORY_LIMIT = 200

EFFECTIVE_HINT = (
    "mm/dd/yyyy; today if left empty. A future date is recorded and shown with the change, which applies at once."
)
FUNCTION_HINT = (
    "Decides which patient records the unit's staff may open. It stays with the unit: "
    "a unit split off from it later does the same kind of work."
)


def function_options() -> list[tuple[str, str]]:
    return [("", "Choose the kind of work…"), *BUSINESS_FUNCTIONS.items()]


# ---------------------------------------------------------------- reading


@router.get("")
def org_chart(request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)) -> Response:
    units = chart.org_chart(session, actor)
    return render(request, "org/chart.html", {"units": units, "can_manage": actor.can(Permission.ORG_MANAGE)})


# the new-unit form comes before /units/{unit_id}, which would otherwise take "new" as an id
@router.get("/units/new")
def new_unit_form(
    request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    return _form(request, session, "org/restructure_unit_new.html", {})


@router.post("/units/new")
def create_unit(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    values = _values(form)
    unit, problem = attempt(
        session,
        lambda: structure.create_unit(
            session,
            actor,
            code=values["code"],
            name=values["name"],
            function=values["function"],
            lead_staff_id=_uuid(values["lead_staff_id"]),
            effective_on=_date(values["effective_on"]),
        ),
    )
    if unit is None:
        return _form(request, session, "org/restructure_unit_new.html", {}, values, form_errors(problem))
    return redirect(f"/org/units/{unit.id}", flash=f"Unit {unit.name} created.")


@router.get("/units/{unit_id}")
def unit_page(
    request: Request, unit_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    unit = chart.unit_chart(session, actor, unit_id)
    changes = structure.history(session, actor, unit_id=unit_id, limit=20)
    return render(
        request,
        "org/unit.html",
        {"unit": unit, "changes": changes, "today": clock.today(), "can_manage": actor.can(Permission.ORG_MANAGE)},
    )


@router.get("/history")
def history_page(
    request: Request, unit: str = "", actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    unit_id = _uuid(unit)
    changes = structure.history(session, actor, unit_id=unit_id, limit=HISTORY_LIMIT)
    units = structure.list_units(session, actor)
    options = [("", "All units")] + [
        (str(u.id), u.name if u.status == "active" else f"{u.name} ({u.status})") for u in units
    ]
    return render(
        request,
        "org/history.html",
        {
            "changes": changes,
            "unit": str(unit_id) if unit_id else "",
            "unit_options": options,
            "limit": HISTORY_LIMIT,
            "today": clock.today(),
        },
    )


# ---------------------------------------------------------------- restructuring forms


@router.get("/units/{unit_id}/{action}")
def unit_action_form(
    request: Request,
    unit_id: uuid.UUID,
    action: str,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    template = _UNIT_FORMS.get(action)
    unit = chart.unit_chart(session, actor, unit_id)
    if template is None or not unit.active:
        return render(
            request, "error.html", {"title": "Not found", "detail": "No such form for this unit."}, status_code=404
        )
    values = (
        {"name": unit.name}
        if action == "rename"
        else {"lead_staff_id": str(unit.lead_staff_id or "")}
        if action == "lead"
        else {}
    )
    return _form(request, session, template, _unit_context(session, unit, action), values)


@router.post("/units/{unit_id}/{action}")
def unit_action(
    request: Request,
    unit_id: uuid.UUID,
    action: str,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    template = _UNIT_FORMS.get(action)
    if template is None:
        return render(request, "error.html", {"title": "Not found", "detail": "No such form."}, status_code=404)
    values = _values(form)

    def act() -> tuple[str, str]:
        when = _date(values["effective_on"])
        if action == "rename":
            unit = structure.rename_unit(session, actor, unit_id, values["name"], effective_on=when)
            return f"/org/units/{unit.id}", f"Unit renamed to {unit.name}."
        if action == "lead":
            unit = structure.set_unit_lead(session, actor, unit_id, _uuid(values["lead_staff_id"]), effective_on=when)
            return f"/org/units/{unit.id}", f"Lead of {unit.name} changed."
        if action == "teams":
            team = structure.create_team(session, actor, unit_id, values["name"], effective_on=when)
            return f"/org/units/{unit_id}", f"Team {team.name} created."
        if action == "merge":
            into = structure.merge_units(session, actor, unit_id, _uuid(values["into_unit_id"]), effective_on=when)
            return f"/org/units/{into.id}", f"Merged into {into.name}; its teams and people now belong to {into.name}."
        team_ids = [i for i in (_uuid(str(v)) for v in form.getlist("team_ids")) if i]
        new = structure.split_unit(
            session,
            actor,
            unit_id,
            new_code=values["new_code"],
            new_name=values["new_name"],
            team_ids=team_ids,
            effective_on=when,
        )
        return f"/org/units/{new.id}", f"Unit {new.name} split off with {len(team_ids)} team(s)."

    done, problem = attempt(session, act)
    if done is None:
        values["team_ids"] = [str(v) for v in form.getlist("team_ids")]
        unit = chart.unit_chart(session, actor, unit_id)
        return _form(request, session, template, _unit_context(session, unit, action), values, form_errors(problem))
    return redirect(done[0], flash=done[1])


@router.get("/teams/{team_id}/{action}")
def team_action_form(
    request: Request,
    team_id: uuid.UUID,
    action: str,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    template = _TEAM_FORMS.get(action)
    if template is None:
        return render(request, "error.html", {"title": "Not found", "detail": "No such form."}, status_code=404)
    return _form(request, session, template, _team_context(session, actor, team_id, action))


@router.post("/teams/{team_id}/{action}")
def team_action(
    request: Request,
    team_id: uuid.UUID,
    action: str,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    require(actor, Permission.ORG_MANAGE)
    template = _TEAM_FORMS.get(action)
    if template is None:
        return render(request, "error.html", {"title": "Not found", "detail": "No such form."}, status_code=404)
    values = _values(form)

    def act() -> tuple[str, str]:
        if action == "queues":
            queue = structure.create_queue(session, actor, team_id, values["name"])
            return f"/org/units/{queue.team.unit_id}", f"Queue {queue.name} created."
        if action == "people":
            return _add_to_team(session, actor, team_id, values)
        team = structure.move_team(
            session, actor, team_id, _uuid(values["unit_id"]), effective_on=_date(values["effective_on"])
        )
        return f"/org/units/{team.unit_id}", f"Team {team.name} moved to {team.unit.name} with its queues."

    done, problem = attempt(session, act)
    if done is None:
        return _form(
            request, session, template, _team_context(session, actor, team_id, action), values, form_errors(problem)
        )
    return redirect(done[0], flash=done[1])


@router.post("/teams/{team_id}/people/{membership_id}/end")
def remove_from_team(
    request: Request,
    team_id: uuid.UUID,
    membership_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    """End a current membership of the team today (the person's team changes page takes another date)."""
    require(actor, Permission.ORG_MANAGE)
    members = staff_service.team_members(session, actor, team_id)
    membership = next((ms for ms in members if ms.id == membership_id), None)
    if membership is None:
        return render(
            request, "error.html", {"title": "Not found", "detail": "No such member of this team."}, status_code=404
        )
    name, staff_id = membership.staff.user.display_name, membership.staff_id
    done, problem = attempt(session, lambda: staff_service.leave_team(session, actor, staff_id, membership_id))
    if done is None:
        errors = {f"end-{membership_id}": message for message in form_errors(problem).values()}
        return _form(
            request, session, _TEAM_FORMS["people"], _team_context(session, actor, team_id, "people"), {}, errors
        )
    return redirect(f"/org/teams/{team_id}/people", flash=f"{name} removed from {done.team.name}.")


_UNIT_FORMS = {
    "rename": "org/restructure_rename.html",
    "lead": "org/restructure_lead.html",
    "teams": "org/restructure_team_new.html",
    "merge": "org/restructure_merge.html",
    "split": "org/restructure_split.html",
}
_TEAM_FORMS = {
    "queues": "org/restructure_queue_new.html",
    "move": "org/restructure_move.html",
    "people": "org/team_people.html",
}
_FIELDS = (
    "code",
    "name",
    "function",
    "lead_staff_id",
    "effective_on",
    "into_unit_id",
    "unit_id",
    "new_code",
    "new_name",
    "staff_id",
    "start_date",
)


# ---------------------------------------------------------------- helpers


def _values(form: FormData) -> dict[str, Any]:
    return {name: str(form.get(name, "")) for name in _FIELDS}


def _team_context(session: Session, actor: Actor, team_id: uuid.UUID, action: str) -> dict[str, Any]:
    """What a team's form shows; the people form also lists who is in the team now, and who may join."""
    team = structure.get_team(session, team_id)
    if action != "people":
        return {"team": team}
    members = staff_service.team_members(session, actor, team_id)
    inside = {ms.staff_id for ms in members}
    return {
        "team": team,
        "members": members,
        "today": clock.today(),
        "person_options": [("", "Choose a person…")]
        + [(str(s.id), name) for s, name in structure.active_staff(session) if s.id not in inside],
    }


def _add_to_team(session: Session, actor: Actor, team_id: uuid.UUID, values: dict[str, Any]) -> tuple[str, str]:
    """Someone joins the team (``staff_service.join_team``); its problems are shown at this form's fields."""
    staff_id = _uuid(values["staff_id"])
    start, problem = staff_service.parse_date(values["start_date"], required=False, label="start date")
    errors = {"staff_id": "Choose a person."} if staff_id is None else {}
    if problem:
        errors["start_date"] = problem
    if errors:
        raise ValidationFailed(errors)
    assert staff_id is not None
    try:
        membership = staff_service.join_team(session, actor, staff_id, team_id, start)
    except ValidationFailed as exc:  # "already in the team" is about the person chosen here
        raise ValidationFailed({("staff_id" if k == "team_id" else k): v for k, v in exc.errors.items()}) from None
    except NotFound:
        raise ValidationFailed({"staff_id": "Choose a current staff member."}) from None
    session.refresh(membership)
    return (f"/org/teams/{team_id}/people", f"{membership.staff.user.display_name} joined {membership.team.name}.")


def _unit_context(session: Session, unit: chart.UnitNode, action: str) -> dict[str, Any]:
    """What a unit's restructuring form shows; a merge also says how many people move with it."""
    if action == "merge":
        return {"unit": unit, "people": structure.people_in_unit(session, unit.code)}
    return {"unit": unit}


def _form(
    request: Request,
    session: Session,
    template: str,
    context: dict[str, Any],
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    units = structure.active_units(session)
    staff = structure.active_staff(session)
    return render(
        request,
        template,
        {
            **context,
            "values": {"team_ids": [], **(values or {})},
            "errors": errors or {},
            "effective_hint": EFFECTIVE_HINT,
            "function_hint": FUNCTION_HINT,
            "function_options": function_options(),
            "unit_options": [("", "Choose a unit…")] + [(str(u.id), u.name) for u in units],
            "unit_work_options": [("", "Choose a unit…")]
            + [(str(u.id), f"{u.name} ({structure.function_label(u.function)})") for u in units],
            "staff_options": [("", "No lead")] + [(str(s.id), name) for s, name in staff],
        },
        status_code=422 if errors else 200,
    )


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except (AttributeError, ValueError):
        return None


def _date(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return parse_form_date(text)
    except ValueError as exc:
        raise ValidationFailed({"effective_on": str(exc)}) from None
