"""Video visits' pages: a clinician's hours (``/virtual-care/availability``), booking, rescheduling
and checking in from the patient's visit page, starting a visit and marking a no-show from the
clinician's, and the call's room (``/virtual-care/visits/{id}/room``) for the visit's two people.

The visit pages of :mod:`.portal_pages` and :mod:`.workspace_pages` show a video visit's part with
the context made here (:func:`patient_context`, :func:`staff_context`). Rules live in the services.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, time
from itertools import groupby
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.errors import AccessDenied, Conflict, ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
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
from careplane.kernel.work import policy
from careplane.settings import Settings
from careplane.units.virtual_care.catalog import shipped
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services import availability, booking, slots, video_call
from careplane.units.virtual_care.services.availability import WEEKDAYS, Hours
from careplane.units.virtual_care.video_models import Booking
from careplane.units.virtual_care.visit_states import VisitStatus

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])
PROBLEMS = (ValidationFailed, Conflict)
#: Ranges of hours per weekday on the page (the API takes any number).
RANGES_PER_DAY = 2
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "UTC",
)


# ---------------------------------------------------------------- availability


def _time(text: str) -> time | None:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        return None


def _zone_choices(current: str) -> list[tuple[str, str]]:
    zones = list(ZONES) if not current or current in ZONES else [current, *ZONES]
    return [("", "Choose your time zone…")] + [(z, z.replace("_", " ")) for z in zones]


def _availability_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    mine = availability.mine(session, actor)
    shown: dict[str, str] = {"zone": mine.zone}
    counts: dict[int, int] = {}
    for row in mine.weekly:
        counts[row.weekday] = counts.get(row.weekday, 0) + 1
        if counts[row.weekday] <= RANGES_PER_DAY:
            shown[f"from-{row.weekday}-{counts[row.weekday]}"] = f"{row.starts:%H:%M}"
            shown[f"to-{row.weekday}-{counts[row.weekday]}"] = f"{row.ends:%H:%M}"
    shown.update(values or {})
    return render(
        request,
        "virtual_care/availability.html",
        {
            "values": shown,
            "errors": errors or {},
            "weekdays": list(enumerate(WEEKDAYS)),
            "ranges": range(1, RANGES_PER_DAY + 1),
            "changes": mine.changes,
            "zone_choices": _zone_choices(shown.get("zone", "")),
        },
        status_code=status_code,
    )


@router.get("/virtual-care/availability")
def availability_page(
    request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    return _availability_page(request, session, actor)


@router.post("/virtual-care/availability")
def save_weekly_hours(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    errors: dict[str, str] = {}
    hours: list[Hours] = []
    fields: list[str] = []  # the form field of each row of ``hours``, for its error
    for weekday, name in enumerate(WEEKDAYS):
        for n in range(1, RANGES_PER_DAY + 1):
            frm, to = values.get(f"from-{weekday}-{n}", "").strip(), values.get(f"to-{weekday}-{n}", "").strip()
            if not frm and not to:
                continue
            starts, ends = _time(frm), _time(to)
            if starts is None or ends is None:
                errors[f"from-{weekday}-{n}"] = f"{name}: give both times, like 09:00 and 17:00."
                continue
            hours.append(Hours(weekday, starts, ends))
            fields.append(f"from-{weekday}-{n}")
    if not errors:
        _, problem = attempt(
            session, lambda: availability.set_weekly_hours(session, actor, values.get("zone", ""), hours), PROBLEMS
        )
        for key, message in form_errors(problem).items():
            row = key.removeprefix("hours[").split("]")[0]
            errors[fields[int(row)] if key.startswith("hours[") and row.isdigit() else key] = message
    if errors:
        return _availability_page(request, session, actor, errors=errors, values=values, status_code=422)
    return redirect("/virtual-care/availability", flash="Your weekly hours are saved.")


@router.post("/virtual-care/availability/changes")
def save_change(
    request: Request,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    values = {k: str(form.get(k, "")) for k in ("on", "change_zone", "kind", "starts", "ends")}
    errors: dict[str, str] = {}
    try:
        on: date | None = date.fromisoformat(values["on"].strip())
    except ValueError:
        on = None
    starts = ends = None
    if values["kind"] != "off":
        starts, ends = _time(values["starts"]), _time(values["ends"])
        if starts is None:
            errors["starts"] = "Give the time the hours start, like 09:00 (or choose a day off)."
        if ends is None:
            errors["ends"] = "Give the time the hours end, like 13:00."
    if not errors:
        _, problem = attempt(
            session,
            lambda: availability.set_change(session, actor, on, values["change_zone"], starts, ends),
            PROBLEMS,
        )
        errors = {("change_zone" if k == "zone" else k): v for k, v in form_errors(problem).items()}
    if errors:
        return _availability_page(request, session, actor, errors=errors, values=values, status_code=422)
    return redirect("/virtual-care/availability", flash="The change of your hours is saved.")


@router.post("/virtual-care/availability/changes/remove")
def remove_change(
    form: FormData = Depends(posted_form), actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    try:
        on = date.fromisoformat(str(form.get("on", "")))
    except ValueError:
        return redirect("/virtual-care/availability", flash="There is no such change.")
    availability.remove_change(session, actor, on)
    return redirect("/virtual-care/availability", flash="That date follows your weekly hours again.")


# ---------------------------------------------------------------- the patient's visit page


def slot_days(visit: Visit, found: list[slots.Slot]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Open slots grouped by day in the patient's zone: (day, [(slot key, "09:20 AM EST with Dr A")])."""
    zone = slots.zone_of_visit(visit)

    def day(slot: slots.Slot) -> str:
        return f"{slot.starts_at.astimezone(zone):%A %B %d}"

    return [
        (name, [(s.key, f"{s.starts_at.astimezone(zone):%I:%M %p %Z} with {s.clinician_name}") for s in group])
        for name, group in groupby(found, key=day)
    ]


def patient_context(session: Session, visit: Visit) -> dict[str, Any]:
    """What the patient's visit page needs of a video visit (merged into its context)."""
    if visit.visit_type != "video":
        return {}
    found = slots.booking_of(session, visit.id)
    booked = found if found is not None and found.cancelled_at is None else None
    choosing = visit.status == VisitStatus.AWAITING_PAYMENT.value or (
        booked is not None and visit.status == VisitStatus.BOOKED.value and slots.change_refusal(booked, "") is None
    )
    context: dict[str, Any] = {
        "booking": booked,
        "slot_days": slot_days(visit, slots.open_slots(session, visit.state)) if choosing else [],
        "starts_local": booking.when_local(visit, booked.starts_at) if booked else "",
        "video_zone": slots.zone_of_visit(visit),
    }
    if booked is not None:
        now = clock.now()
        context["may_change"] = slots.change_refusal(booked, "changed") is None
        context["may_cancel"] = visit.status == VisitStatus.BOOKED.value and context["may_change"]
        context["check_in_open"] = now >= booked.starts_at - slots.CHECK_IN_OPENS and (
            visit.status == VisitStatus.IN_PROGRESS.value or now < booked.ends_at
        )
    return context


@router.post("/virtual-care/visits/{visit_id}/book")
def book(
    request: Request,
    visit_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    from careplane.units.virtual_care.portal_pages import card_of, patient_action  # it imports this module

    card = card_of(form)
    key = str(form.get("slot", ""))
    return patient_action(
        request,
        session,
        actor,
        visit_id,
        lambda: booking.book(session, actor, visit_id, key, card),
        "Booked. We will e-mail you a reminder a day and an hour before.",
    )


@router.post("/virtual-care/visits/{visit_id}/reschedule")
def reschedule(
    request: Request,
    visit_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    from careplane.units.virtual_care.portal_pages import patient_action  # it imports this module

    key = str(form.get("slot", ""))
    return patient_action(
        request,
        session,
        actor,
        visit_id,
        lambda: booking.reschedule(session, actor, visit_id, key),
        "Your video visit has its new time.",
    )


@router.post("/virtual-care/visits/{visit_id}/check-in")
def check_in(
    request: Request, visit_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    _, problem = attempt(session, lambda: video_call.check_in(session, actor, visit_id), PROBLEMS)
    if problem is None:
        return redirect(f"/virtual-care/visits/{visit_id}/room", flash="You are checked in.")
    from careplane.units.virtual_care.portal_pages import visit_page

    return visit_page(request, session, actor, visit_id, errors={"visit": problem.detail}, status_code=409)


# ---------------------------------------------------------------- the clinician's visit page


def staff_context(session: Session, visit: Visit) -> dict[str, Any]:
    """What the clinician's visit page needs of a video visit (merged into its context)."""
    if visit.visit_type != "video":
        return {}
    found = slots.booking_of(session, visit.id)
    if found is None:
        return {"booking": None}
    now = clock.now()
    return {
        "booking": found,
        "may_start": visit.status == VisitStatus.BOOKED.value and now >= found.starts_at - slots.CHECK_IN_OPENS,
        "no_show_refusal": video_call.no_show_refusal(found, now),
    }


def _staff_action(
    session: Session, visit_id: uuid.UUID, call: Callable[[], Any], flash: str, back: str | None = None
) -> Response:
    _, problem = attempt(session, call, PROBLEMS + (AccessDenied,))
    if isinstance(problem, AccessDenied):
        raise problem
    if problem is not None:
        return redirect(f"/virtual-care/visits/{visit_id}", flash=problem.detail)
    return redirect(back or f"/virtual-care/visits/{visit_id}", flash=flash)


@router.post("/virtual-care/visits/{visit_id}/start")
def start(visit_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)) -> Response:
    return _staff_action(
        session,
        visit_id,
        lambda: video_call.start(session, actor, visit_id),
        "The visit is started; complete it here after the call.",
        f"/virtual-care/visits/{visit_id}/room",
    )


@router.post("/virtual-care/visits/{visit_id}/no-show")
def no_show(
    visit_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    return _staff_action(
        session,
        visit_id,
        lambda: video_call.no_show(session, actor, visit_id),
        "Recorded as a no-show; the patient is not charged.",
        "/virtual-care/queue",
    )


# ---------------------------------------------------------------- the call


@router.get("/virtual-care/visits/{visit_id}/room")
def room(
    request: Request, visit_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    """The call's page: the two videos and the call's status, for the visit's two people only."""
    found = video_call.room(session, actor, visit_id)
    settings: Settings = request.app.state.settings
    condition = shipped().get(found.visit.condition_code)
    return render(
        request,
        "virtual_care/room.html",
        {
            "visit": found.visit,
            "booking": found.booking,
            "side": found.side,
            "refusal": found.refusal,
            "condition": condition.name if condition else found.visit.condition_code,
            "ice_servers": settings.vc_ice_servers,
            "check_in_first": found.side == "patient" and found.booking.checked_in_at is None,
        },
    )


# ---------------------------------------------------------------- portal and home panels


def portal_section(request: Request, session: Session, actor: Actor, patient: Any) -> str:
    """The portal home's 'My video visits': upcoming ones with their time in the patient's zone."""
    upcoming = booking.upcoming_of_patient(session, actor, patient.id)
    rows = [(v, b, booking.when_local(v, b.starts_at)) for v, b in upcoming]
    return templates.get_template("virtual_care/_video_portal_section.html").render(rows=rows, catalog=shipped())


def agenda_panel(request: Request, session: Session, actor: Actor) -> str:
    """A clinician's home: their video visits today (in their browser's zone) and the next ones."""
    who = policy.acting_worker(session, actor)
    if who is None:
        return ""
    zone = viewer_zone(request)
    now = clock.now()
    rows = session.execute(
        select(Visit, Booking)
        .join(Booking, Booking.visit_id == Visit.id)
        .where(
            Booking.clinician_staff_id == who.staff_id,
            Booking.cancelled_at.is_(None),
            Visit.status.in_([VisitStatus.BOOKED.value, VisitStatus.IN_PROGRESS.value]),
            Booking.ends_at >= now - slots.SLOT,
        )
        .order_by(Booking.starts_at)
        .limit(8)
    ).all()
    today = now.astimezone(zone).date()
    return templates.get_template("virtual_care/_video_agenda.html").render(
        rows=[(v, b, b.starts_at.astimezone(zone).date() == today) for v, b in rows],
        catalog=shipped(),
        zone=zone,
    )
