"""The kernel's own panels on a staff member's home page, registered the way units register theirs
(:class:`careplane.kernel.units.Panel`, shown by :mod:`careplane.kernel.panels`):

- *Your work*, for everyone on staff: the open items they hold, soonest deadline first, with their
  age and time left, and the queues of their teams with what waits there;
- *Across the organisation*, for operations: open and late work per unit, departures whose
  hand-over is not complete, licences and DEA registrations expiring within 60 days;
- *What you will see here*, for an employer's administrator, who sees no patient data.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import Departure, OrgUnit, Team, UnitStatus
from careplane.kernel.org.offboarding import handover
from careplane.kernel.org.staff.licence_expiry import expiring
from careplane.kernel.org.structure.service import staff_names, units_without_lead
from careplane.kernel.units import Panel
from careplane.kernel.web import templates, viewer_zone
from careplane.kernel.work import holdings, policy
from careplane.kernel.work.listing import by_deadline, open_work_counts, rows_for, visible_queues
from careplane.kernel.work.models import WorkItem, WorkItemStatus, WorkQueue

#: How many of a person's own items the home page lists (the queue pages have the rest).
MY_ITEMS_SHOWN = 10

PANELS = (
    Panel(
        key="your-work",
        title="Your work",
        render="careplane.kernel.home_panels:your_work",
        roles=tuple(r.value for r in Role if r.is_staff and r is not Role.EMPLOYER_ADMIN),
        order=10,
    ),
    Panel(
        key="organisation",
        title="Across the organisation",
        render="careplane.kernel.home_panels:organisation",
        permission=Permission.OPERATIONS.value,
        order=20,
    ),
    Panel(
        key="employer-home",
        title="What you will see here",
        render="careplane.kernel.home_panels:employer_home",
        roles=(Role.EMPLOYER_ADMIN.value,),
        order=10,
    ),
)


def your_work(request: Request, session: Session, actor: Actor) -> str:
    who = policy.acting_worker(session, actor)
    held, total, queues = [], 0, []
    if who is not None:
        mine = holdings.held_by(who.staff_id)
        held = list(session.scalars(by_deadline(mine).limit(MY_ITEMS_SHOWN)))
        total = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
        queues = [q for q in visible_queues(session, actor) if q.place.queue.team_id in who.team_ids]
    return templates.get_template("home/_your_work.html").render(
        rows=rows_for(session, actor, held),
        more=max(0, total - MY_ITEMS_SHOWN),
        queues=queues,
        now=clock.now(),
        is_staff_member=who is not None,
        zone=viewer_zone(request),
    )


@dataclass(frozen=True)
class UnitWork:
    unit: OrgUnit
    open_items: int
    unassigned: int
    overdue: int


def open_work_by_unit(session: Session) -> list[UnitWork]:
    now = clock.now()
    counts = {
        unit_id: (total, unassigned, overdue)
        for unit_id, total, unassigned, overdue in session.execute(
            select(Team.unit_id, *open_work_counts(now))
            .join(WorkQueue, WorkQueue.id == WorkItem.queue_id)
            .join(Team, Team.id == WorkQueue.team_id)
            .where(WorkItem.status == WorkItemStatus.OPEN.value)
            .group_by(Team.unit_id)
        )
    }
    units = session.scalars(select(OrgUnit).where(OrgUnit.status == UnitStatus.ACTIVE.value).order_by(OrgUnit.name))
    return [UnitWork(u, *counts.get(u.id, (0, 0, 0))) for u in units]


def organisation(request: Request, session: Session, actor: Actor) -> str:
    incomplete = []
    for departure in session.scalars(select(Departure).order_by(Departure.at.desc()).limit(200)):
        state = handover.status(session, departure)
        if not state.complete:
            incomplete.append((departure, state))
    today = clock.today()
    return templates.get_template("home/_organisation.html").render(
        units=open_work_by_unit(session),
        incomplete=incomplete,
        names=staff_names(session, {d.staff_id for d, _ in incomplete}),
        # Those who appoint leads see the units that lack one.
        without_lead=units_without_lead(session, actor) if actor.can(Permission.ORG_MANAGE) else [],
        expiring=sorted(expiring(session, today), key=lambda e: (e.expires_on, e.user.display_name)),
        today=today,
    )


def employer_home(request: Request, session: Session, actor: Actor) -> str:
    return templates.get_template("home/_employer.html").render()
