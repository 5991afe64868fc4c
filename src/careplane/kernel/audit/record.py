"""Writing audit entries. Only :mod:`careplane.kernel.access` and system jobs call this."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.db import SessionOrReader, Write, new_id, write_soon

if TYPE_CHECKING:
    from careplane.kernel.access import Actor


def entry_values(
    actor: Actor,
    action: str,
    *,
    outcome: str,
    patient_id: uuid.UUID | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    return dict(
        id=new_id(),
        occurred_at=clock.now(),
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


def entry_for(actor: Actor, action: str, **fields: Any) -> AuditEntry:
    """An entry as an ORM object."""
    return AuditEntry(**entry_values(actor, action, **fields))


ENTRY_INSERT = insert(AuditEntry.__table__)


def to_keep(rows: Iterable[dict[str, Any]]) -> list[Write]:
    """Entries as the writes a refusal carries in ``keep_after_rollback``: the unit of work undoes
    everything else and then executes these."""
    return [(ENTRY_INSERT, row) for row in rows]


def write(session: SessionOrReader, rows: Iterable[dict[str, Any]]) -> None:
    """Insert entries in the caller's transaction as plain rows.

    A Core INSERT, not ``session.add``: every patient read writes one, and the ORM's flush
    machinery costs more than the read itself.
    """
    write_soon(session, ENTRY_INSERT, list(rows))


def record(session: Session, actor: Actor, action: str, **fields: Any) -> None:
    """Write an ``allowed`` entry in the caller's transaction: it commits with the action or not at all."""
    fields.setdefault("outcome", "allowed")
    write(session, [entry_values(actor, action, **fields)])
