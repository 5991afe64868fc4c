"""Offboarding pages: preview and form, the hand-over report per unit (polled while incomplete),
and the list of departures. No rules here."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from careplane.kernel.access import Actor, Permission
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.form_dates import parse_form_date
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.org.offboarding import departures
from careplane.kernel.org.structure import service as structure
from careplane.kernel.web import csrf_protect, db_session, nav_item, page_actor, redirect, render

router = APIRouter(
    route_class=GuardedRoute, prefix="/org", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)
nav_item("Departures", "/org/departures", permission=Permission.ORG_MANAGE, order=61, area="Organisation")

#: How often the report page asks for news while a hand-over is incomplete.
POLL_SECONDS = 3


def _form(
    request: Request,
    session: Session,
    actor: Actor,
    staff_id: uuid.UUID,
    values: dict,
    errors: dict | None = None,
    status_code: int = 422,
) -> Response:
    seen = departures.preview(session, actor, staff_id)
    return render(
        request,
        "org/offboard.html",
        {
            "preview": seen,
            "people": [("", "No person (hand to a queue)")]
            + [(str(i), n) for i, n in departures.successor_people(session, staff_id)],
            "queues": [("", "No queue (hand to a person)")]
            + [(str(i), n) for i, n in departures.successor_queues(session)],
            "values": values,
            "errors": errors or {},
        },
        status_code=status_code if errors else 200,
    )


@router.get("/staff/{staff_id}/offboard")
def offboard_form(
    request: Request, staff_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    departed = departures.departure_of(session, actor, staff_id)
    if departed is not None:
        return redirect(f"/org/departures/{departed.id}", flash="This person has already been offboarded.")
    return _form(
        request,
        session,
        actor,
        staff_id,
        {
            "successor_staff_id": "",
            "successor_queue_id": "",
            "effective_on": "",
            "reason": "",
            "confirm_uncovered": False,
        },
    )


def _uuid(value: str, field: str, errors: dict[str, str]) -> uuid.UUID | None:
    if not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        errors[field] = "Choose from the list."
        return None


@router.post("/staff/{staff_id}/offboard")
def offboard(
    request: Request,
    staff_id: uuid.UUID,
    successor_staff_id: str = Form(""),
    successor_queue_id: str = Form(""),
    effective_on: str = Form(""),
    reason: str = Form(""),
    confirm_uncovered: str = Form(""),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    confirmed = confirm_uncovered.strip().lower() in ("1", "on", "true", "yes")
    values = {
        "successor_staff_id": successor_staff_id,
        "successor_queue_id": successor_queue_id,
        "effective_on": effective_on,
        "reason": reason,
        "confirm_uncovered": confirmed,
    }
    errors: dict[str, str] = {}
    person = _uuid(successor_staff_id, "successor_staff_id", errors)
    queue = _uuid(successor_queue_id, "successor_queue_id", errors)
    last_day = None
    if effective_on.strip():
        try:
            last_day = parse_form_date(effective_on)
        except ValueError as exc:
            errors["effective_on"] = str(exc)
    try:
        if errors:
            raise ValidationFailed(errors)
        departure = departures.offboard(
            session, actor, staff_id, person, queue, last_day, reason, confirm_uncovered=confirmed
        )
    except ValidationFailed as exc:
        return _form(request, session, actor, staff_id, values, exc.errors)
    except departures.UncoveredWork as exc:
        items = f"{exc.count} open work item{'' if exc.count == 1 else 's'}"
        message = (
            f"{items} in {', '.join(u.name for u in exc.units)} will not be handed over: nothing covers "
            f"{'it' if exc.count == 1 else 'them'}. Reassign that work first, or tick the box to offboard anyway."
        )
        return _form(request, session, actor, staff_id, values, {"confirm_uncovered": message}, status_code=409)
    name = structure.staff_names(session, [staff_id]).get(staff_id, "The staff member")
    return redirect(
        f"/org/departures/{departure.id}", flash=f"{name} is offboarded: their sessions and API tokens no longer work."
    )


@router.get("/departures")
def departure_list(
    request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    return render(request, "org/departures.html", {"views": departures.list_departures(session, actor)})


@router.get("/departures/{departure_id}")
def departure(
    request: Request,
    departure_id: uuid.UUID,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    view = departures.get_departure(session, actor, departure_id)
    return render(request, "org/departure.html", {"view": view, "poll_seconds": POLL_SECONDS})


@router.get("/departures/{departure_id}/report")
def departure_report(
    request: Request,
    departure_id: uuid.UUID,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    """The report alone, for htmx polling."""
    view = departures.get_departure(session, actor, departure_id)
    return render(request, "org/departure_report.html", {"view": view, "poll_seconds": POLL_SECONDS})
