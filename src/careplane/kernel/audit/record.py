"""Writing audit entries. Only :mod:`careplane.kernel.access` and system jobs call this."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from careplane.kernel.audit.models import AuditEntry

if TYPE_CHECKING:
    from careplane.kernel.access import Actor


def entry_for(
    actor: Actor,
    action: str,
    *,
    outcome: str,
    patient_id: uuid.UUID | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    reason: str | None = None,
) -> AuditEntry:
    return AuditEntry(
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        actor_roles=",".join(sorted(actor.roles)),
        action=action,
        patient_id=patient_id,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=outcome,
        reason=reason,
        ip=actor.ip,
        via=actor.via,
        request_id=actor.request_id,
    )


def record(session: Session, actor: Actor, action: str, **fields: object) -> AuditEntry:
    """Add an ``allowed`` entry to the caller's transaction: it commits with the access or not at all."""
    fields.setdefault("outcome", "allowed")
    entry = entry_for(actor, action, **fields)  # type: ignore[arg-type]
    session.add(entry)
    return entry
