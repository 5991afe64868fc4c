"""JSON API for work queues: /api/v1/work. Parse, call the service, serialise.

The operations lead sees every queue and hands work out; staff see the queues they work and claim,
release and complete their items. Every POST takes an ``Idempotency-Key``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from careplane.kernel import idempotency, work
from careplane.kernel.access import Actor
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.web import api_actor, csrf_protect, db_session, respond_once
from careplane.kernel.work.listing import MAX_LIMIT, ItemRow, QueueSummary

router = APIRouter(
    route_class=GuardedRoute, prefix="/api/v1/work", tags=["work queues"], dependencies=[Depends(csrf_protect)]
)

_ERRORS = problem_responses(
    401,
    422,
    described={
        403: "Access denied: `detail` says why (not your unit or team, role, licence, patient)",
        404: "No such queue or work item",
        409: "Already taken by someone else, or no longer open",
    },
)
_KEY_DOC = "Retries with the same key and body replay the first response instead of acting twice"


class QueueOut(BaseModel):
    id: uuid.UUID
    key: str | None = Field(description="The stable key of a queue a unit declared, e.g. `virtual_care.visits`.")
    name: str
    team: str
    unit_code: str
    unit: str
    open_to: str = Field(description="`unit`: its unit's staff and its team's members; `team`: its team's members.")
    roles: list[str] = Field(description="Roles that may take its items; empty: any.")
    licence_kinds: list[str] = Field(description="Licence kinds that count for an item needing a state; empty: any.")
    open_items: int
    unassigned: int
    overdue: int
    next_due_at: datetime | None

    @classmethod
    def of(cls, q: QueueSummary) -> QueueOut:
        p = q.place
        return cls(
            id=p.queue.id,
            key=p.queue.key,
            name=p.queue.name,
            team=p.team_name,
            unit_code=p.unit_code,
            unit=p.unit_name,
            open_to=p.queue.open_to,
            roles=p.queue.roles,
            licence_kinds=p.queue.licence_kinds,
            open_items=q.open_items,
            unassigned=q.unassigned,
            overdue=q.overdue,
            next_due_at=q.next_due_at,
        )


class ItemOut(BaseModel):
    id: uuid.UUID
    queue_id: uuid.UUID
    kind: str
    title: str
    status: str
    subject_type: str | None
    subject_id: str | None
    has_patient: bool
    patient_id: uuid.UUID | None = Field(description="Shown only to those who may open patient records (audited).")
    state: str | None = Field(description="The state whose licence taking this item needs.")
    assignee_staff_id: uuid.UUID | None
    assignee: str | None
    claimed_at: datetime | None
    due_at: datetime | None
    seconds_left: int | None = Field(description="Until the deadline; negative when overdue.")
    overdue: bool
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None

    @classmethod
    def of(cls, r: ItemRow) -> ItemOut:
        i = r.item
        return cls(
            id=i.id,
            queue_id=i.queue_id,
            kind=i.kind,
            title=i.title,
            status=i.status,
            subject_type=i.subject_type,
            subject_id=i.subject_id,
            has_patient=r.has_patient,
            patient_id=r.patient_id,
            state=i.state,
            assignee_staff_id=i.assignee_staff_id,
            assignee=r.assignee_name,
            claimed_at=i.claimed_at,
            due_at=i.due_at,
            seconds_left=int(r.time_left.total_seconds()) if r.time_left is not None else None,
            overdue=r.overdue,
            created_at=i.created_at,
            closed_at=i.closed_at,
            closed_by=i.closed_by,
        )


class ItemPageOut(BaseModel):
    queue: str = Field(description="Unit / team / queue.")
    items: list[ItemOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")


class AssignIn(BaseModel):
    staff_id: uuid.UUID | None = Field(description="Who takes it; null puts it back into its queue.")


@router.get("/queues", response_model=list[QueueOut], responses=_ERRORS, summary="The queues you may see")
def queues(actor: Actor = Depends(api_actor), session: Session = Depends(db_session)) -> list[QueueOut]:
    return [QueueOut.of(q) for q in work.visible_queues(session, actor)]


@router.get(
    "/queues/{queue_id}/items",
    response_model=ItemPageOut,
    responses=_ERRORS,
    summary="A queue's items: overdue first, then by deadline, undated last (oldest first)",
)
def items(
    queue_id: uuid.UUID,
    status: Literal["open", "done", "cancelled", "all"] = "open",
    kind: str | None = Query(None, max_length=40),
    assignee: str | None = Query(None, max_length=40, description="`me`, `unassigned`, or a staff id"),
    patient_id: uuid.UUID | None = None,
    state: str | None = Query(None, max_length=2),
    overdue: bool = False,
    claimable: bool = Query(False, description="Only open, unassigned items your licences let you claim"),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> ItemPageOut:
    wanted = work.ItemFilter(
        status=status,
        kind=kind,
        assignee=assignee,
        patient_id=patient_id,
        state=state,
        overdue=overdue,
        claimable=claimable,
    )
    page = work.list_items(session, actor, queue_id, wanted, limit=limit, offset=offset)
    return ItemPageOut(
        queue=page.place.label,
        items=[ItemOut.of(r) for r in page.rows],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        next_offset=page.next_offset,
    )


@router.get("/items/{item_id}", response_model=ItemOut, responses=_ERRORS, summary="One work item")
def item(item_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)) -> ItemOut:
    return ItemOut.of(work.get_item(session, actor, item_id))


def _act(
    request: Request, session: Session, actor: Actor, key: str | None, item_id: uuid.UUID, payload: Any, change: Any
) -> JSONResponse:
    def act() -> tuple[int, Any]:
        change()
        session.flush()
        return 200, ItemOut.of(work.get_item(session, actor, item_id)).model_dump(mode="json")

    return respond_once(request, session, actor, key, payload, act)


_Key = Header(None, alias=idempotency.HEADER, description=_KEY_DOC)


@router.post(
    "/items/{item_id}/claim",
    response_model=ItemOut,
    responses=_ERRORS,
    summary="Take an item yourself (one of several claiming at once wins; the others get 409)",
)
def claim(
    request: Request,
    item_id: uuid.UUID,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = _Key,
) -> JSONResponse:
    return _act(request, session, actor, idempotency_key, item_id, {}, lambda: work.claim(session, actor, item_id))


@router.post(
    "/items/{item_id}/assign",
    response_model=ItemOut,
    responses=_ERRORS,
    summary="Give an item to someone who may take it (operations, or the unit's lead)",
)
def assign(
    request: Request,
    item_id: uuid.UUID,
    body: AssignIn,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = _Key,
) -> JSONResponse:
    return _act(
        request,
        session,
        actor,
        idempotency_key,
        item_id,
        body.model_dump(mode="json"),
        lambda: work.assign(session, actor, item_id, body.staff_id),
    )


@router.post(
    "/items/{item_id}/release",
    response_model=ItemOut,
    responses=_ERRORS,
    summary="Put an item back into its queue, unassigned (its holder, operations, or the unit's lead)",
)
def release(
    request: Request,
    item_id: uuid.UUID,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = _Key,
) -> JSONResponse:
    return _act(request, session, actor, idempotency_key, item_id, {}, lambda: work.release(session, actor, item_id))


@router.post(
    "/items/{item_id}/complete",
    response_model=ItemOut,
    responses=_ERRORS,
    summary="Mark an item done (its holder, operations, or the unit's lead)",
)
def complete(
    request: Request,
    item_id: uuid.UUID,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = _Key,
) -> JSONResponse:
    return _act(request, session, actor, idempotency_key, item_id, {}, lambda: work.complete(session, actor, item_id))
