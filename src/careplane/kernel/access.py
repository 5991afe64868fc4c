"""Who may do what to whose data: decided, and audited, in this one place.

Every service call that touches patient data takes an :class:`Actor` and calls
:func:`authorize` (or :func:`authorize_many`). An allowed access adds its audit row to the
caller's transaction; a refusal raises :class:`AccessDenied`, whose audit row the unit of work
writes after rolling the caller back, so refused attempts are recorded too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.orm import Session

from careplane.kernel import units
from careplane.kernel.audit.record import entry_values, to_keep, write
from careplane.kernel.db import SessionOrReader
from careplane.kernel.errors import AccessDenied
from careplane.kernel.identity.roles import Role


class Permission(StrEnum):
    PATIENT_READ = "patient.read"
    PATIENT_UPDATE = "patient.update"
    PATIENT_SEARCH = "patient.search"
    PATIENT_REGISTER = "patient.register"
    #: Fold a duplicate registration into the record that survives (health information management).
    PATIENT_MERGE = "patient.merge"
    AUDIT_READ = "audit.read"
    USER_MANAGE = "user.manage"
    OPERATIONS = "operations.manage"
    ORG_READ = "org.read"
    ORG_MANAGE = "org.manage"


#: Permissions that name one patient, where a patient user may act only on themself.
PATIENT_SCOPED = frozenset({Permission.PATIENT_READ, Permission.PATIENT_UPDATE})

#: What every employee of the service may do (employer admins are customers, not employees).
_EMPLOYEE = frozenset({Permission.ORG_READ})

#: What each role may do, of the kernel's own permissions (units add theirs: ``role_permissions``).
_KERNEL_ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.PATIENT: frozenset({Permission.PATIENT_READ, Permission.PATIENT_UPDATE}),
    Role.CLINICIAN: _EMPLOYEE
    | {Permission.PATIENT_READ, Permission.PATIENT_UPDATE, Permission.PATIENT_SEARCH, Permission.PATIENT_REGISTER},
    Role.PHARMACIST: _EMPLOYEE | {Permission.PATIENT_READ, Permission.PATIENT_SEARCH},
    Role.PHARMACY_TECHNICIAN: _EMPLOYEE | {Permission.PATIENT_READ, Permission.PATIENT_SEARCH},
    Role.BILLER: _EMPLOYEE | {Permission.PATIENT_READ, Permission.PATIENT_SEARCH},
    # Employer admins see de-identified aggregates only, never a patient record.
    Role.EMPLOYER_ADMIN: frozenset(),
    Role.OPERATIONS_LEAD: _EMPLOYEE
    | {
        Permission.PATIENT_READ,
        Permission.PATIENT_UPDATE,
        Permission.PATIENT_SEARCH,
        Permission.PATIENT_REGISTER,
        Permission.PATIENT_MERGE,
        Permission.AUDIT_READ,
        Permission.OPERATIONS,
        Permission.ORG_MANAGE,
    },
    # Administrators run the platform; they get no patient data by default.
    Role.ADMINISTRATOR: _EMPLOYEE
    | {Permission.USER_MANAGE, Permission.AUDIT_READ, Permission.OPERATIONS, Permission.ORG_MANAGE},
}

#: Patient permissions a staff member holds only in a unit whose business function does that
#: work: the role says what a person may do, the unit where. A pharmacist moved to Health
#: Technology keeps the role but opens no patient record there.
UNIT_SCOPED = frozenset(
    {
        Permission.PATIENT_READ,
        Permission.PATIENT_UPDATE,
        Permission.PATIENT_SEARCH,
        Permission.PATIENT_REGISTER,
        Permission.PATIENT_MERGE,
    }
)

_KERNEL_DESCRIPTIONS: dict[str, str] = {
    Permission.PATIENT_READ: "Read a patient's record",
    Permission.PATIENT_UPDATE: "Change a patient's record",
    Permission.PATIENT_SEARCH: "Search the patient registry",
    Permission.PATIENT_REGISTER: "Register a new patient",
    Permission.PATIENT_MERGE: "Merge duplicate patient records",
    Permission.AUDIT_READ: "Search the audit log",
    Permission.USER_MANAGE: "Manage staff accounts",
    Permission.OPERATIONS: "Operate the platform (events, jobs, dead letters)",
    Permission.ORG_READ: "See the organisation",
    Permission.ORG_MANAGE: "Restructure the organisation, move and offboard staff",
}


@dataclass(frozen=True)
class Registry:
    """Every permission of the kernel and the installed units: who holds it, and where."""

    descriptions: dict[str, str]
    role_permissions: dict[Role, frozenset[str]]
    #: business function -> what its staff may do that is limited to units of some function
    function_permissions: dict[str, frozenset[str]]
    #: Permissions held only in a unit whose business function grants them.
    unit_scoped: frozenset[str]

    @classmethod
    def build(cls) -> Registry:
        descriptions = dict(_KERNEL_DESCRIPTIONS)
        roles: dict[Role, set[str]] = {role: set(granted) for role, granted in _KERNEL_ROLE_PERMISSIONS.items()}
        functions: dict[str, set[str]] = {}
        unit_scoped: set[str] = set(UNIT_SCOPED)
        for unit in units.installed():
            functions.setdefault(unit.code, set()).update(unit.patient_permissions)
            for spec in unit.permissions:
                if spec.name in descriptions:
                    raise ValueError(f"unit {unit.code} declares permission {spec.name}, which exists already")
                descriptions[spec.name] = spec.description
                for role in spec.roles:
                    roles.setdefault(role, set()).add(spec.name)
                if spec.functions:
                    unit_scoped.add(spec.name)
                    for function in spec.functions:
                        functions.setdefault(function, set()).add(spec.name)
        return cls(
            descriptions,
            {role: frozenset(p) for role, p in roles.items()},
            {code: frozenset(p) for code, p in functions.items()},
            frozenset(unit_scoped),
        )


_registry: Registry | None = None


def registry() -> Registry:
    global _registry
    if _registry is None:
        _registry = Registry.build()
    return _registry


def _forget_registry() -> None:
    global _registry
    _registry = None


units.on_change(_forget_registry)


@dataclass(frozen=True)
class Actor:
    """The person or process acting, and from where. Built once per request, command or job."""

    user_id: uuid.UUID | None
    label: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    unit: str | None = None
    #: The business function of ``unit`` (see FUNCTION_PERMISSIONS); None outside any unit.
    unit_function: str | None = None
    patient_id: uuid.UUID | None = None
    ip: str | None = None
    via: str = "web"
    request_id: str | None = None
    system: bool = False

    @classmethod
    def for_system(cls, name: str, via: str = "job") -> Actor:
        """The platform itself (a job, a CLI command run by an operator): allowed, and audited."""
        return cls(user_id=None, label=f"system:{name}", via=via, system=True)

    @property
    def role_permissions(self) -> frozenset[str]:
        """What the roles grant, wherever the person works."""
        granted: set[str] = set()
        for role in self.roles:
            granted |= registry().role_permissions.get(role, frozenset())
        return frozenset(granted)

    @property
    def permissions(self) -> frozenset[str]:
        known = registry()
        if self.system:
            return frozenset(known.descriptions)
        granted = self.role_permissions
        if self.is_patient_only:
            return granted
        in_unit = known.function_permissions.get(self.unit_function or "", frozenset())
        return frozenset(p for p in granted if p not in known.unit_scoped or p in in_unit)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def is_patient_only(self) -> bool:
        return not self.system and self.roles == {Role.PATIENT}


def decide(
    actor: Actor, permission: str, patient_id: uuid.UUID | None, *, staff_work: bool = False, staff_only: bool = False
) -> str | None:
    """``None`` when allowed, otherwise the reason for the refusal. ``staff_work``: the data is the
    service's own work on a record (e.g. its possible duplicates), which a patient does not see even
    of their own record: it names other people. ``staff_only``: a change that is a clinical judgement
    (e.g. that an allergy was entered in error), which a patient asks the care team for rather than
    makes, even on their own record."""
    if staff_work and actor.is_patient_only:
        return "patients do not see the registry's work on their record"
    if staff_only and actor.is_patient_only:
        return "patients may not make this change, even to their own record; the care team does"
    if not actor.can(permission):
        if permission in actor.role_permissions:
            return f"{permission} is not part of the work of unit {actor.unit or '(none)'}"
        return f"role(s) {', '.join(sorted(actor.roles)) or 'none'} lack {permission}"
    if (
        permission in PATIENT_SCOPED
        and actor.is_patient_only
        and (patient_id is None or patient_id != actor.patient_id)
    ):
        return "patients may access only their own record"
    return None


def authorize(
    session: SessionOrReader,
    actor: Actor,
    permission: str,
    *,
    patient_id: uuid.UUID | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    reason: str | None = None,
    staff_work: bool = False,
    staff_only: bool = False,
) -> None:
    """Allow and audit, or refuse (audited) with :class:`AccessDenied`."""
    refusal = decide(actor, permission, patient_id, staff_work=staff_work, staff_only=staff_only)
    row = entry_values(
        actor,
        str(permission),
        outcome="denied" if refusal else "allowed",
        patient_id=patient_id,
        resource_type=resource_type,
        resource_id=resource_id,
        reason=refusal or reason,
    )
    if refusal:
        raise AccessDenied("You do not have access to this.", keep_after_rollback=to_keep([row]))
    write(session, [row])


def refuse_unless(
    session: SessionOrReader,
    actor: Actor,
    permission: str,
    *,
    patient_id: uuid.UUID | None = None,
    resource_type: str | None = None,
) -> None:
    """Refuse (audited) an actor who may not do this, recording nothing for one who may: for opening
    a form whose saving the service authorizes, and audits, when it happens."""
    if decide(actor, permission, patient_id) is not None:
        authorize(session, actor, permission, patient_id=patient_id, resource_type=resource_type)


def require(actor: Actor, permission: str) -> None:
    """Refuse an action that touches no patient data (no audit row), e.g. opening the user list."""
    if not actor.can(permission):
        raise AccessDenied("You do not have access to this.")


def audit_disclosures(
    session: Session, actor: Actor, permission: str, patient_ids: Iterable[uuid.UUID], *, resource_type: str
) -> None:
    """Record that a list (search results, an export) showed these patients to the actor."""
    write(
        session,
        (
            entry_values(actor, str(permission), outcome="allowed", patient_id=pid, resource_type=resource_type)
            for pid in patient_ids
        ),
    )
