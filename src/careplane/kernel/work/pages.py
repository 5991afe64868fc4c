"""Work-queue pages: the queues one may see, and a queue's items a page at a time, with claim,
release and complete buttons. No rules here: the policy decides in the service."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from careplane.kernel import work
from careplane.kernel.access import Actor, Permission
from careplane.kernel.errors import Conflict
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.web import attempt, csrf_protect, db_session, nav_item, page_actor, posted_form, redirect, render
from careplane.kernel.work.items import item_page
from careplane.kernel.work.listing import ItemFilter
from careplane.kernel.work.policy import acting_worker

router = APIRouter(
    route_class=GuardedRoute, prefix="/work", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)
nav_item("Work queues", "/work", permission=Permission.ORG_READ, order=40, area="Work")

PAGE_SIZE = 25
#: The page's filter choices: label and the filter they stand for.
VIEWS: dict[str, tuple[str, ItemFilter]] = {
    "open": ("All open", ItemFilter()),
    "claimable": ("I can claim", ItemFilter(claimable=True)),
    "mine": ("Mine", ItemFilter(assignee="me")),
    "overdue": ("Overdue", ItemFilter(overdue=True)),
    "done": ("Done", ItemFilter(status="done")),
}


@router.get("")
def queues(request: Request, actor: Actor = Depends(page_actor), session: Session = Depends(db_session)) -> Response:
    return render(request, "work/queues.html", {"queues": work.visible_queues(session, actor)})


@router.get("/queues/{queue_id}")
def queue(
    request: Request,
    queue_id: uuid.UUID,
    view: str = "open",
    offset: int = 0,
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    view = view if view in VIEWS else "open"
    page = work.list_items(session, actor, queue_id, VIEWS[view][1], limit=PAGE_SIZE, offset=max(offset, 0))
    me = acting_worker(session, actor)
    return render(
        request,
        "work/queue.html",
        {
            "page": page,
            "view": view,
            "views": VIEWS,
            "my_staff_id": me.staff_id if me else None,
            "item_page": item_page,
        },
    )


def _act(form: FormData, item_id: uuid.UUID, change: Callable[[], Any], session: Session, done: str) -> Response:
    back = str(form.get("back") or "/work")
    back = back if back.startswith("/work") else "/work"
    _, problem = attempt(session, change, catch=(Conflict,))
    return redirect(back, flash=problem.detail if problem else done)


@router.post("/items/{item_id}/claim")
def claim(
    item_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    return _act(form, item_id, lambda: work.claim(session, actor, item_id), session, "Claimed: it is yours.")


@router.post("/items/{item_id}/release")
def release(
    item_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    return _act(form, item_id, lambda: work.release(session, actor, item_id), session, "Put back into the queue.")


@router.post("/items/{item_id}/complete")
def complete(
    item_id: uuid.UUID,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    return _act(form, item_id, lambda: work.complete(session, actor, item_id), session, "Marked done.")
