"""JSON API for offboarding and hand-over: /api/v1/org. Parse, call the service, serialise."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from careplane.kernel import idempotency
from careplane.kernel.access import Actor
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.org.offboarding import departures
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.web import api_actor, csrf_protect, db_session, respond_once

router = APIRouter(
    route_class=GuardedRoute, prefix="/api/v1/org", tags=["organisation"], dependencies=[Depends(csrf_protect)]
)

_ERRORS = problem_responses(
    401,
    422,
    described={
        403: "Access denied (offboarding needs org.manage)",
        404: "No such staff member or departure",
        409: "Already offboarded, or offboarding yourself; or (`uncovered-work`) the person holds open work that no "
        "hand-over covers: `uncovered_items` counts it, `uncovered_units` says where; resend with "
        '`"confirm_uncovered": true` to offboard anyway',
    },
)


class OffboardIn(BaseModel):
    successor_staff_id: uuid.UUID | None = Field(None, description="The person who takes the open work on.")
    successor_queue_id: uuid.UUID | None = Field(
        None, description="Or a team queue the work goes back into, unassigned."
    )
    effective_on: date | None = Field(None, description="Last day; defaults to today and cannot be in the future.")
    reason: str | None = Field(None, max_length=2000)
    confirm_uncovered: bool = Field(
        False,
        description="Offboard even though open work of theirs that no hand-over "
        "covers (see the preview's `handed_over: false`) would stay with them; "
        "without it that is refused with 409.",
    )


class UnitReportOut(BaseModel):
    unit_code: str
    unit: str
    reported: bool
    moved: dict[str, int] = Field(description='Items moved by kind, e.g. {"visit": 12}.')
    reported_at: datetime | None
    notes: str | None


class DepartureOut(BaseModel):
    id: uuid.UUID
    staff_id: uuid.UUID
    name: str
    successor_staff_id: uuid.UUID | None
    successor_queue_id: uuid.UUID | None
    successor: str
    at: datetime = Field(description="When access ended.")
    effective_on: date
    initiated_by: str
    reason: str | None
    complete: bool = Field(description="True once every registered unit has reported.")
    waiting_for: list[str] = Field(description="Codes of the units that have not reported yet.")
    units_without_lead: list[str]
    reports: list[UnitReportOut]

    @classmethod
    def of(cls, view: departures.DepartureView) -> DepartureOut:
        d, st = view.departure, view.status
        reports = [
            UnitReportOut(
                unit_code=code,
                unit=view.unit_names.get(code, code),
                reported=True,
                moved=r.moved,
                reported_at=r.reported_at,
                notes=r.notes,
            )
            for code, r in sorted(st.reports.items())
        ] + [
            UnitReportOut(unit_code=code, unit=name, reported=False, moved={}, reported_at=None, notes=None)
            for code, name in sorted(st.missing.items())
        ]
        return cls(
            id=d.id,
            staff_id=d.staff_id,
            name=view.name,
            successor_staff_id=d.successor_staff_id,
            successor_queue_id=d.successor_queue_id,
            successor=view.successor,
            at=d.at,
            effective_on=d.effective_on,
            initiated_by=d.initiated_by,
            reason=d.reason,
            complete=st.complete,
            waiting_for=sorted(st.missing),
            units_without_lead=view.leaderless,
            reports=reports,
        )


class UnitPreviewOut(BaseModel):
    unit_code: str
    unit: str
    open_items: dict[str, int]
    handed_over: bool = Field(description="False: the unit has no hand-over handler, this work would not move.")


class PreviewOut(BaseModel):
    staff_id: uuid.UUID
    name: str
    total: int
    units: list[UnitPreviewOut]
    leads_units: list[str]


@router.get(
    "/staff/{staff_id}/offboard",
    response_model=PreviewOut,
    responses=_ERRORS,
    summary="Preview what an offboarding would move",
)
def preview(
    staff_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> PreviewOut:
    seen = departures.preview(session, actor, staff_id)
    return PreviewOut(
        staff_id=seen.staff.id,
        name=seen.name,
        total=seen.total,
        leads_units=[u.code for u in seen.leads],
        units=[
            UnitPreviewOut(unit_code=u.code, unit=u.name, open_items=u.counts, handed_over=u.handed_over)
            for u in seen.units
        ],
    )


@router.post(
    "/staff/{staff_id}/offboard",
    status_code=201,
    response_model=DepartureOut,
    responses=_ERRORS,
    summary="Offboard a staff member: access ends now, units hand their work over",
)
def offboard(
    request: Request,
    staff_id: uuid.UUID,
    body: OffboardIn,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = Header(
        None, alias=idempotency.HEADER, description="Retries with the same key and body replay the first response"
    ),
) -> JSONResponse:
    def act() -> tuple[int, Any]:
        departure = departures.offboard(
            session,
            actor,
            staff_id,
            body.successor_staff_id,
            body.successor_queue_id,
            body.effective_on,
            body.reason,
            confirm_uncovered=body.confirm_uncovered,
        )
        session.flush()
        return 201, DepartureOut.of(departures.get_departure(session, actor, departure.id)).model_dump(mode="json")

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


@router.get(
    "/departures/{departure_id}",
    response_model=DepartureOut,
    responses=_ERRORS,
    summary="A departure and its hand-over report per unit",
)
def departure(
    departure_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> DepartureOut:
    return DepartureOut.of(departures.get_departure(session, actor, departure_id))
