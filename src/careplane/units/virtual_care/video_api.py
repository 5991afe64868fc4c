"""JSON API of video visits under /api/v1/virtual-care: a clinician's hours, the open slots, and a
video visit's booking, rescheduling, check-in, start and no-show (cancelling and completing are the
visits API's ``/cancel`` and ``/complete``, with ``level`` for a video visit).

Parse, call the service, serialise; errors are problem+json."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from careplane.kernel import idempotency, payments
from careplane.kernel.access import Actor
from careplane.kernel.errors import NotFound
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.state_zones import zone_of_state
from careplane.kernel.web import api_actor, db_session
from careplane.units.virtual_care.services import access, availability, booking, slots, video_call
from careplane.units.virtual_care.visits_api import _KEY_DOC, _WRITE, CardIn, VisitOut, _once, add_visit_action

router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1/virtual-care",
    tags=["virtual care"],
    responses=problem_responses(401, 403),
)
_HOURS = problem_responses(
    described={
        403: "Only clinicians keep hours",
        422: "Validation failed: `errors` names each field (`hours[n]` for a row of weekly hours)",
    }
)


class HoursIn(BaseModel):
    weekday: int = Field(description="0 Monday .. 6 Sunday", examples=[0])
    starts: time = Field(examples=["09:00"])
    ends: time = Field(examples=["17:00"])


class WeeklyHoursIn(BaseModel):
    zone: str = Field(description="Your IANA time zone", examples=["America/New_York"])
    hours: list[HoursIn] = Field(description="Every range of every weekday; a weekday left out is a day off")


class ChangeIn(BaseModel):
    zone: str = Field(examples=["America/New_York"])
    starts: time | None = Field(None, description="Both empty: off that day", examples=["09:00"])
    ends: time | None = Field(None, examples=["13:00"])


class HoursOut(BaseModel):
    weekday: int
    starts: time
    ends: time
    zone: str


class ChangeOut(BaseModel):
    on: date
    off: bool
    starts: time | None
    ends: time | None
    zone: str


class AvailabilityOut(BaseModel):
    zone: str
    weekly: list[HoursOut]
    changes: list[ChangeOut] = Field(description="Changes from today on")

    @classmethod
    def of(cls, found: availability.Availability) -> AvailabilityOut:
        return cls(
            zone=found.zone,
            weekly=[HoursOut(weekday=h.weekday, starts=h.starts, ends=h.ends, zone=h.zone) for h in found.weekly],
            changes=[
                ChangeOut(on=c.on, off=c.starts is None, starts=c.starts, ends=c.ends, zone=c.zone)
                for c in found.changes
            ],
        )


class SlotOut(BaseModel):
    slot: str = Field(description="The slot's key, to book it: `<clinician staff id>@<start>`")
    clinician_staff_id: uuid.UUID
    clinician: str
    starts_at: datetime = Field(description="UTC")
    ends_at: datetime
    local_start: datetime = Field(description="The start in the zone of the state (the patient's zone)")
    zone: str


class BookIn(CardIn):
    slot: str = Field(description="A slot key of GET /slots")


class RescheduleIn(BaseModel):
    slot: str = Field(description="A slot key of GET /slots")


class BookingOut(BaseModel):
    visit_id: uuid.UUID
    clinician_staff_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    local_start: datetime = Field(description="The start in the patient's zone")
    cancelled_at: datetime | None
    checked_in_at: datetime | None
    patient_joined_at: datetime | None
    no_show_at: datetime | None
    room: str = Field(description="The call's page, for the patient and the booked clinician")


@router.get("/availability", response_model=AvailabilityOut, responses=_HOURS, summary="Your hours (clinicians)")
def my_hours(actor: Actor = Depends(api_actor), session: Session = Depends(db_session)) -> AvailabilityOut:
    return AvailabilityOut.of(availability.mine(session, actor))


@router.put("/availability", response_model=AvailabilityOut, responses=_HOURS, summary="Set your weekly hours")
def set_hours(
    body: WeeklyHoursIn, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> AvailabilityOut:
    """Replaces every weekly range at once (all or nothing). Booked visits are never moved."""
    rows = [availability.Hours(h.weekday, h.starts, h.ends) for h in body.hours]
    return AvailabilityOut.of(availability.set_weekly_hours(session, actor, body.zone, rows))


@router.put(
    "/availability/changes/{on}", response_model=AvailabilityOut, responses=_HOURS, summary="Change one date's hours"
)
def set_change(
    on: date, body: ChangeIn, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> AvailabilityOut:
    availability.set_change(session, actor, on, body.zone, body.starts, body.ends)
    return AvailabilityOut.of(availability.mine(session, actor))


@router.delete(
    "/availability/changes/{on}", status_code=204, responses=_HOURS, summary="The date follows the weekly hours"
)
def remove_change(on: date, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)) -> Response:
    availability.remove_change(session, actor, on)
    return Response(status_code=204)


@router.get(
    "/slots",
    response_model=list[SlotOut],
    responses=problem_responses(
        described={
            422: "An unknown condition or state, the patient's eligibility, "
            "or nobody licensed in the state: `errors` says which"
        }
    ),
    summary="Open video visit slots",
)
def open_slots(
    state: str = Query(..., max_length=2, description="The state the patient is in", examples=["NY"]),
    condition: str = Query(..., max_length=60, description="A condition code", examples=["uti"]),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> list[SlotOut]:
    """20-minute slots from 2 hours to 14 days ahead with clinicians licensed in the state today,
    soonest first. A patient asking is checked for the condition's eligibility too."""
    found = booking.offered_slots(session, actor, state, condition)
    zone = zone_of_state(state.strip().upper())
    return [
        SlotOut(
            slot=s.key,
            clinician_staff_id=s.clinician_staff_id,
            clinician=s.clinician_name,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            local_start=s.starts_at.astimezone(zone),
            zone=str(zone),
        )
        for s in found
    ]


@router.post("/visits/{visit_id}/book", response_model=VisitOut, responses=_WRITE, summary="Book a video visit")
def book(
    visit_id: uuid.UUID,
    body: BookIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """After the intake: the slot is booked and the price authorised. 409 when someone else booked the
    slot a moment ago; 422 for a slot not open or a declined card (`errors.card_number`)."""
    card = payments.Card(
        number=body.number, expiry=body.expiry, cvc=body.cvc, name=body.name, postal_code=body.postal_code
    )
    payload = {"slot": body.slot, "number": body.number[-4:], "expiry": body.expiry}
    return _once(
        request,
        session,
        actor,
        idempotency_key,
        payload,
        lambda: booking.book(session, actor, visit_id, body.slot, card),
    )


@router.post(
    "/visits/{visit_id}/reschedule", response_model=VisitOut, responses=_WRITE, summary="Move a booked video visit"
)
def reschedule(
    visit_id: uuid.UUID,
    body: RescheduleIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> JSONResponse:
    """To another open slot, until 2 hours before the start (409 after)."""
    return _once(
        request,
        session,
        actor,
        idempotency_key,
        body.model_dump(mode="json"),
        lambda: booking.reschedule(session, actor, visit_id, body.slot),
    )


def _action(path: str, summary: str, doc: str, call: Any) -> None:
    add_visit_action(router, path, summary, doc, call, name=f"video_{path.replace('-', '_')}")


_action("check-in", "Check in to a video visit", "The patient, from 15 minutes before the start.", video_call.check_in)
_action(
    "start",
    "Start a video visit (clinicians)",
    "The booked clinician, from 15 minutes before the start; the visit is then theirs to complete.",
    video_call.start,
)
_action(
    "no-show",
    "Mark a no-show (clinicians)",
    "From 10 minutes after the start, when the patient never joined the call: no charge.",
    video_call.no_show,
)


@router.get(
    "/visits/{visit_id}/booking", response_model=BookingOut, responses=_WRITE, summary="A video visit's booking"
)
def get_booking(
    visit_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> BookingOut:
    """For the patient and staff who may open the visit (audited); 404 for a visit with no booking."""
    visit = access.open_for_either(session, actor, visit_id).visit
    found = slots.booking_of(session, visit.id)
    if found is None:
        raise NotFound("This visit has no booking: it is not a booked video visit.")
    return BookingOut(
        visit_id=visit.id,
        clinician_staff_id=found.clinician_staff_id,
        starts_at=found.starts_at,
        ends_at=found.ends_at,
        local_start=found.starts_at.astimezone(slots.zone_of_visit(visit)),
        cancelled_at=found.cancelled_at,
        checked_in_at=found.checked_in_at,
        patient_joined_at=found.patient_joined_at,
        no_show_at=found.no_show_at,
        room=f"/virtual-care/visits/{visit.id}/room",
    )
