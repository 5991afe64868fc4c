"""The organisation chart: units -> teams -> people and queues (with open work), read in a few queries."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.identity.models import User
from careplane.kernel.org.models import (
    OrgUnit,
    StaffMember,
    StaffStatus,
    Team,
    TeamMembership,
    UnitStatus,
)
from careplane.kernel.org.structure.service import function_label, get_unit, staff_names
from careplane.kernel.work.models import WorkItem, WorkItemStatus, WorkQueue


@dataclass(frozen=True)
class QueueNode:
    id: uuid.UUID
    name: str
    open_items: int


@dataclass(frozen=True)
class PersonNode:
    staff_id: uuid.UUID
    name: str
    roles: list[str]


@dataclass
class TeamNode:
    id: uuid.UUID
    name: str
    unit_id: uuid.UUID
    effective_from: date
    people: list[PersonNode] = field(default_factory=list)
    queues: list[QueueNode] = field(default_factory=list)

    @property
    def open_items(self) -> int:
        return sum(q.open_items for q in self.queues)


@dataclass
class UnitNode:
    id: uuid.UUID
    code: str
    name: str
    status: str
    effective_from: date
    effective_to: date | None
    lead_staff_id: uuid.UUID | None
    lead_name: str | None
    merged_into: tuple[uuid.UUID, str] | None
    #: The kind of work done here (a key of BUSINESS_FUNCTIONS); None for an old unit never given one.
    function: str | None
    teams: list[TeamNode] = field(default_factory=list)

    @property
    def function_label(self) -> str:
        return function_label(self.function)

    @property
    def active(self) -> bool:
        return self.status == UnitStatus.ACTIVE

    @property
    def without_lead(self) -> bool:
        """An active unit that nobody leads (flagged on the chart)."""
        return self.active and self.lead_staff_id is None

    @property
    def open_items(self) -> int:
        return sum(t.open_items for t in self.teams)


def org_chart(session: Session, actor: Actor) -> list[UnitNode]:
    """Every unit (active ones first, by name; then merged ones) with its current teams, people and queues."""
    require(actor, Permission.ORG_READ)
    units = list(session.scalars(select(OrgUnit).order_by(OrgUnit.name)))
    nodes = _build(session, units)
    return sorted(nodes, key=lambda n: not n.active)


def unit_chart(session: Session, actor: Actor, unit_id: uuid.UUID) -> UnitNode:
    require(actor, Permission.ORG_READ)
    return _build(session, [get_unit(session, unit_id)])[0]


def _build(session: Session, units: list[OrgUnit]) -> list[UnitNode]:
    today = clock.today()
    unit_ids = [u.id for u in units]
    teams = (
        list(
            session.scalars(
                select(Team)
                .where(Team.unit_id.in_(unit_ids), or_(Team.effective_to.is_(None), Team.effective_to > today))
                .order_by(Team.name)
            )
        )
        if unit_ids
        else []
    )
    team_ids = [t.id for t in teams]
    queues = (
        list(session.scalars(select(WorkQueue).where(WorkQueue.team_id.in_(team_ids)).order_by(WorkQueue.name)))
        if team_ids
        else []
    )
    open_counts = (
        dict(
            session.execute(
                select(WorkItem.queue_id, func.count())
                .where(WorkItem.queue_id.in_([q.id for q in queues]), WorkItem.status == WorkItemStatus.OPEN)
                .group_by(WorkItem.queue_id)
            ).all()
        )
        if queues
        else {}
    )
    people = _people(session, team_ids, today)
    names = staff_names(session, {u.lead_staff_id for u in units if u.lead_staff_id})
    by_id = {u.id: u for u in units}
    missing = {u.merged_into_id for u in units if u.merged_into_id and u.merged_into_id not in by_id}
    if missing:
        by_id.update({u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.id.in_(missing)))})

    queues_of: dict[uuid.UUID, list[QueueNode]] = defaultdict(list)
    for q in queues:
        queues_of[q.team_id].append(QueueNode(q.id, q.name, open_counts.get(q.id, 0)))
    teams_of: dict[uuid.UUID, list[TeamNode]] = defaultdict(list)
    for t in teams:
        teams_of[t.unit_id].append(
            TeamNode(t.id, t.name, t.unit_id, t.effective_from, people.get(t.id, []), queues_of[t.id])
        )
    return [
        UnitNode(
            id=u.id,
            code=u.code,
            name=u.name,
            status=u.status,
            effective_from=u.effective_from,
            effective_to=u.effective_to,
            lead_staff_id=u.lead_staff_id,
            lead_name=names.get(u.lead_staff_id) if u.lead_staff_id else None,
            merged_into=(u.merged_into_id, by_id[u.merged_into_id].name) if u.merged_into_id else None,
            function=u.function,
            teams=teams_of[u.id],
        )
        for u in units
    ]


def _people(session: Session, team_ids: list[uuid.UUID], today: date) -> dict[uuid.UUID, list[PersonNode]]:
    """Current members of each team: started, not ended (a membership ending today has ended), active staff."""
    if not team_ids:
        return {}
    rows = session.execute(
        select(TeamMembership.team_id, StaffMember.id, User)
        .join(StaffMember, StaffMember.id == TeamMembership.staff_id)
        .join(User, User.id == StaffMember.user_id)
        .where(
            TeamMembership.team_id.in_(team_ids),
            TeamMembership.start_date <= today,
            or_(TeamMembership.end_date.is_(None), TeamMembership.end_date > today),
            StaffMember.status == StaffStatus.ACTIVE,
        )
        .options(selectinload(User.role_rows))
        .order_by(User.display_name)
    )
    people: dict[uuid.UUID, list[PersonNode]] = defaultdict(list)
    for team_id, staff_id, user in rows:
        people[team_id].append(PersonNode(staff_id, user.display_name, sorted(r.label for r in user.roles)))
    return people
