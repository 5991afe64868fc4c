"""JSON API for the organisation's structure: /api/v1/org. Parse, call the service, serialise."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from careplane.kernel import idempotency
from careplane.kernel.access import Actor
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.org.models import OrgChange
from careplane.kernel.org.structure import chart
from careplane.kernel.org.structure import service as structure
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.units import BUSINESS_FUNCTIONS
from careplane.kernel.web import api_actor, csrf_protect, db_session, respond_once

router = APIRouter(
    route_class=GuardedRoute, prefix="/api/v1/org", tags=["organisation"], dependencies=[Depends(csrf_protect)]
)

_ERRORS = problem_responses(
    401, 422, described={403: "Access denied (restructuring needs org.manage)", 404: "No such unit or team"}
)
_KEY_DOC = "Retries with the same key and body replay the first response instead of acting twice"
_EFFECTIVE_DOC = "Defaults to today. A future date is recorded and shown; the change applies at once."


def _function_schema(schema: dict[str, Any]) -> None:
    """The business functions of the units installed when the document is made."""
    functions = ", ".join(f"`{code}` ({label})" for code, label in BUSINESS_FUNCTIONS.items())
    schema["enum"] = list(BUSINESS_FUNCTIONS)
    schema["description"] = (
        f"The kind of work the unit does, one of {functions}. It decides which patient records "
        "the unit's staff may open, and is kept for the unit's life (a unit split off inherits it)."
    )


# ---------------------------------------------------------------- models


class QueueOut(BaseModel):
    id: uuid.UUID
    name: str
    open_items: int


class PersonOut(BaseModel):
    staff_id: uuid.UUID
    name: str
    roles: list[str]


class TeamOut(BaseModel):
    id: uuid.UUID
    name: str
    unit_id: uuid.UUID
    effective_from: date
    people: list[PersonOut]
    queues: list[QueueOut]

    @classmethod
    def of(cls, t: chart.TeamNode) -> TeamOut:
        return cls(
            id=t.id,
            name=t.name,
            unit_id=t.unit_id,
            effective_from=t.effective_from,
            people=[PersonOut(staff_id=p.staff_id, name=p.name, roles=p.roles) for p in t.people],
            queues=[QueueOut(id=q.id, name=q.name, open_items=q.open_items) for q in t.queues],
        )


class UnitOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    status: str
    effective_from: date
    effective_to: date | None
    lead_staff_id: uuid.UUID | None
    lead_name: str | None
    merged_into_id: uuid.UUID | None
    function: str | None = Field(
        description="The kind of work the unit does (a business function: see the "
        "unit's `function` on creating one). Null only for a unit made before units had one "
        "(its staff open no patient records).",
        examples=["pharmacy"],
    )
    teams: list[TeamOut]

    @classmethod
    def of(cls, u: chart.UnitNode) -> UnitOut:
        return cls(
            id=u.id,
            code=u.code,
            name=u.name,
            status=u.status,
            effective_from=u.effective_from,
            effective_to=u.effective_to,
            lead_staff_id=u.lead_staff_id,
            lead_name=u.lead_name,
            merged_into_id=u.merged_into[0] if u.merged_into else None,
            function=u.function,
            teams=[TeamOut.of(t) for t in u.teams],
        )


class QueueCreated(BaseModel):
    id: uuid.UUID
    name: str
    team_id: uuid.UUID


class ChangeOut(BaseModel):
    id: uuid.UUID
    at: datetime
    effective_on: date
    actor: str
    kind: str
    summary: str
    unit_id: uuid.UUID | None
    other_unit_id: uuid.UUID | None
    details: dict[str, Any]

    @classmethod
    def of(cls, c: OrgChange) -> ChangeOut:
        return cls(
            id=c.id,
            at=c.at,
            effective_on=c.effective_on,
            actor=c.actor_label,
            kind=c.kind,
            summary=c.summary,
            unit_id=c.unit_id,
            other_unit_id=c.other_unit_id,
            details=c.details,
        )


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitCreate(_In):
    code: str = Field(max_length=40, examples=["care_navigation"], description="Stable, never reused")
    name: str = Field(max_length=200, examples=["Care Navigation"])
    function: str = Field(max_length=40, examples=["primary_care"], json_schema_extra=_function_schema)
    lead_staff_id: uuid.UUID | None = None
    effective_on: date | None = Field(None, description=_EFFECTIVE_DOC)


class UnitChange(_In):
    name: str | None = Field(None, max_length=200, description="Rename the unit")
    lead_staff_id: uuid.UUID | None = Field(None, description="Set the lead; send null to leave the unit without one")
    effective_on: date | None = Field(None, description=_EFFECTIVE_DOC)


class Merge(_In):
    into_unit_id: uuid.UUID
    effective_on: date | None = Field(None, description=_EFFECTIVE_DOC)


class Split(_In):
    new_code: str = Field(max_length=40)
    new_name: str = Field(max_length=200)
    team_ids: list[uuid.UUID] = Field(max_length=500)
    effective_on: date | None = Field(None, description=_EFFECTIVE_DOC)


class TeamCreate(_In):
    unit_id: uuid.UUID
    name: str = Field(max_length=200)
    effective_on: date | None = Field(None, description=_EFFECTIVE_DOC)


class TeamMove(_In):
    unit_id: uuid.UUID
    effective_on: date | None = Field(None, description=_EFFECTIVE_DOC)


class QueueCreate(_In):
    team_id: uuid.UUID
    name: str = Field(max_length=200)


# ---------------------------------------------------------------- reading


@router.get("/units", response_model=list[UnitOut], responses=_ERRORS, summary="Units with their teams and queues")
def units(actor: Actor = Depends(api_actor), session: Session = Depends(db_session)) -> list[UnitOut]:
    """Active units first, then merged ones (with `merged_into_id`)."""
    return [UnitOut.of(u) for u in chart.org_chart(session, actor)]


@router.get("/units/{unit_id}", response_model=UnitOut, responses=_ERRORS, summary="One unit")
def unit(unit_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)) -> UnitOut:
    return UnitOut.of(chart.unit_chart(session, actor, unit_id))


@router.get("/history", response_model=list[ChangeOut], responses=_ERRORS, summary="Restructuring history")
def history(
    unit_id: uuid.UUID | None = Query(None, description="Only changes that concern this unit"),
    limit: int = Query(200, ge=1, le=1000),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> list[ChangeOut]:
    """Newest first."""
    return [ChangeOut.of(c) for c in structure.history(session, actor, unit_id=unit_id, limit=limit)]


# ---------------------------------------------------------------- changing


@router.post("/units", status_code=201, response_model=UnitOut, responses=_ERRORS, summary="Create a unit")
def create_unit(
    body: UnitCreate,
    request: Request,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
) -> JSONResponse:
    """`function` is required: the unit's kind of work, which decides the patient records its staff may open."""

    def act() -> tuple[int, Any]:
        created = structure.create_unit(
            session,
            actor,
            code=body.code,
            name=body.name,
            function=body.function,
            lead_staff_id=body.lead_staff_id,
            effective_on=body.effective_on,
        )
        return 201, _unit_json(session, actor, created.id)

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


@router.patch("/units/{unit_id}", response_model=UnitOut, responses=_ERRORS, summary="Rename a unit or set its lead")
def change_unit(
    unit_id: uuid.UUID, body: UnitChange, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> UnitOut:
    """Only the fields sent change; each change is its own history entry."""
    sent = body.model_fields_set
    if body.name is None and "lead_staff_id" not in sent:
        raise ValidationFailed({"name": "Send a new name, a lead_staff_id, or both."})
    if body.name is not None:
        structure.rename_unit(session, actor, unit_id, body.name, effective_on=body.effective_on)
    if "lead_staff_id" in sent:
        structure.set_unit_lead(session, actor, unit_id, body.lead_staff_id, effective_on=body.effective_on)
    return UnitOut.of(chart.unit_chart(session, actor, unit_id))


@router.post(
    "/units/{unit_id}/merge",
    response_model=UnitOut,
    responses=_ERRORS,
    summary="Merge a unit into another (returns the surviving unit)",
)
def merge(
    unit_id: uuid.UUID,
    body: Merge,
    request: Request,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
) -> JSONResponse:
    """Every team of the unit, with its queues and work, moves to `into_unit_id`; the unit is kept, marked merged.

    Its people move too: everyone whose home unit is the merged unit's code now works in `into_unit_id`,
    and that unit's `function` decides which patient records they may open. The history entry
    (`units.merged`) gives `people_moved` and their `user_ids`."""

    def act() -> tuple[int, Any]:
        into = structure.merge_units(session, actor, unit_id, body.into_unit_id, effective_on=body.effective_on)
        return 200, _unit_json(session, actor, into.id)

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


@router.post(
    "/units/{unit_id}/split",
    status_code=201,
    response_model=UnitOut,
    responses=_ERRORS,
    summary="Split teams off into a new unit (returns the new unit)",
)
def split(
    unit_id: uuid.UUID,
    body: Split,
    request: Request,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
) -> JSONResponse:
    """The new unit takes the chosen teams, with their queues and work, and inherits the parent's `function`.
    People's home units do not change (the new unit does the same kind of work)."""

    def act() -> tuple[int, Any]:
        new = structure.split_unit(
            session,
            actor,
            unit_id,
            new_code=body.new_code,
            new_name=body.new_name,
            team_ids=body.team_ids,
            effective_on=body.effective_on,
        )
        return 201, _unit_json(session, actor, new.id)

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


@router.post("/teams", status_code=201, response_model=TeamOut, responses=_ERRORS, summary="Create a team in a unit")
def create_team(
    body: TeamCreate,
    request: Request,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
) -> JSONResponse:
    def act() -> tuple[int, Any]:
        team = structure.create_team(session, actor, body.unit_id, body.name, effective_on=body.effective_on)
        return 201, _team_json(session, actor, team.unit_id, team.id)

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


@router.post(
    "/teams/{team_id}/move",
    response_model=TeamOut,
    responses=_ERRORS,
    summary="Move a team (with its queues and their work) to another unit",
)
def move_team(
    team_id: uuid.UUID,
    body: TeamMove,
    request: Request,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
) -> JSONResponse:
    def act() -> tuple[int, Any]:
        team = structure.move_team(session, actor, team_id, body.unit_id, effective_on=body.effective_on)
        return 200, _team_json(session, actor, team.unit_id, team.id)

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


@router.post("/queues", status_code=201, response_model=QueueCreated, responses=_ERRORS, summary="Create a queue")
def create_queue(
    body: QueueCreate,
    request: Request,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
) -> JSONResponse:
    def act() -> tuple[int, Any]:
        queue = structure.create_queue(session, actor, body.team_id, body.name)
        return 201, QueueCreated(id=queue.id, name=queue.name, team_id=queue.team_id).model_dump(mode="json")

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


# ---------------------------------------------------------------- helpers


def _unit_json(session: Session, actor: Actor, unit_id: uuid.UUID) -> dict[str, Any]:
    session.flush()
    return UnitOut.of(chart.unit_chart(session, actor, unit_id)).model_dump(mode="json")


def _team_json(session: Session, actor: Actor, unit_id: uuid.UUID, team_id: uuid.UUID) -> dict[str, Any]:
    session.flush()
    node = chart.unit_chart(session, actor, unit_id)
    return TeamOut.of(next(t for t in node.teams if t.id == team_id)).model_dump(mode="json")
