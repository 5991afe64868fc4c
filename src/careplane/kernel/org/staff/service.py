"""Staff use cases: hiring (a staff record for a login), credentials, NPI and DEA, moving a person to
another home unit, team memberships, state licences. Pages, the JSON API, the CSV import and the
CLI all come through here.

Field checks are pure (:func:`clean_staff`, :func:`clean_licence`) so the CSV import can check
every row before touching the database; :func:`staff_conflicts` adds the checks that need it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.audit.record import record
from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.form_dates import parse_form_date
from careplane.kernel.identity.models import User, UserRole
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user, find_by_email
from careplane.kernel.org.models import (
    Licence,
    OrgChange,
    OrgUnit,
    StaffMember,
    StaffStatus,
    Team,
    TeamMembership,
    UnitStatus,
)
from careplane.kernel.patients.validation import US_STATES, check_email, check_state
from careplane.kernel.units import BUSINESS_FUNCTIONS
from careplane.kernel.work.models import WorkItem, WorkItemStatus, WorkQueue
from careplane.settings import Settings
from careplane.standards import dea as dea_rules
from careplane.standards.npi import npi_problem

#: Professional credentials we record, in their usual spelling.
CREDENTIALS: tuple[str, ...] = (
    "MD",
    "DO",
    "NP",
    "APRN",
    "PA",
    "PA-C",
    "RN",
    "LPN",
    "PharmD",
    "RPh",
    "CPhT",
    "BCPS",
    "CPC",
    "CCS",
)
_CREDENTIAL_BY_KEY = {c.upper(): c for c in CREDENTIALS}

#: Licence kinds that let a clinician treat (and prescribe for) a patient in a state.
CLINICIAN_LICENCE_KINDS: tuple[str, ...] = ("MD", "DO", "NP", "PA")
#: Licence kinds that let a pharmacist verify for a patient in a state.
PHARMACIST_LICENCE_KINDS: tuple[str, ...] = ("RPh", "PharmD")
LICENCE_KINDS: tuple[str, ...] = CLINICIAN_LICENCE_KINDS + PHARMACIST_LICENCE_KINDS + ("RN", "CPhT")
_KIND_BY_KEY = {k.upper(): k for k in LICENCE_KINDS}

#: Roles that need an NPI (they treat or verify for patients).
NPI_ROLES = frozenset({Role.CLINICIAN, Role.PHARMACIST})
#: Roles only someone who manages users (an administrator) may give.
PRIVILEGED_ROLES = frozenset({Role.OPERATIONS_LEAD, Role.ADMINISTRATOR})

#: Licences (and DEA registrations) this close to expiry are flagged, and their holders warned.
WARN_DAYS = 60


# ---------------------------------------------------------------- pure checks


def parse_date(value: Any, *, required: bool, label: str) -> tuple[date | None, str | None]:
    if isinstance(value, date):
        return value, None
    text = "" if value is None else str(value).strip()
    if not text:
        return None, (f"Enter the {label}." if required else None)
    try:
        return parse_form_date(text), None
    except ValueError as exc:
        return None, str(exc).replace("the date", f"the {label}")


def split_list(value: Any) -> list[str]:
    """A list given as a list, or as text separated by semicolons (CSV) or commas (forms)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", ";").split(";")
    return [str(v).strip() for v in value if str(v).strip()]


@dataclass
class StaffData:
    email: str = ""
    display_name: str = ""
    roles: list[Role] = field(default_factory=list)
    unit: str | None = None
    team: str | None = None
    credentials: list[str] = field(default_factory=list)
    npi: str | None = None
    dea_number: str | None = None
    dea_expires_on: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    #: Not errors: things a person should look at (e.g. a DEA letter that does not match the name).
    warnings: list[str] = field(default_factory=list)


def clean_staff(data: Mapping[str, Any]) -> tuple[StaffData, dict[str, str]]:
    """Check the fields of a new staff member; returns the clean values and every problem by field."""
    out = StaffData()
    errors: dict[str, str] = {}
    email, problem = check_email(data.get("email"))
    if problem or not email:
        errors["email"] = problem or "Enter the person's e-mail address (their login)."
    out.email = email or ""
    out.display_name = str(data.get("display_name") or "").strip()
    if not out.display_name:
        errors["display_name"] = "Enter the person's name."
    elif len(out.display_name) > 200:
        errors["display_name"] = "Use at most 200 characters."
    for value in split_list(data.get("roles")):
        try:
            role = Role(value.strip().lower().replace(" ", "_"))
        except ValueError:
            errors["roles"] = f"Unknown role {value!r}; use: {', '.join(r.value for r in Role if r.is_staff)}."
            continue
        if not role.is_staff or role is Role.EMPLOYER_ADMIN:
            errors["roles"] = f"{role.label} is not a role of an employee."
        elif role not in out.roles:
            out.roles.append(role)
    if not out.roles and "roles" not in errors:
        errors["roles"] = "Choose at least one role."
    out.unit = str(data.get("unit") or "").strip() or None
    out.team = str(data.get("team") or "").strip() or None
    if out.team and not out.unit:
        errors["team"] = "Give the unit the team belongs to."
    for value in split_list(data.get("credentials")):
        canonical = _CREDENTIAL_BY_KEY.get(value.upper())
        if canonical is None:
            errors["credentials"] = f"Unknown credential {value!r}; use: {', '.join(CREDENTIALS)}."
        elif canonical not in out.credentials:
            out.credentials.append(canonical)
    npi = str(data.get("npi") or "").strip() or None
    if npi is not None or NPI_ROLES & set(out.roles):
        problem = npi_problem(npi)
        if problem:
            errors["npi"] = problem if npi else "Clinicians and pharmacists need their 10-digit NPI."
    out.npi = npi
    dea = str(data.get("dea_number") or "").strip() or None
    out.dea_expires_on, problem = parse_date(
        data.get("dea_expires_on"), required=dea is not None, label="DEA registration's expiry date"
    )
    if problem:
        errors["dea_expires_on"] = problem
    if dea is not None:
        check = dea_rules.check_dea(dea, dea_rules.last_name_of(out.display_name))
        if check.error:
            errors["dea_number"] = check.error
        elif Role.CLINICIAN not in out.roles and "roles" not in errors:
            errors["dea_number"] = "Only prescribing clinicians hold a DEA registration here."
        if check.warning:
            out.warnings.append(check.warning)
        out.dea_number = check.number
    elif out.dea_expires_on is not None:
        errors["dea_number"] = "Give the DEA number the expiry date belongs to."
    out.start_date, problem = parse_date(data.get("start_date"), required=False, label="start date")
    if problem:
        errors["start_date"] = problem
    out.start_date = out.start_date or clock.today()
    out.end_date, problem = parse_date(data.get("end_date"), required=False, label="end date")
    if problem:
        errors["end_date"] = problem
    elif out.end_date is not None and out.end_date < out.start_date:
        errors["end_date"] = "The end date cannot be before the start date."
    return out, errors


@dataclass
class LicenceData:
    state: str = ""
    number: str = ""
    kind: str = ""
    expires_on: date | None = None
    issued_on: date | None = None


def clean_licence(data: Mapping[str, Any], prefix: str = "") -> tuple[LicenceData, dict[str, str]]:
    """Check a licence's fields; error keys carry ``prefix`` (e.g. ``licence_``) to name CSV columns."""
    out = LicenceData()
    errors: dict[str, str] = {}
    state, problem = check_state(data.get(f"{prefix}state"))
    if problem or not state:
        errors[f"{prefix}state"] = problem or "Choose the state that issued the licence."
    out.state = state or ""
    out.number = str(data.get(f"{prefix}number") or "").strip().upper()
    if not out.number:
        errors[f"{prefix}number"] = "Enter the licence number."
    elif len(out.number) > 40:
        errors[f"{prefix}number"] = "Use at most 40 characters."
    kind = _KIND_BY_KEY.get(str(data.get(f"{prefix}kind") or "").strip().upper())
    if kind is None:
        errors[f"{prefix}kind"] = f"Choose the kind of licence: {', '.join(LICENCE_KINDS)}."
    out.kind = kind or ""
    out.expires_on, problem = parse_date(data.get(f"{prefix}expires_on"), required=True, label="expiry date")
    if problem:
        errors[f"{prefix}expires_on"] = problem
    out.issued_on, problem = parse_date(data.get(f"{prefix}issued_on"), required=False, label="issue date")
    if problem:
        errors[f"{prefix}issued_on"] = problem
    elif out.issued_on and out.expires_on and out.issued_on > out.expires_on:
        errors[f"{prefix}issued_on"] = "A licence cannot be issued after it expires."
    return out, errors


# ---------------------------------------------------------------- checks against the database


def active_unit(session: Session, code: str) -> OrgUnit | None:
    """The active unit with this code, share-locked until the caller's transaction ends (``FOR SHARE``
    on PostgreSQL; SQLite's single writer does the same). Whoever puts a person into the unit holds
    it: a merge of the unit (which locks it for update) waits, then moves that person along with
    the rest; a merge that came first makes this return ``None``, so no one lands in a merged unit."""
    return session.scalar(
        select(OrgUnit)
        .where(OrgUnit.code == code, OrgUnit.status == UnitStatus.ACTIVE.value)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )


def active_team(session: Session, unit: OrgUnit, name: str) -> Team | None:
    return session.scalar(
        select(Team).where(Team.unit_id == unit.id, func.lower(Team.name) == name.lower(), Team.effective_to.is_(None))
    )


def staff_conflicts(session: Session, actor: Actor, data: StaffData) -> dict[str, str]:
    """Problems only the database can tell: a taken NPI, an e-mail already on staff, an unknown unit or team."""
    errors: dict[str, str] = {}
    if data.email:
        user = find_by_email(session, data.email)
        if user is not None:
            if user.patient_id is not None or Role.PATIENT in user.roles:
                errors["email"] = "This e-mail belongs to a patient account; staff need their own login."
            elif session.scalar(select(StaffMember.id).where(StaffMember.user_id == user.id)):
                errors["email"] = "This person already has a staff record."
    if data.npi and session.scalar(select(StaffMember.id).where(StaffMember.npi == data.npi)):
        errors["npi"] = "Another staff member already has this NPI."
    if set(data.roles) & PRIVILEGED_ROLES and not actor.can(Permission.USER_MANAGE):
        errors["roles"] = "Only an administrator may give the operations lead or administrator role."
    if data.unit:
        unit = active_unit(session, data.unit)
        if unit is None:
            errors["unit"] = f"No active unit with the code {data.unit!r}."
        elif data.team and active_team(session, unit, data.team) is None:
            errors["team"] = f"Unit {unit.name} has no team called {data.team!r}."
    return errors


def licence_conflict(session: Session, data: LicenceData, prefix: str = "") -> dict[str, str]:
    taken = session.scalar(
        select(Licence.id).where(Licence.state == data.state, Licence.kind == data.kind, Licence.number == data.number)
    )
    return {f"{prefix}number": f"{data.state} {data.kind} licence {data.number} is already on record."} if taken else {}


# ---------------------------------------------------------------- changes


def hire(session: Session, actor: Actor, values: Mapping[str, Any], *, settings: Settings | None = None) -> StaffMember:
    """Create the staff record for a person, and their login when there is none yet (invited by e-mail
    when ``settings`` is given). Roles live on the login; a team given joins them to it from the start date."""
    require(actor, Permission.ORG_MANAGE)
    data, errors = clean_staff(values)
    errors = {**staff_conflicts(session, actor, data), **errors}
    if errors:
        raise ValidationFailed(errors)
    return create_staff(session, actor, data, settings=settings)


def create_staff(session: Session, actor: Actor, data: StaffData, *, settings: Settings | None = None) -> StaffMember:
    """Write an already-checked :class:`StaffData` (see :func:`hire`)."""
    require(actor, Permission.ORG_MANAGE)
    user = find_by_email(session, data.email)
    invited = user is None
    if user is None:
        user = create_user(session, email=data.email, display_name=data.display_name, roles=data.roles, unit=data.unit)
    else:
        have = user.roles
        user.role_rows.extend(UserRole(role=r.value) for r in data.roles if r not in have)
        user.unit = user.unit or data.unit
    staff = StaffMember(
        user_id=user.id,
        npi=data.npi,
        credentials=list(data.credentials),
        dea_number=data.dea_number,
        dea_expires_on=data.dea_expires_on,
        start_date=data.start_date or clock.today(),
        end_date=data.end_date,
        status=StaffStatus.ACTIVE.value,
    )
    session.add(staff)
    session.flush()
    if data.team and data.unit:
        unit = active_unit(session, data.unit)
        team = active_team(session, unit, data.team) if unit else None
        if team is not None:
            session.add(TeamMembership(team_id=team.id, staff_id=staff.id, start_date=staff.start_date))
    record(session, actor, "org.staff.create", resource_type="staff", resource_id=str(staff.id))
    if invited and settings is not None:
        from careplane.kernel.identity.service import INVITATION_TTL, mail_password_link

        mail_password_link(
            session,
            user,
            settings,
            ttl=INVITATION_TTL,
            subject="Your careplane account",
            intro=f"An account has been made for you at careplane "
            f"({', '.join(r.label for r in data.roles)}). Choose your password here; you will "
            "then set up two-step verification:",
        )
    return staff


def update_staff(session: Session, actor: Actor, staff_id: uuid.UUID, values: Mapping[str, Any]) -> StaffMember:
    """Change credentials, NPI, DEA registration or end date (only the fields given)."""
    require(actor, Permission.ORG_MANAGE)
    staff = _staff(session, staff_id, lock=True)
    current = {
        "email": staff.user.email,
        "display_name": staff.user.display_name,
        "roles": [r.value for r in staff.user.roles],
        "credentials": staff.credentials,
        "npi": staff.npi,
        "dea_number": staff.dea_number,
        "dea_expires_on": staff.dea_expires_on,
        "start_date": staff.start_date,
        "end_date": staff.end_date,
    }
    editable = ("credentials", "npi", "dea_number", "dea_expires_on", "end_date")
    unknown = set(values) - set(editable)
    if unknown:
        raise ValidationFailed(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    data, errors = clean_staff({**current, **values})
    errors = {k: v for k, v in errors.items() if k in editable}
    if (
        data.npi
        and data.npi != staff.npi
        and session.scalar(select(StaffMember.id).where(StaffMember.npi == data.npi, StaffMember.id != staff.id))
    ):
        errors["npi"] = "Another staff member already has this NPI."
    if errors:
        raise ValidationFailed(errors)
    changed = []
    for name in editable:
        if name in values and getattr(staff, name) != getattr(data, name):
            setattr(staff, name, getattr(data, name))
            changed.append(name)
    record(
        session,
        actor,
        "org.staff.update",
        resource_type="staff",
        resource_id=str(staff.id),
        reason=f"changed {', '.join(changed) or 'nothing'}",
    )
    return staff


#: How each patient permission reads in a sentence, in the order a sentence lists them.
_ACCESS_WORDS: tuple[tuple[Permission, str], ...] = (
    (Permission.PATIENT_SEARCH, "find"),
    (Permission.PATIENT_READ, "read"),
    (Permission.PATIENT_UPDATE, "update"),
    (Permission.PATIENT_REGISTER, "register"),
    (Permission.PATIENT_MERGE, "merge"),
)


def patient_access(roles: Iterable[Role], unit_code: str | None, function: str | None) -> list[Permission]:
    """The patient permissions a person with ``roles`` holds in a unit doing ``function``'s work
    (decided by :mod:`careplane.kernel.access`, as on their next request)."""
    probe = Actor(user_id=None, label="", roles=frozenset(roles), unit=unit_code, unit_function=function)
    return [permission for permission, _ in _ACCESS_WORDS if probe.can(permission)]


def describe_access(permissions: Iterable[Permission]) -> str:
    """E.g. "find and read patient records", or "open no patient records"."""
    held = set(permissions)
    words = [word for permission, word in _ACCESS_WORDS if permission in held]
    if not words:
        return "open no patient records"
    listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
    return f"{listed} patient records"


def move_staff(
    session: Session, actor: Actor, staff_id: uuid.UUID, unit_code: str | None, *, effective_on: date | None = None
) -> OrgChange:
    """Give a staff member another home unit (``users.unit``); returns the history entry.

    The move applies at once: the next request they make is decided by the new unit's kind of
    work (their login's unit is read on every request), so a pharmacist moved to Health Technology
    opens no patient record from then on. ``effective_on`` (today if not given) is recorded with
    the change, as for restructuring. Team memberships and the work assigned to them stay as they
    are. Needs org.manage; the unit must be active and not the one they are in; a person who has
    left cannot be moved (:class:`Conflict`). Recorded in both units' history (``staff.moved``)
    and in the audit log (``org.staff.update``).
    """
    require(actor, Permission.ORG_MANAGE)
    # Locks: the staff row first (as offboarding takes it), then the unit before the login (as a merge
    # takes them), so none of the three waits on the others in a circle.
    staff = _staff(session, staff_id, lock=True)
    if staff.status != StaffStatus.ACTIVE.value:
        user = session.get(User, staff.user_id)
        who = user.display_name if user else "This staff member"
        raise Conflict(
            f"{who} has left (offboarded{f' on {staff.end_date}' if staff.end_date else ''}); "
            "a departed staff member cannot be moved to another unit."
        )
    code = (unit_code or "").strip().lower()
    errors: dict[str, str] = {}
    target = active_unit(session, code) if code else None
    user = (
        session.execute(
            select(User)
            .where(User.id == staff.user_id)
            .with_for_update(of=User)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one()
    )
    if not code:
        errors["unit"] = "Choose the unit they move to."
    elif target is None:
        other = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        errors["unit"] = (
            f"{other.name} is {other.status}; choose an active unit."
            if other
            else f"No active unit with the code {code!r}."
        )
    elif target.code == user.unit:
        errors["unit"] = f"{user.display_name} already works in {target.name}."
    when = effective_on or clock.today()
    if when < staff.start_date:
        errors["effective_on"] = f"Choose a date on or after {staff.start_date.isoformat()}, when they started."
    elif target is not None and when < target.effective_from:
        errors["effective_on"] = (
            f"Choose a date on or after {target.effective_from.isoformat()}, when {target.name} began."
        )
    if errors:
        raise ValidationFailed(errors)
    assert target is not None
    source = session.scalar(select(OrgUnit).where(OrgUnit.code == user.unit)) if user.unit else None
    from_code, from_name = user.unit, source.name if source else (user.unit or "no unit")
    from_function = source.function if source else None
    user.unit = target.code
    access = patient_access(user.roles, target.code, target.function)
    kind_of_work = BUSINESS_FUNCTIONS.get(target.function or "", "Not set")
    change = OrgChange(
        at=clock.now(),
        effective_on=when,
        actor_label=actor.label,
        kind="staff.moved",
        summary=f"{user.display_name} moved from {from_name} to {target.name} (kind of work: {kind_of_work}); "
        f"they may now {describe_access(access)}",
        details={
            "staff_id": str(staff.id),
            "user_id": str(user.id),
            "name": user.display_name,
            "from_code": from_code,
            "from_name": from_name if from_code else None,
            "from_function": from_function,
            "to_code": target.code,
            "to_name": target.name,
            "to_function": target.function,
            "roles": sorted(r.value for r in user.roles),
            "patient_access": [p.value for p in access],
        },
        unit_id=source.id if source else None,
        other_unit_id=target.id,
    )
    session.add(change)
    record(
        session,
        actor,
        "org.staff.update",
        resource_type="staff",
        resource_id=str(staff.id),
        reason=f"moved from unit {from_code or '(none)'} to {target.code}",
    )
    session.flush()
    return change


def join_team(
    session: Session, actor: Actor, staff_id: uuid.UUID, team_id: uuid.UUID, start_date: date | None = None
) -> TeamMembership:
    require(actor, Permission.ORG_MANAGE)
    staff = _staff(session, staff_id)
    team = session.get(Team, team_id)
    if team is None or team.effective_to is not None:
        raise ValidationFailed({"team_id": "Choose a current team."})
    start = start_date or clock.today()
    if start < staff.start_date:
        raise ValidationFailed({"start_date": "They cannot join a team before they start work."})
    open_rows = session.scalar(
        select(func.count())
        .select_from(TeamMembership)
        .where(
            TeamMembership.staff_id == staff.id,
            TeamMembership.team_id == team.id,
            or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= start),
        )
    )
    if open_rows:
        raise ValidationFailed({"team_id": f"They are already in the team {team.name}."})
    membership = TeamMembership(team_id=team.id, staff_id=staff.id, start_date=start)
    session.add(membership)
    session.flush()
    record(session, actor, "org.team.join", resource_type="staff", resource_id=str(staff.id), reason=team.name)
    return membership


def leave_team(
    session: Session, actor: Actor, staff_id: uuid.UUID, membership_id: uuid.UUID, end_date: date | None = None
) -> TeamMembership:
    """End one of this staff member's team memberships (another member's is "no such membership")."""
    require(actor, Permission.ORG_MANAGE)
    membership = session.get(TeamMembership, membership_id)
    if membership is None or membership.staff_id != staff_id:
        raise NotFound("This staff member has no such team membership.")
    if membership.end_date is not None:
        raise ValidationFailed({"end_date": "They have already left this team."})
    end = end_date or clock.today()
    if end < membership.start_date:
        raise ValidationFailed({"end_date": "They cannot leave a team before they joined it."})
    membership.end_date = end
    record(
        session,
        actor,
        "org.team.leave",
        resource_type="staff",
        resource_id=str(membership.staff_id),
        reason=membership.team.name,
    )
    return membership


def add_licence(session: Session, actor: Actor, staff_id: uuid.UUID, values: Mapping[str, Any]) -> Licence:
    require(actor, Permission.ORG_MANAGE)
    staff = _staff(session, staff_id)
    data, errors = clean_licence(values)
    if not errors:
        errors = licence_conflict(session, data)
    if errors:
        raise ValidationFailed(errors)
    licence = new_licence(staff, data)
    session.add(licence)
    session.flush()
    record(
        session,
        actor,
        "org.licence.add",
        resource_type="staff",
        resource_id=str(staff.id),
        reason=f"{licence.state} {licence.kind} {licence.number} until {licence.expires_on}",
    )
    return licence


def new_licence(staff: StaffMember, data: LicenceData) -> Licence:
    return Licence(
        staff_id=staff.id,
        state=data.state,
        number=data.number,
        kind=data.kind,
        issued_on=data.issued_on,
        expires_on=data.expires_on,
    )


def renew_licence(
    session: Session, actor: Actor, staff_id: uuid.UUID, licence_id: uuid.UUID, values: Mapping[str, Any]
) -> Licence:
    """Move one of this staff member's licences on to a later expiry date (a renewal keeps state,
    kind and number). Another member's licence is refused as no licence of theirs."""
    require(actor, Permission.ORG_MANAGE)
    licence = session.get(Licence, licence_id)
    if licence is None or licence.staff_id != staff_id:
        raise ValidationFailed({"licence_id": "This staff member has no such licence."})
    errors: dict[str, str] = {}
    expires_on, problem = parse_date(values.get("expires_on"), required=True, label="new expiry date")
    if problem:
        errors["expires_on"] = problem
    elif expires_on <= licence.expires_on:  # type: ignore[operator]
        errors["expires_on"] = f"A renewal must expire after the current expiry date ({licence.expires_on})."
    issued_on, problem = parse_date(values.get("issued_on"), required=False, label="issue date")
    if problem:
        errors["issued_on"] = problem
    elif issued_on and expires_on and issued_on > expires_on:
        errors["issued_on"] = "A licence cannot be issued after it expires."
    if errors:
        raise ValidationFailed(errors)
    old = licence.expires_on
    licence.expires_on = expires_on  # type: ignore[assignment]
    if issued_on:
        licence.issued_on = issued_on
    record(
        session,
        actor,
        "org.licence.renew",
        resource_type="staff",
        resource_id=str(licence.staff_id),
        reason=f"{licence.state} {licence.kind} {licence.number}: {old} -> {expires_on}",
    )
    return licence


# ---------------------------------------------------------------- reading


def _staff(session: Session, staff_id: uuid.UUID, *, lock: bool = False) -> StaffMember:
    query = select(StaffMember).where(StaffMember.id == staff_id)
    if lock:
        query = query.with_for_update()
    staff = session.scalar(query)
    if staff is None:
        raise NotFound("No such staff member.")
    return staff


def get_staff(session: Session, actor: Actor, staff_id: uuid.UUID) -> StaffMember:
    require(actor, Permission.ORG_READ)
    staff = session.scalar(
        select(StaffMember)
        .where(StaffMember.id == staff_id)
        .options(
            selectinload(StaffMember.licences),
            selectinload(StaffMember.memberships).selectinload(TeamMembership.team).selectinload(Team.unit),
            selectinload(StaffMember.user),
        )
    )
    if staff is None:
        raise NotFound("No such staff member.")
    return staff


def list_staff(
    session: Session,
    actor: Actor,
    *,
    unit: str | None = None,
    role: Role | None = None,
    include_departed: bool = False,
    limit: int = 500,
) -> list[StaffMember]:
    """Staff by name; ``unit`` matches their home unit or a current team membership in it."""
    require(actor, Permission.ORG_READ)
    query = select(StaffMember).join(User, User.id == StaffMember.user_id)
    if not include_departed:
        query = query.where(StaffMember.status == StaffStatus.ACTIVE.value)
    if role is not None:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role.value)))
    if unit:
        in_unit_team = (
            select(TeamMembership.staff_id)
            .join(Team, Team.id == TeamMembership.team_id)
            .join(OrgUnit, OrgUnit.id == Team.unit_id)
            .where(OrgUnit.code == unit, TeamMembership.end_date.is_(None))
        )
        query = query.where(or_(User.unit == unit, StaffMember.id.in_(in_unit_team)))
    query = (
        query.order_by(User.display_name, User.email)
        .limit(limit)
        .options(selectinload(StaffMember.user), selectinload(StaffMember.licences))
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class QueueCount:
    queue_id: uuid.UUID
    queue: str
    team: str
    count: int


def open_work(session: Session, actor: Actor, staff_id: uuid.UUID) -> list[QueueCount]:
    """Open work items assigned to a person, counted by queue."""
    require(actor, Permission.ORG_READ)
    rows = session.execute(
        select(WorkQueue.id, WorkQueue.name, Team.name, func.count(WorkItem.id))
        .join(WorkQueue, WorkQueue.id == WorkItem.queue_id)
        .join(Team, Team.id == WorkQueue.team_id)
        .where(WorkItem.assignee_staff_id == staff_id, WorkItem.status == WorkItemStatus.OPEN.value)
        .group_by(WorkQueue.id, WorkQueue.name, Team.name)
        .order_by(Team.name, WorkQueue.name)
    )
    return [QueueCount(qid, queue, team, count) for qid, queue, team, count in rows]


def expiry_state(expires_on: date | None, today: date | None = None) -> tuple[str, int | None]:
    """("expired" | "expiring" | "ok", days left) for a licence or DEA registration; valid through ``expires_on``."""
    if expires_on is None:
        return "ok", None
    days = (expires_on - (today or clock.today())).days
    if days < 0:
        return "expired", days
    return ("expiring" if days <= WARN_DAYS else "ok"), days


def worst_expiry(dates: Iterable[date | None], today: date | None = None) -> tuple[str, int | None]:
    """The most urgent state among several expiry dates (for a badge in a list)."""
    states = [expiry_state(d, today) for d in dates if d is not None]
    for wanted in ("expired", "expiring"):
        found = [s for s in states if s[0] == wanted]
        if found:
            return min(found, key=lambda s: s[1] or 0)
    return "ok", None


def team_members(session: Session, actor: Actor, team_id: uuid.UUID) -> list[TeamMembership]:
    """The memberships of a team that have not ended (those starting later included), by name."""
    require(actor, Permission.ORG_READ)
    today = clock.today()
    return list(
        session.scalars(
            select(TeamMembership)
            .join(StaffMember, StaffMember.id == TeamMembership.staff_id)
            .join(User, User.id == StaffMember.user_id)
            .where(
                TeamMembership.team_id == team_id,
                or_(TeamMembership.end_date.is_(None), TeamMembership.end_date > today),
            )
            .options(selectinload(TeamMembership.staff).selectinload(StaffMember.user))
            .order_by(User.display_name, TeamMembership.start_date)
        )
    )


def team_choices(session: Session) -> list[tuple[str, str]]:
    """The current teams of the active units, as (id, "Team (Unit)"), by unit then team."""
    rows = session.execute(
        select(Team.id, Team.name, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Team.unit_id)
        .where(OrgUnit.status == UnitStatus.ACTIVE.value, Team.effective_to.is_(None))
        .order_by(OrgUnit.name, Team.name)
    )
    return [(str(team_id), f"{team} ({unit})") for team_id, team, unit in rows]


def unit_choices(session: Session) -> list[tuple[str, str]]:
    return [
        (u.code, u.name)
        for u in session.scalars(
            select(OrgUnit).where(OrgUnit.status == UnitStatus.ACTIVE.value).order_by(OrgUnit.name)
        )
    ]


STATE_CHOICES = sorted(((code, f"{name} ({code})") for code, name in US_STATES.items()), key=lambda c: c[1])
