"""Who may see and take work in which queue: decided here, for every edge (the JSON API, the pages,
the units' services that call :mod:`careplane.kernel.work`).

- **Seeing** a queue's items: the platform itself, anyone with ``operations.manage`` (the
  operations pages see every queue), and the people who work the queue.
- **Working** a queue: an active staff member who is a current member of its team, or (a queue
  open to its unit) whose home unit is the team's unit; and, when the queue names roles, who
  holds one of them.
- **Taking** an item (claiming it, or being assigned it): working its queue; when the item needs
  licensure in a state, a licence for that state valid today (of the queue's licence kinds); when
  it concerns a patient, being allowed to open that patient's record in their unit
  (:func:`careplane.kernel.access.decide`).
- **Managing** a queue (assigning to others, releasing or closing someone else's item): the
  platform, ``operations.manage``, or the lead of the queue's unit.

A refusal is :class:`AccessDenied` naming the reason; when the item concerns a patient the refusal
is audited (kept after the rollback), as :func:`careplane.kernel.access.authorize` does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, authorize, decide
from careplane.kernel.audit.record import entry_values, to_keep
from careplane.kernel.errors import AccessDenied
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgUnit, StaffMember, StaffStatus, Team, TeamMembership, UnitStatus
from careplane.kernel.org.staff import licensure
from careplane.kernel.units import function_of
from careplane.kernel.work.models import OpenTo, WorkItem, WorkQueue

#: The audit entries' resource type for a work item.
RESOURCE = "work.item"


@dataclass(frozen=True)
class Worker:
    """A staff member as the policy sees them today."""

    staff_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    roles: frozenset[Role]
    unit: str | None
    unit_function: str | None
    team_ids: frozenset[uuid.UUID]
    active: bool

    def as_actor(self) -> Actor:
        """What they would be acting in their unit (to ask what patient data they may open)."""
        return Actor(
            user_id=self.user_id, label=self.name, roles=self.roles, unit=self.unit, unit_function=self.unit_function
        )


@dataclass(frozen=True)
class Place:
    """Where a queue sits in the organisation now."""

    queue: WorkQueue
    team_name: str
    unit_id: uuid.UUID
    unit_code: str
    unit_name: str
    unit_lead_staff_id: uuid.UUID | None

    @property
    def label(self) -> str:
        return f"{self.unit_name} / {self.team_name} / {self.queue.name}"


def places(session: Session, *, queue_id: uuid.UUID | None = None) -> list[Place]:
    """Where one queue sits, or every queue of a current team (by unit, team and queue name)."""
    query = (
        select(WorkQueue, Team.name, OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.lead_staff_id)
        .join(Team, Team.id == WorkQueue.team_id)
        .join(OrgUnit, OrgUnit.id == Team.unit_id)
    )
    if queue_id is not None:
        query = query.where(WorkQueue.id == queue_id)
    else:
        query = query.where(Team.effective_to.is_(None)).order_by(OrgUnit.name, Team.name, WorkQueue.name, WorkQueue.id)
    return [Place(*row) for row in session.execute(query)]


def place_of(session: Session, queue: WorkQueue) -> Place:
    return places(session, queue_id=queue.id)[0]


def worker(
    session: Session, *, staff_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None, on: date | None = None
) -> Worker | None:
    """The staff member with this staff id (or login), with their current teams; None if there is none."""
    on = on or clock.today()
    query = select(StaffMember, User).join(User, User.id == StaffMember.user_id)
    if staff_id is not None:
        query = query.where(StaffMember.id == staff_id)
    elif user_id is not None:
        query = query.where(StaffMember.user_id == user_id)
    else:
        return None
    row = session.execute(query).first()
    if row is None:
        return None
    staff, user = row
    teams = session.scalars(
        select(TeamMembership.team_id)
        .join(Team, Team.id == TeamMembership.team_id)
        .where(
            TeamMembership.staff_id == staff.id,
            TeamMembership.start_date <= on,
            or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= on),
            or_(Team.effective_to.is_(None), Team.effective_to >= on),
        )
    )
    unit_row = (
        session.execute(select(OrgUnit.status, OrgUnit.function).where(OrgUnit.code == user.unit)).first()
        if user.unit
        else None
    )
    unit_function = function_of(
        user.unit,
        unit_found=unit_row is not None,
        active=unit_row is not None and unit_row[0] == UnitStatus.ACTIVE.value,
        function=unit_row[1] if unit_row else None,
    )
    active = staff.status == StaffStatus.ACTIVE.value and user.is_active
    return Worker(
        staff_id=staff.id,
        user_id=user.id,
        name=user.display_name,
        roles=frozenset(user.roles),
        unit=user.unit,
        unit_function=unit_function,
        team_ids=frozenset(teams),
        active=active,
    )


# ---------------------------------------------------------------- decisions (a reason, or None)


def work_refusal(who: Worker | None, place: Place) -> str | None:
    """Why this person does not work the queue, or None."""
    queue = place.queue
    if who is None:
        return "only staff work queues, and you have no staff record"
    if not who.active:
        return f"{who.name} has left; work cannot go to them"
    in_team = queue.team_id in who.team_ids
    if queue.open_to == OpenTo.TEAM.value and not in_team:
        return f"only members of team {place.team_name} work {queue.name}"
    if not in_team and who.unit != place.unit_code:
        return f"{queue.name} is worked by the staff of {place.unit_name} and members of team {place.team_name}"
    if queue.roles and not {r.value for r in who.roles} & set(queue.roles):
        return f"{queue.name} is worked by the role(s) {', '.join(sorted(queue.roles))}"
    return None


def take_refusal(session: Session, who: Worker | None, item: WorkItem, place: Place) -> str | None:
    """Why this person may not take the item (claim it or be given it), or None."""
    if reason := work_refusal(who, place):
        return reason
    assert who is not None
    if item.state and item.state not in licensure.licensed_states(session, who.staff_id, place.queue.licence_kinds):
        kinds = "/".join(place.queue.licence_kinds) or "any"
        return f"{who.name} holds no {kinds} licence for {item.state} valid today"
    if item.patient_id is not None and (reason := decide(who.as_actor(), Permission.PATIENT_READ, item.patient_id)):
        return f"{who.name} may not open this patient's record ({reason})"
    return None


def manages(actor: Actor, place: Place, who: Worker | None) -> bool:
    """Whether the actor may hand out, take back and close any item of the queue."""
    if actor.system or actor.can(Permission.OPERATIONS):
        return True
    return who is not None and who.active and place.unit_lead_staff_id == who.staff_id


# ---------------------------------------------------------------- checks (raise, audited where patients are concerned)


def refuse(actor: Actor, action: str, item: WorkItem | None, detail: str) -> AccessDenied:
    """The refusal to raise: audited (after the rollback) when the item concerns a patient."""
    keep = []
    if item is not None and item.patient_id is not None:
        keep = to_keep(
            [
                entry_values(
                    actor,
                    action,
                    outcome="denied",
                    patient_id=item.patient_id,
                    resource_type=RESOURCE,
                    resource_id=str(item.id),
                    reason=detail,
                )
            ]
        )
    return AccessDenied(f"You may not do this: {detail}.", keep_after_rollback=keep)


def acting_worker(session: Session, actor: Actor) -> Worker | None:
    return None if actor.system or actor.user_id is None else worker(session, user_id=actor.user_id)


def see_refusal(actor: Actor, who: Worker | None, place: Place) -> str | None:
    """Why the actor may not see the queue's items, or None."""
    if actor.system or actor.can(Permission.OPERATIONS) or manages(actor, place, who):
        return None
    return work_refusal(who, place)


def may_see(session: Session, actor: Actor, place: Place) -> Worker | None:
    """Refuse an actor who may not see the queue; returns them as a worker, if they are one."""
    who = acting_worker(session, actor)
    if reason := see_refusal(actor, who, place):
        raise refuse(actor, "work.read", None, reason)
    return who


def may_claim(session: Session, actor: Actor, item: WorkItem, place: Place) -> Worker:
    """Refuse an actor who may not take the item themself; the allowed claim of a patient's item is audited."""
    who = acting_worker(session, actor)
    if reason := take_refusal(session, who, item, place):
        raise refuse(actor, "work.claim", item, reason)
    assert who is not None
    if item.patient_id is not None:
        authorize(
            session,
            actor,
            Permission.PATIENT_READ,
            patient_id=item.patient_id,
            resource_type=RESOURCE,
            resource_id=str(item.id),
            reason="claimed from work queue",
        )
    return who


def may_manage(session: Session, actor: Actor, action: str, item: WorkItem, place: Place) -> None:
    who = acting_worker(session, actor)
    if not manages(actor, place, who):
        raise refuse(
            actor,
            action,
            item,
            f"only operations and the lead of {place.unit_name} hand out or take back work in {place.queue.name}",
        )


def may_close_or_release(session: Session, actor: Actor, action: str, item: WorkItem, place: Place) -> None:
    """The person holding the item, or a manager of its queue."""
    who = acting_worker(session, actor)
    if who is not None and who.active and item.assignee_staff_id == who.staff_id:
        return
    if not manages(actor, place, who):
        raise refuse(
            actor,
            action,
            item,
            f"the item is not yours, and only operations and the lead of {place.unit_name} act on someone else's work",
        )
