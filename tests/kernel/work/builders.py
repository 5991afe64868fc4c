"""Builders the work-queue tests share: the six units with a declared visit queue, staff with
licences and teams, and actors as the web edge makes them."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from careplane.kernel import clock, work
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import Licence, StaffMember, TeamMembership
from careplane.kernel.org.staff.service import CLINICIAN_LICENCE_KINDS
from careplane.kernel.org.structure.service import ensure_units
from careplane.kernel.patients.service import register_patient
from careplane.kernel.work import OpenTo, QueueDeclaration
from tests.helpers import make_user
from tests.kernel.org.test_departures import START
from tests.kernel.patients.conftest import patient_data

VISITS = QueueDeclaration(
    "virtual_care.visits",
    "Visit queue",
    unit="virtual_care",
    roles=("clinician",),
    licence_kinds=CLINICIAN_LICENCE_KINDS,
)
VERIFY = QueueDeclaration(
    "pharmacy.verify",
    "Verification queue",
    unit="pharmacy",
    team="Verification",
    open_to=OpenTo.TEAM,
    roles=("pharmacist",),
)


def seed(db: Database) -> dict[str, uuid.UUID]:
    """The six units and the two declared queues; returns queue key -> id."""
    with db.unit_of_work() as s:
        ensure_units(s)
        return {d.key: work.ensure_queue(s, d).id for d in (VISITS, VERIFY)}


def person(
    db: Database,
    role: Role = Role.CLINICIAN,
    *,
    unit: str | None = None,
    licences: tuple[str, ...] = (),
    kind: str = "MD",
    expires_on: date | None = None,
    team_of: uuid.UUID | None = None,
) -> Actor:
    """A staff member (home unit: their role's demo unit, or ``unit``) with licences in ``licences``
    (valid through ``expires_on``, a year from today by default) and, with ``team_of``, a member of
    that queue's team. Returns the actor they are on the web."""
    user = make_user(db, role=role, unit=unit)
    with db.unit_of_work() as s:
        staff = StaffMember(user_id=user.id, start_date=START, credentials=[])
        s.add(staff)
        s.flush()
        for n, state in enumerate(licences):
            s.add(
                Licence(
                    staff_id=staff.id,
                    state=state,
                    kind=kind,
                    number=f"{state}-{uuid.uuid4().hex[:8]}-{n}",
                    expires_on=expires_on or clock.today() + timedelta(days=365),
                )
            )
        if team_of is not None:
            s.add(TeamMembership(team_id=s.get(work.WorkQueue, team_of).team_id, staff_id=staff.id, start_date=START))
        row = s.get(User, user.id)
        return Actor(
            user_id=user.id, label=user.email, roles=row.roles, unit=row.unit, unit_function=row.unit, via="web"
        )


def staff_id(db: Database, actor: Actor) -> uuid.UUID:
    with db.unit_of_work() as s:
        return s.query(StaffMember.id).filter(StaffMember.user_id == actor.user_id).scalar()


def patient(db: Database) -> uuid.UUID:
    with db.unit_of_work() as s:
        data = patient_data(given_name=f"Pat{uuid.uuid4().hex[:6]}")
        return register_patient(s, Actor.for_system("tests"), data, confirm_not_duplicate=True).id


def item(db: Database, queue: uuid.UUID | str, **kwargs) -> uuid.UUID:  # noqa: ANN003
    kwargs.setdefault("kind", "async_visit")
    kwargs.setdefault("title", "Async visit")
    with db.unit_of_work() as s:
        return work.create_item(s, queue, **kwargs).id
