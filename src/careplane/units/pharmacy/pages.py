"""Pharmacy's pages under /pharmacy/: so far the drug catalog's search, for any logged-in user."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from careplane.kernel.access import Actor
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.web import csrf_protect, page_actor, render
from careplane.units.pharmacy import service
from careplane.units.pharmacy.catalog import Product, shipped

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])


@router.get("/pharmacy/drugs")
def drugs_page(request: Request, q: str = Query(""), actor: Actor = Depends(page_actor)) -> Response:
    errors: dict[str, str] = {}
    found: list[Product] = []
    if q.strip():
        try:
            found = service.search_drugs(q, 50)
        except ValidationFailed as e:
            errors = dict(e.errors)
    return render(
        request,
        "pharmacy/drugs.html",
        {"q": q, "found": found, "errors": errors, "count": len(shipped().products)},
        status_code=422 if errors else 200,
    )
