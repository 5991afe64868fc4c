"""Virtual Care's pages under /virtual-care/: so far the conditions and their prices, public.

A logged-in patient sees the prices of the state on their record (reading it is an audited read of
their own record); anyone may choose another state."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from careplane.kernel.access import Actor
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.patients import service as patients
from careplane.kernel.web import csrf_protect, db_session, optional_page_actor, render
from careplane.units.virtual_care.catalog import shipped
from careplane.units.virtual_care.services import prices as service
from careplane.units.virtual_care.services import ratings

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])


@router.get("/virtual-care/conditions")
def conditions_page(
    request: Request,
    state: str | None = Query(None),
    actor: Actor | None = Depends(optional_page_actor),
    session: Session = Depends(db_session),
) -> Response:
    chosen = (state or "").strip()
    if not chosen and state is None and actor is not None and actor.patient_id is not None:
        chosen = patients.get_patient(session, actor, actor.patient_id).state or ""
    errors: dict[str, str] = {}
    priced = []
    if chosen:
        try:
            priced = service.price_list(chosen)
        except ValidationFailed as e:
            errors = dict(e.errors)
    return render(
        request,
        "virtual_care/conditions.html",
        {
            "conditions": shipped().conditions,
            "priced": priced,
            "state": chosen.upper(),
            "errors": errors,
            "state_choices": [("", "Choose your state…"), *service.STATE_CHOICES],
            "ratings": ratings.by_condition(session),
            "patient": actor is not None and actor.is_patient_only,
        },
        status_code=422 if errors else 200,
    )
