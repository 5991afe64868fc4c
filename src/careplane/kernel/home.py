"""The home page reached after login: patients go to their record, staff to a page for their role."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from careplane.kernel import panels
from careplane.kernel.access import Actor, Permission
from careplane.kernel.dashboard import figures_for
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.web import db_session, optional_page_actor, redirect, render

router = APIRouter(route_class=GuardedRoute, include_in_schema=False)


@router.get("/")
def home(
    request: Request, actor: Actor | None = Depends(optional_page_actor), session: Session = Depends(db_session)
) -> Response:
    if actor is None:
        return redirect("/login")
    if actor.is_patient_only:
        return redirect("/my")
    return render(
        request,
        "home.html",
        {
            "figures": figures_for(session, actor),
            "can_search_patients": actor.can(Permission.PATIENT_SEARCH),
            "panels": panels.rendered("home_panels", request, session, actor),
        },
    )
