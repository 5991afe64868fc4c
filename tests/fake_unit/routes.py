"""The fake unit's API route and page."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from careplane.kernel.access import Actor, require
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.web import api_actor, page_actor, render
from tests.fake_unit import ORDER

router = APIRouter(route_class=GuardedRoute)


@router.get("/api/v1/fake-lab/ping")
def ping(actor: Actor = Depends(api_actor)) -> dict[str, str]:
    require(actor, ORDER)
    return {"unit": "fake_lab", "caller": actor.label}


@router.get("/fake-lab", include_in_schema=False)
def desk(request: Request, actor: Actor = Depends(page_actor)) -> Response:
    require(actor, ORDER)
    return render(request, "fake_lab/desk.html", {"orders": 3})
