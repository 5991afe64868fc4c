"""The home page: one per role, reached after login."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from careplane.kernel.access import Actor
from careplane.kernel.web import optional_page_actor, redirect, render

router = APIRouter()


@router.get("/", include_in_schema=False)
def home(request: Request, actor: Actor | None = Depends(optional_page_actor)) -> Response:
    if actor is None:
        return redirect("/login")
    return render(request, "home.html", {})
