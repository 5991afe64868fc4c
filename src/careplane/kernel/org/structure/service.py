"""Restructuring the organisation: units, teams and work queues, with effective dates and full history.

Every change is applied at once and records its effective date (today unless given; a future
date is kept and shown, it does not postpone the change). Nothing is deleted: a merged unit
keeps its row (status ``merged``, ``merged_into_id``, ``effective_to`` = the day of the merge),
and each change writes one :class:`OrgChange` naming who made it, when and with what effect.
Queues hang off teams and work items off queues, so moving a team moves its queues and their
open work with it.

Each unit does one kind of work, its *function* (one of
:data:`careplane.kernel.units.BUSINESS_FUNCTIONS`), which decides the patient records its staff
may open (:mod:`careplane.kernel.access`). A unit is given its function when created and keeps
it: a split-off unit inherits its parent's, and a merge moves the merged unit's staff (their
``users.unit``) to the surviving unit, whose function then decides their access.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careplane.kernel import clock, units
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.errors import NotFound, ValidationFailed
from careplane.kernel.identity.models import User
from careplane.kernel.org.models import OrgChange, OrgUnit, StaffMember, StaffStatus, Team, UnitStatus
from careplane.kernel.units import BUSINESS_FUNCTIONS
from careplane.kernel.work.models import WorkQueue

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
NAME_MAX = 120

# ---------------------------------------------------------------- seeding


def ensure_units(session: Session) -> list[OrgUnit]:
    """A business unit for each installed unit (:mod:`careplane.kernel.units`), with the first team
    and the queues it declares, each doing the work of its own code. Adds only what is missing."""
    from careplane.kernel.work.queues import QueueDeclaration, ensure_queue  # it builds on this module

    declared = units.installed()
    existing = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_([d.code for d in declared])))}
    today = clock.today()
    for declaration in declared:
        code, name = declaration.code, declaration.name
        if code not in existing:
            unit = OrgUnit(code=code, name=name, function=code, effective_from=today)
            team = Team(name=declaration.first_team, unit=unit, effective_from=today)
            queues = [
                WorkQueue(
                    name=q.name, key=q.key, team=team, roles=sorted(q.roles), licence_kinds=sorted(q.licence_kinds)
                )
                for q in declaration.queues
            ]
            session.add_all([unit, team, *queues])
            session.flush()
            _record(
                session,
                "system:org-seed",
                "unit.created",
                today,
                f"Unit {name} ({code}) created with team {team.name}",
                {
                    "code": code,
                    "name": name,
                    "function": code,
                    "team_id": str(team.id),
                    "team": team.name,
                    "queue": ", ".join(q.name for q in queues),
                },
                unit_id=unit.id,
            )
            existing[code] = unit
            continue
        for queue in declaration.queues:  # a unit seeded before: its queues found by key, or adopted or made
            ensure_queue(
                session,
                QueueDeclaration(
                    key=queue.key,
                    name=queue.name,
                    unit=code,
                    team=declaration.first_team,
                    roles=queue.roles,
                    licence_kinds=queue.licence_kinds,
                ),
            )
    return [existing[d.code] for d in declared]


# ---------------------------------------------------------------- reading


def get_unit(session: Session, unit_id: uuid.UUID, *, lock: bool = False) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id, with_for_update=lock or None)
    if unit is None:
        raise NotFound("No such unit.")
    return unit


def get_team(session: Session, team_id: uuid.UUID, *, lock: bool = False) -> Team:
    team = session.get(Team, team_id, with_for_update=lock or None)
    if team is None:
        raise NotFound("No such team.")
    return team


def list_units(session: Session, actor: Actor) -> list[OrgUnit]:
    """Every unit, active first, then merged/retired ones; by name."""
    require(actor, Permission.ORG_READ)
    units = session.scalars(select(OrgUnit).order_by(OrgUnit.name)).all()
    return sorted(units, key=lambda u: u.status != UnitStatus.ACTIVE)


def active_units(session: Session) -> list[OrgUnit]:
    return list(session.scalars(select(OrgUnit).where(OrgUnit.status == UnitStatus.ACTIVE).order_by(OrgUnit.name)))


def units_without_lead(session: Session, actor: Actor) -> list[OrgUnit]:
    """Active units that nobody leads, by name: someone should be appointed."""
    require(actor, Permission.ORG_READ)
    return list(
        session.scalars(
            select(OrgUnit)
            .where(OrgUnit.status == UnitStatus.ACTIVE, OrgUnit.lead_staff_id.is_(None))
            .order_by(OrgUnit.name)
        )
    )


def active_staff(session: Session) -> list[tuple[StaffMember, str]]:
    """Staff who may lead a unit, with their names, by name."""
    rows = session.execute(
        select(StaffMember, User.display_name)
        .join(User, User.id == StaffMember.user_id)
        .where(StaffMember.status == StaffStatus.ACTIVE, User.is_active.is_(True))
        .order_by(User.display_name)
    )
    return [(staff, name) for staff, name in rows]


def history(session: Session, actor: Actor, *, unit_id: uuid.UUID | None = None, limit: int = 200) -> list[OrgChange]:
    """Restructuring history, newest first; with ``unit_id`` only the changes that concern that unit."""
    require(actor, Permission.ORG_READ)
    query = select(OrgChange).order_by(OrgChange.at.desc(), OrgChange.id)
    if unit_id is not None:
        query = query.where(or_(OrgChange.unit_id == unit_id, OrgChange.other_unit_id == unit_id))
    return list(session.scalars(query.limit(limit)))


# ---------------------------------------------------------------- units


def create_unit(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    function: str | None,
    lead_staff_id: uuid.UUID | None = None,
    effective_on: date | None = None,
) -> OrgUnit:
    """A new unit doing ``function``'s kind of work (a key of BUSINESS_FUNCTIONS), which decides
    the patient records its staff may open; it is kept for the unit's life."""
    require(actor, Permission.ORG_MANAGE)
    code, name = (code or "").strip().lower(), _clean(name)
    function = (function or "").strip().lower()
    errors = _code_errors(session, code, "code") | _unit_name_errors(session, name, "name")
    if msg := _function_error(function):
        errors["function"] = msg
    lead = _lead(session, lead_staff_id, errors)
    when = _effective(effective_on)
    _raise(errors)
    unit = _insert_unit(session, code, name, function, when, "code")
    unit.lead_staff_id = lead.id if lead else None
    _record(
        session,
        actor.label,
        "unit.created",
        when,
        f"Unit {name} ({code}) created; kind of work: {BUSINESS_FUNCTIONS[function]}",
        {"code": code, "name": name, "function": function, "lead_staff_id": _s(unit.lead_staff_id)},
        unit_id=unit.id,
    )
    return unit


def rename_unit(
    session: Session, actor: Actor, unit_id: uuid.UUID, name: str, *, effective_on: date | None = None
) -> OrgUnit:
    require(actor, Permission.ORG_MANAGE)
    unit = _active_unit(session, unit_id)
    name = _clean(name)
    errors = _unit_name_errors(session, name, "name", other_than=unit)
    if not errors and name == unit.name:
        errors["name"] = f"The unit is already called {name}."
    when = _effective(effective_on, not_before=unit.effective_from, errors=errors)
    _raise(errors)
    old, unit.name = unit.name, name
    _record(
        session,
        actor.label,
        "unit.renamed",
        when,
        f"Unit {old} renamed to {name}",
        {"code": unit.code, "from": old, "to": name},
        unit_id=unit.id,
    )
    return unit


def set_unit_lead(
    session: Session,
    actor: Actor,
    unit_id: uuid.UUID,
    lead_staff_id: uuid.UUID | None,
    *,
    effective_on: date | None = None,
) -> OrgUnit:
    """Make a staff member the unit's lead, or leave it without one (``None``)."""
    require(actor, Permission.ORG_MANAGE)
    unit = _active_unit(session, unit_id)
    errors: dict[str, str] = {}
    lead = _lead(session, lead_staff_id, errors)
    if not errors and unit.lead_staff_id == lead_staff_id:
        errors["lead_staff_id"] = "That is already the unit's lead."
    when = _effective(effective_on, not_before=unit.effective_from, errors=errors)
    _raise(errors)
    previous, unit.lead_staff_id = unit.lead_staff_id, lead.id if lead else None
    names = staff_names(session, [i for i in (previous, unit.lead_staff_id) if i])
    new_name = names.get(unit.lead_staff_id) if unit.lead_staff_id else None
    summary = f"{new_name} now leads {unit.name}" if new_name else f"{unit.name} has no lead"
    _record(
        session,
        actor.label,
        "unit.lead_changed",
        when,
        summary,
        {
            "code": unit.code,
            "from": _s(previous),
            "from_name": names.get(previous) if previous else None,
            "to": _s(unit.lead_staff_id),
            "to_name": new_name,
        },
        unit_id=unit.id,
    )
    return unit


def merge_units(
    session: Session,
    actor: Actor,
    unit_id: uuid.UUID,
    into_unit_id: uuid.UUID | None,
    *,
    effective_on: date | None = None,
) -> OrgUnit:
    """Fold a unit into another: all its teams (with their queues and work) move; it is kept, marked merged.

    Its people move too: everyone whose home unit (``users.unit``) is the merged unit's code now
    works in the surviving unit, and that unit's function decides which patient records they may
    open from then on. The history entry counts them and lists their user ids.
    Returns the surviving unit.
    """
    require(actor, Permission.ORG_MANAGE)
    # Lock both rows in a fixed order so two opposite merges cannot interleave (PostgreSQL).
    for i in sorted(i for i in {unit_id, into_unit_id} if i):
        session.get(OrgUnit, i, with_for_update=True)
    unit = _active_unit(session, unit_id)
    errors: dict[str, str] = {}
    into = session.get(OrgUnit, into_unit_id) if into_unit_id else None
    if into_unit_id is None:
        errors["into_unit_id"] = "Choose the unit to merge into."
    elif into_unit_id == unit_id:
        errors["into_unit_id"] = "A unit cannot be merged into itself."
    elif into is None:
        errors["into_unit_id"] = "No such unit."
    elif into.status != UnitStatus.ACTIVE:
        errors["into_unit_id"] = f"{into.name} is {into.status}; choose an active unit."
    not_before = max(unit.effective_from, into.effective_from) if into else unit.effective_from
    when = _effective(effective_on, not_before=not_before, errors=errors)
    _raise(errors)
    assert into is not None
    teams = _active_teams(session, unit.id)
    for team in teams:
        team.unit_id = into.id
    people = _move_people(session, unit.code, into.code)
    unit.status, unit.merged_into_id, unit.effective_to = UnitStatus.MERGED.value, into.id, when
    session.flush()
    _record(
        session,
        actor.label,
        "units.merged",
        when,
        f"{unit.name} merged into {into.name}"
        f" ({_count(len(teams), 'team')} and {_count(len(people), 'person', 'people')} moved)",
        {
            "unit_code": unit.code,
            "unit_name": unit.name,
            "into_code": into.code,
            "into_name": into.name,
            "teams": [{"id": str(t.id), "name": t.name} for t in teams],
            "people_moved": len(people),
            "user_ids": [str(i) for i in people],
            "function": unit.function,
            "into_function": into.function,
        },
        unit_id=unit.id,
        other_unit_id=into.id,
    )
    return into


def split_unit(
    session: Session,
    actor: Actor,
    unit_id: uuid.UUID,
    *,
    new_code: str,
    new_name: str,
    team_ids: Sequence[uuid.UUID],
    effective_on: date | None = None,
) -> OrgUnit:
    """Start a new unit that takes the chosen teams of an existing one. Returns the new unit.

    The new unit inherits the parent's function (its kind of work). A split moves teams, not
    people: everyone's home unit (``users.unit``) stays the parent's, whose work is the same, so
    no one's access to patient records changes; team memberships say who works in the new unit.
    """
    require(actor, Permission.ORG_MANAGE)
    get_unit(session, unit_id, lock=True)
    unit = _active_unit(session, unit_id)
    new_code, new_name = (new_code or "").strip().lower(), _clean(new_name)
    errors = _code_errors(session, new_code, "new_code") | _unit_name_errors(session, new_name, "new_name")
    own = {t.id: t for t in _active_teams(session, unit.id)}
    chosen = list(dict.fromkeys(team_ids))
    if not chosen:
        errors["team_ids"] = "Choose at least one team for the new unit."
    elif any(i not in own for i in chosen):
        errors["team_ids"] = f"Choose teams that belong to {unit.name}."
    when = _effective(effective_on, not_before=unit.effective_from, errors=errors)
    _raise(errors)
    new = _insert_unit(session, new_code, new_name, unit.function, when, "new_code")
    teams = [own[i] for i in chosen]
    for team in teams:
        team.unit_id = new.id
    session.flush()
    _record(
        session,
        actor.label,
        "unit.split",
        when,
        f"{new_name} split from {unit.name} with {', '.join(t.name for t in teams)};"
        f" kind of work: {function_label(unit.function)} (inherited)",
        {
            "from_code": unit.code,
            "from_name": unit.name,
            "new_code": new_code,
            "new_name": new_name,
            "teams": [{"id": str(t.id), "name": t.name} for t in teams],
            "function": unit.function,
            "function_inherited_from": unit.code,
        },
        unit_id=new.id,
        other_unit_id=unit.id,
    )
    return new


# ---------------------------------------------------------------- teams and queues


def create_team(
    session: Session, actor: Actor, unit_id: uuid.UUID, name: str, *, effective_on: date | None = None
) -> Team:
    require(actor, Permission.ORG_MANAGE)
    errors: dict[str, str] = {}
    unit = _target_unit(session, unit_id, "unit_id", errors)
    name = _clean(name)
    if msg := _name_error(name):
        errors["name"] = msg
    elif unit is not None and _team_named(session, unit.id, name):
        errors["name"] = f"{unit.name} already has a team called {name}."
    when = _effective(effective_on, not_before=unit.effective_from if unit else None, errors=errors)
    _raise(errors)
    assert unit is not None
    team = Team(name=name, unit_id=unit.id, effective_from=when)
    session.add(team)
    session.flush()
    _record(
        session,
        actor.label,
        "team.created",
        when,
        f"Team {name} created in {unit.name}",
        {"team_id": str(team.id), "team": name, "unit_code": unit.code},
        unit_id=unit.id,
    )
    return team


def create_queue(session: Session, actor: Actor, team_id: uuid.UUID, name: str) -> WorkQueue:
    require(actor, Permission.ORG_MANAGE)
    errors: dict[str, str] = {}
    team = session.get(Team, team_id)
    if team is None or team.effective_to is not None:
        errors["team_id"] = "Choose a current team."
    name = _clean(name)
    if msg := _name_error(name):
        errors["name"] = msg
    elif team is not None and session.scalar(
        select(WorkQueue.id).where(WorkQueue.team_id == team.id, func.lower(WorkQueue.name) == name.lower())
    ):
        errors["name"] = f"{team.name} already has a queue called {name}."
    _raise(errors)
    assert team is not None
    queue = WorkQueue(name=name, team_id=team.id)
    session.add(queue)
    session.flush()
    today = clock.today()
    _record(
        session,
        actor.label,
        "queue.created",
        today,
        f"Queue {name} created for team {team.name}",
        {"queue_id": str(queue.id), "queue": name, "team_id": str(team.id), "team": team.name},
        unit_id=team.unit_id,
    )
    return queue


def move_team(
    session: Session, actor: Actor, team_id: uuid.UUID, unit_id: uuid.UUID | None, *, effective_on: date | None = None
) -> Team:
    """Move a team, with its queues and their work, to another unit."""
    require(actor, Permission.ORG_MANAGE)
    # Units first, in id order, then the team: the same order a merge takes its locks in (no deadlock).
    source_id = get_team(session, team_id).unit_id
    for i in sorted(i for i in {source_id, unit_id} if i):
        session.get(OrgUnit, i, with_for_update=True)
    team = get_team(session, team_id, lock=True)
    errors: dict[str, str] = {}
    if team.effective_to is not None:
        errors["team_id"] = f"{team.name} is no longer a current team."
    target = _target_unit(session, unit_id, "unit_id", errors)
    if target is not None and target.id == team.unit_id:
        errors["unit_id"] = f"{team.name} is already in {target.name}."
    elif target is not None and _team_named(session, target.id, team.name):
        errors["unit_id"] = f"{target.name} already has a team called {team.name}."
    when = _effective(effective_on, not_before=target.effective_from if target else None, errors=errors)
    _raise(errors)
    assert target is not None
    source = session.get(OrgUnit, team.unit_id)
    assert source is not None
    team.unit_id = target.id
    session.flush()
    session.expire(team, ["unit"])
    queues = session.scalars(select(WorkQueue.name).where(WorkQueue.team_id == team.id).order_by(WorkQueue.name)).all()
    _record(
        session,
        actor.label,
        "team.moved",
        when,
        f"Team {team.name} moved from {source.name} to {target.name}",
        {
            "team_id": str(team.id),
            "team": team.name,
            "from_code": source.code,
            "to_code": target.code,
            "queues": list(queues),
        },
        unit_id=source.id,
        other_unit_id=target.id,
    )
    return team


# ---------------------------------------------------------------- rules and helpers


def _clean(name: str | None) -> str:
    return " ".join((name or "").split())


def _name_error(name: str) -> str | None:
    if not name:
        return "Enter a name."
    if len(name) > NAME_MAX:
        return f"Use at most {NAME_MAX} characters."
    return None


def _code_errors(session: Session, code: str, field: str) -> dict[str, str]:
    if not code:
        return {field: "Enter a code."}
    if not CODE_PATTERN.fullmatch(code):
        return {field: "Use 2 to 40 lower-case letters, digits or underscores, starting with a letter."}
    if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)):
        return {field: f"The code {code} is taken (codes are never reused)."}
    return {}


def _unit_name_errors(session: Session, name: str, field: str, *, other_than: OrgUnit | None = None) -> dict[str, str]:
    if msg := _name_error(name):
        return {field: msg}
    query = select(OrgUnit.id).where(OrgUnit.status == UnitStatus.ACTIVE, func.lower(OrgUnit.name) == name.lower())
    if other_than is not None:
        query = query.where(OrgUnit.id != other_than.id)
    if session.scalar(query):
        return {field: f"There is already a unit called {name}."}
    return {}


def _team_named(session: Session, unit_id: uuid.UUID, name: str) -> bool:
    return (
        session.scalar(
            select(Team.id).where(
                Team.unit_id == unit_id, Team.effective_to.is_(None), func.lower(Team.name) == name.lower()
            )
        )
        is not None
    )


def _active_teams(session: Session, unit_id: uuid.UUID) -> list[Team]:
    return list(
        session.scalars(
            select(Team)
            .where(Team.unit_id == unit_id, Team.effective_to.is_(None))
            .order_by(Team.name)
            .with_for_update()
        )
    )


def _active_unit(session: Session, unit_id: uuid.UUID) -> OrgUnit:
    unit = get_unit(session, unit_id)
    if unit.status != UnitStatus.ACTIVE:
        raise ValidationFailed({"unit_id": f"{unit.name} is {unit.status}; it can no longer be changed."})
    return unit


def _target_unit(session: Session, unit_id: uuid.UUID | None, field: str, errors: dict[str, str]) -> OrgUnit | None:
    # Locked, so a merge running at the same time cannot leave this change pointing at a merged unit.
    unit = session.get(OrgUnit, unit_id, with_for_update=True) if unit_id else None
    if unit is None:
        errors[field] = "Choose a unit."
        return None
    if unit.status != UnitStatus.ACTIVE:
        errors[field] = f"{unit.name} is {unit.status}; choose an active unit."
        return None
    return unit


def _lead(session: Session, staff_id: uuid.UUID | None, errors: dict[str, str]) -> StaffMember | None:
    if staff_id is None:
        return None
    staff = session.get(StaffMember, staff_id)
    if staff is None or staff.status != StaffStatus.ACTIVE:
        errors["lead_staff_id"] = "Choose a current staff member."
        return None
    return staff


def _effective(
    effective_on: date | None, *, not_before: date | None = None, errors: dict[str, str] | None = None
) -> date:
    when = effective_on or clock.today()
    if errors is not None and not_before is not None and when < not_before:
        errors["effective_on"] = f"Choose a date on or after {not_before.isoformat()}, when the unit began."
    return when


def _function_error(function: str) -> str | None:
    if not function:
        return "Choose what kind of work the unit does."
    if function not in BUSINESS_FUNCTIONS:
        return f"Choose one of the kinds of work: {', '.join(BUSINESS_FUNCTIONS.values())}."
    return None


def function_label(function: str | None) -> str:
    """How a unit's function reads to people, e.g. "Employer Benefits"; "Not set" for a unit without one."""
    return BUSINESS_FUNCTIONS.get(function or "", "Not set")


def people_in_unit(session: Session, code: str) -> int:
    """How many logins name ``code`` as their home unit (``users.unit``)."""
    return session.scalar(select(func.count()).select_from(User).where(User.unit == code)) or 0


def _move_people(session: Session, from_code: str, to_code: str) -> list[uuid.UUID]:
    """Give everyone whose home unit is ``from_code`` the home unit ``to_code``; returns their user ids."""
    ids = list(session.scalars(select(User.id).where(User.unit == from_code).order_by(User.id).with_for_update()))
    if ids:
        session.execute(
            update(User).where(User.id.in_(ids)).values(unit=to_code),
            execution_options={"synchronize_session": "fetch"},
        )
    return ids


def _insert_unit(session: Session, code: str, name: str, function: str | None, when: date, field: str) -> OrgUnit:
    unit = OrgUnit(code=code, name=name, function=function, effective_from=when)
    try:
        with session.begin_nested():
            session.add(unit)
            session.flush()
    except IntegrityError:
        # Another request took the code between our check and our insert.
        raise ValidationFailed({field: f"The code {code} is taken (codes are never reused)."}) from None
    return unit


def staff_names(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.execute(
        select(StaffMember.id, User.display_name)
        .join(User, User.id == StaffMember.user_id)
        .where(StaffMember.id.in_(ids))
    )
    return {sid: name for sid, name in rows}


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationFailed(errors)


def _record(
    session: Session,
    actor_label: str,
    kind: str,
    effective_on: date,
    summary: str,
    details: dict[str, Any],
    *,
    unit_id: uuid.UUID | None = None,
    other_unit_id: uuid.UUID | None = None,
) -> OrgChange:
    change = OrgChange(
        at=clock.now(),
        effective_on=effective_on,
        actor_label=actor_label,
        kind=kind,
        summary=summary,
        details=details,
        unit_id=unit_id,
        other_unit_id=other_unit_id,
    )
    session.add(change)
    return change


def _s(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
