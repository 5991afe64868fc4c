"""Licensure queries the units call: who may treat, and who may verify, for a patient in a state.

A licence is valid from its issue date through its expiry date inclusive, judged on the platform
date (:func:`careplane.kernel.clock.today`) each time: a licence expiring today still counts
today and stops counting tomorrow, with nothing to run or restart. Each answer is one query
(``ix_staff_licences_state_expires`` finds the licences of a state by expiry).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from careplane.kernel import clock
from careplane.kernel.identity.models import User, UserRole
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import Licence, StaffMember, StaffStatus
from careplane.kernel.org.staff.service import CLINICIAN_LICENCE_KINDS, PHARMACIST_LICENCE_KINDS


def _working(on: date) -> ColumnElement[bool]:
    """Staff active on ``on`` with an active login."""
    return and_(
        StaffMember.status == StaffStatus.ACTIVE.value,
        StaffMember.start_date <= on,
        or_(StaffMember.end_date.is_(None), StaffMember.end_date >= on),
        User.is_active.is_(True),
    )


def _has_role(role: Role) -> ColumnElement[bool]:
    return exists().where(UserRole.user_id == StaffMember.user_id, UserRole.role == role.value)


def _valid(on: date, kinds: Sequence[str]) -> list[ColumnElement[bool]]:
    """A licence valid on ``on``, of one of ``kinds`` (any kind when empty)."""
    valid = [Licence.expires_on >= on, or_(Licence.issued_on.is_(None), Licence.issued_on <= on)]
    return valid + ([Licence.kind.in_(kinds)] if kinds else [])


def _licensed(state: str, kinds: Sequence[str], on: date) -> ColumnElement[bool]:
    return exists().where(Licence.staff_id == StaffMember.id, Licence.state == state, *_valid(on, kinds))


def clinicians_licensed_in(session: Session, state: str, on: date | None = None) -> list[StaffMember]:
    """Active clinicians holding a treating licence (MD, DO, NP, PA) for ``state`` valid on ``on`` (today)."""
    on = on or clock.today()
    query = (
        select(StaffMember)
        .join(User, User.id == StaffMember.user_id)
        .where(_working(on), _has_role(Role.CLINICIAN), _licensed(state.strip().upper(), CLINICIAN_LICENCE_KINDS, on))
        .order_by(User.display_name, StaffMember.id)
        .options(selectinload(StaffMember.user), selectinload(StaffMember.licences))
    )
    return list(session.scalars(query))


def may_verify_for_state(session: Session, pharmacist_staff_id: uuid.UUID, state: str, on: date | None = None) -> bool:
    """Whether this pharmacist (active, with a pharmacist licence for ``state`` valid on ``on``) may verify."""
    on = on or clock.today()
    query = (
        select(StaffMember.id)
        .join(User, User.id == StaffMember.user_id)
        .where(
            StaffMember.id == pharmacist_staff_id,
            _working(on),
            _has_role(Role.PHARMACIST),
            _licensed(state.strip().upper(), PHARMACIST_LICENCE_KINDS, on),
        )
    )
    return session.scalar(query) is not None


def licensed_states(
    session: Session, staff_id: uuid.UUID, kinds: Sequence[str] = (), on: date | None = None
) -> set[str]:
    """The states where this person holds a licence valid on ``on`` (today), of one of ``kinds``
    (any kind when empty). Whether they still work here is the caller's question."""
    on = on or clock.today()
    query = select(Licence.state).where(Licence.staff_id == staff_id, *_valid(on, kinds)).distinct()
    return set(session.scalars(query))


def clinicians_per_state(session: Session, on: date | None = None) -> dict[str, int]:
    """How many working clinicians hold a treating licence valid on ``on`` (today), per state."""
    on = on or clock.today()
    query = (
        select(Licence.state, func.count(func.distinct(StaffMember.id)))
        .join(StaffMember, StaffMember.id == Licence.staff_id)
        .join(User, User.id == StaffMember.user_id)
        .where(_working(on), _has_role(Role.CLINICIAN), *_valid(on, CLINICIAN_LICENCE_KINDS))
        .group_by(Licence.state)
    )
    return {state: count for state, count in session.execute(query)}
