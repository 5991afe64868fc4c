"""The audit log for operations: an HTML page at /ops/audit and JSON at /api/v1/audit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from careplane.kernel.access import Actor, Permission, registry
from careplane.kernel.audit.search import OUTCOMES, PAGE_SIZE, AuditFilters, AuditRow, search
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.web import api_actor, db_session, nav_item, page_actor, render

router = APIRouter(route_class=GuardedRoute)

nav_item("Audit log", "/ops/audit", permission=Permission.AUDIT_READ, order=80, area="Operations")


def _filters(
    patient: str | None = Query(None, description="MRN or patient id"),
    user: str | None = Query(None, description="E-mail of the acting user (or a system label)"),
    since: str | None = Query(None, description="YYYY-MM-DD or YYYY-MM-DDTHH:MM, in tz"),
    until: str | None = Query(None, description="YYYY-MM-DD (whole day) or YYYY-MM-DDTHH:MM, in tz"),
    action: str | None = Query(None, description="e.g. patient.read"),
    outcome: str | None = Query(None, description="allowed or denied"),
    tz: str | None = Query(None, description="IANA time zone the dates are in; default UTC"),
) -> AuditFilters:
    return AuditFilters(patient=patient, user=user, since=since, until=until, action=action, outcome=outcome, tz=tz)


@router.get("/ops/audit", include_in_schema=False)
def audit_log_page(
    request: Request,
    after: str | None = None,
    filters: AuditFilters = Depends(_filters),
    actor: Actor = Depends(page_actor),
    session: Session = Depends(db_session),
) -> Response:
    context: dict[str, Any] = {
        "filters": filters,
        "actions": sorted(registry().descriptions),
        "outcomes": [("", "Any")] + [(o, o.capitalize()) for o in OUTCOMES],
        "errors": {},
        "page": None,
        "next_url": None,
    }
    try:
        page = search(session, actor, filters, after=after)
    except ValidationFailed as exc:
        context["errors"] = exc.errors
        return render(request, "audit/log.html", context, status_code=422)
    context["page"] = page
    if page.next_cursor:
        context["next_url"] = str(request.url.include_query_params(after=page.next_cursor))
    context["first_url"] = str(request.url.remove_query_params("after")) if after else None
    return render(request, "audit/log.html", context)


def _as_json(row: AuditRow) -> dict[str, Any]:
    e = row.entry
    return {
        "id": str(e.id),
        "occurred_at": e.occurred_at.isoformat(),
        "actor": {
            "user_id": str(e.actor_user_id) if e.actor_user_id else None,
            "label": e.actor_label,
            "roles": row.roles,
        },
        "action": e.action,
        "patient": {"id": str(e.patient_id), "mrn": row.patient_mrn, "name": row.patient_name}
        if e.patient_id
        else None,
        "resource_type": e.resource_type,
        "resource_id": e.resource_id,
        "outcome": e.outcome,
        "reason": e.reason,
        "ip": e.ip,
        "via": e.via,
        "request_id": e.request_id,
        "seq": e.seq,
        "sealed": row.sealed,
    }


@router.get(
    "/api/v1/audit",
    tags=["audit"],
    responses=problem_responses(
        described={
            403: "The caller lacks the audit.read permission (the refusal is itself audited).",
            422: "A filter is malformed (a date, time zone or outcome): `errors` names it.",
        }
    ),
)
def audit_log_api(
    after: str | None = Query(None, description="next_cursor of the previous page"),
    limit: int = Query(PAGE_SIZE, ge=1, le=500),
    filters: AuditFilters = Depends(_filters),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Audit entries, newest first. Needs the audit.read permission; the search is itself audited."""
    page = search(session, actor, filters, after=after, limit=limit)
    return {"items": [_as_json(r) for r in page.rows], "next_cursor": page.next_cursor}
