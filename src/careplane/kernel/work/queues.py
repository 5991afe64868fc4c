"""Queues declared by their owners: a unit says which queues it keeps, by a stable key, and
:func:`ensure_queue` makes (or finds) each one in the unit's team, so no unit looks a queue up by name.

    VISITS = QueueDeclaration("virtual_care.visits", "Visit queue", unit="virtual_care",
                              roles=("clinician",), licence_kinds=("MD", "DO", "NP", "PA"))
    queue = ensure_queue(session, VISITS)   # at seeding or start-up; idempotent
    create_item(session, VISITS.key, kind="async_visit", ...)
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplane.kernel.access import Actor
from careplane.kernel.errors import NotFound, ValidationFailed
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgUnit, Team, UnitStatus
from careplane.kernel.org.structure import service as structure
from careplane.kernel.work.models import OpenTo, WorkQueue

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
#: How many merges to follow from a declared unit code to the unit that now does its work.
_MAX_MERGES = 20


@dataclass(frozen=True)
class QueueDeclaration:
    """A queue a unit owns. ``key`` is stable (``<unit>.<queue>``, lower case); ``team`` names the
    team that keeps it (made if missing; default: the unit's oldest current team)."""

    key: str
    name: str
    unit: str
    team: str | None = None
    open_to: OpenTo = OpenTo.UNIT
    roles: tuple[str, ...] = ()
    licence_kinds: tuple[str, ...] = ()

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not KEY_PATTERN.match(self.key) or len(self.key) > 80:
            errors["key"] = "A queue key is lower case, dotted, up to 80 characters, e.g. virtual_care.visits."
        if not self.name.strip():
            errors["name"] = "Give the queue a name."
        unknown = sorted(set(self.roles) - {r.value for r in Role})
        if unknown:
            errors["roles"] = f"No such role: {', '.join(unknown)}."
        return errors


def queue_by_key(session: Session, key: str, *, lock: bool = False) -> WorkQueue | None:
    query = select(WorkQueue).where(WorkQueue.key == key)
    return session.scalar(query.with_for_update() if lock else query)


def resolve_queue(session: Session, queue: uuid.UUID | str) -> WorkQueue:
    """A queue by id, or by declared key (a ``str``)."""
    found = queue_by_key(session, queue) if isinstance(queue, str) else session.get(WorkQueue, queue)
    if found is None:
        raise NotFound(f"There is no queue {queue!s}." if isinstance(queue, str) else "There is no such queue.")
    return found


def _working_unit(session: Session, code: str) -> OrgUnit:
    """The active unit of this code, or the one it was merged into (locked: declarations of one
    unit's queues are made one at a time)."""
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code).with_for_update())
    for _ in range(_MAX_MERGES):
        if unit is None or unit.status == UnitStatus.ACTIVE.value:
            break
        if unit.merged_into_id is None:
            unit = None
            break
        unit = session.get(OrgUnit, unit.merged_into_id, with_for_update=True)
    if unit is None or unit.status != UnitStatus.ACTIVE.value:
        raise NotFound(f"There is no active unit {code!r} to keep its queues (is the organisation seeded?).")
    return unit


def _team_for(session: Session, unit: OrgUnit, declaration: QueueDeclaration) -> Team:
    current = select(Team).where(Team.unit_id == unit.id, Team.effective_to.is_(None))
    if declaration.team:
        team = session.scalar(current.where(func.lower(Team.name) == declaration.team.strip().lower()))
    else:
        team = session.scalar(current.order_by(Team.effective_from, Team.name, Team.id).limit(1))
    if team is None:
        team = structure.create_team(
            session, Actor.for_system("work-queues"), unit.id, declaration.team or declaration.name
        )
    return team


def ensure_queue(session: Session, declaration: QueueDeclaration) -> WorkQueue:
    """The declared queue: made in its unit's team the first time (a queue of that name already in
    the team, e.g. one seeded or made by hand, is adopted), and its access rules brought in line with
    the declaration every time. The queue then lives with its team: a team moved or a unit merged
    takes it along, and declaring it again does not move it back."""
    if errors := declaration.problems():
        raise ValidationFailed(errors)
    queue = queue_by_key(session, declaration.key, lock=True)
    if queue is None:
        unit = _working_unit(session, declaration.unit)
        queue = queue_by_key(session, declaration.key, lock=True)  # declared meanwhile, while we waited
    if queue is None:
        team = _team_for(session, unit, declaration)
        queue = session.scalar(
            select(WorkQueue)
            .where(
                WorkQueue.team_id == team.id,
                func.lower(WorkQueue.name) == declaration.name.strip().lower(),
                WorkQueue.key.is_(None),
            )
            .with_for_update()
        )
        if queue is None:
            queue = structure.create_queue(session, Actor.for_system("work-queues"), team.id, declaration.name)
        queue.key = declaration.key
    queue.open_to = declaration.open_to.value
    queue.roles = sorted(declaration.roles)
    queue.licence_kinds = sorted(declaration.licence_kinds)
    session.flush()
    return queue
