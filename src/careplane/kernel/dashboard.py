"""The numbers on a staff member's home page: read-only counts, each shown only to those it concerns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplane.kernel import clock, events
from careplane.kernel.access import Actor, Permission
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.models import User


@dataclass(frozen=True)
class Figure:
    label: str
    value: int
    href: str
    alert: bool = False


def figures_for(session: Session, actor: Actor) -> list[Figure]:
    figures: list[Figure] = []
    now = clock.now()
    if actor.can(Permission.OPERATIONS):
        counts = events.delivery_counts(session)
        figures.append(Figure("Events waiting", counts.get(events.PENDING, 0), "/ops/events"))
        dead = counts.get(events.DEAD, 0)
        figures.append(Figure("Dead letters", dead, "/ops/events", alert=dead > 0))
    if actor.can(Permission.AUDIT_READ):
        denied = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.outcome == "denied", AuditEntry.occurred_at >= now - timedelta(hours=24))
        )
        figures.append(
            Figure("Refused accesses, last 24 h", denied or 0, "/ops/audit?outcome=denied", alert=bool(denied))
        )
    if actor.can(Permission.USER_MANAGE):
        active = session.scalar(select(func.count()).select_from(User).where(User.is_active.is_(True)))
        locked = session.scalar(select(func.count()).select_from(User).where(User.locked_until > now))
        figures.append(Figure("Active accounts", active or 0, "/admin/users"))
        figures.append(Figure("Locked accounts", locked or 0, "/admin/users", alert=bool(locked)))
    return figures
