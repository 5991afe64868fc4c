"""The operations page for events and scheduled jobs: queue health, dead letters, replay. No rules here."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from careplane.kernel import events, jobs
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.web import csrf_protect, db_session, nav_item, page_actor, redirect, render

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])

nav_item("Events & jobs", "/ops/events", permission=Permission.OPERATIONS, order=80, area="Operations")


@router.get("/ops/events")
def events_page(
    request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    require(actor, Permission.OPERATIONS)
    return render(
        request,
        "ops/events.html",
        {
            "counts": events.delivery_counts(session),
            "oldest_pending": events.oldest_pending_at(session),
            "dead": events.dead_deliveries(session),
            "schedules": jobs.schedules(session),
        },
    )


@router.post("/ops/events/replay-dead")
def replay_all(actor: Actor = Depends(page_actor), session: Session = Depends(db_session)) -> Response:
    require(actor, Permission.OPERATIONS)
    count = events.replay_all_dead(session)
    return redirect("/ops/events", flash=f"{count} dead deliver{'y' if count == 1 else 'ies'} sent back to the queue.")


@router.post("/ops/events/{delivery_id}/replay")
def replay_one(
    delivery_id: uuid.UUID, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)
) -> Response:
    require(actor, Permission.OPERATIONS)
    delivery = events.replay(session, delivery_id)
    return redirect("/ops/events", flash=f"Delivery to {delivery.handler} sent back to the queue.")
