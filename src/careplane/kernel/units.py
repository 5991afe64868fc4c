"""The business units installed in this careplane, each declared once, on its package face.

A unit's package exports ``UNIT = Unit(...)``: everything it brings to the platform (routers,
tables, event handlers and jobs, permissions, queues, navigation, home panels, chart and portal
sections, a CLI sub-app, demo data, hand-over). The app, the worker, the CLI, the demo and the
tests take the list of installed units from :func:`installed` and nothing else, so adding a unit
touches no kernel file, and the kernel names no unit.

Which units are installed: ``CAREPLANE_UNITS`` (comma-separated ``module`` or ``module:attribute``,
the attribute defaulting to ``UNIT``) when set, otherwise every ``careplane.business_units`` entry point of
the installed distributions (careplane's own six are declared in its ``pyproject.toml``; another
package adds a unit the same way).

A unit's *code* is also the business function it does: units made later by restructuring (a
split, a new unit) do the work of one of the installed functions, which decides the patient data
their staff may touch (:mod:`careplane.kernel.access`).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from careplane.kernel.identity.roles import Role

ENTRY_POINT_GROUP = "careplane.business_units"


@dataclass(frozen=True)
class PermissionSpec:
    """A permission a unit adds (e.g. ``visit.claim``): who holds it, and where.

    ``roles`` hold it; when ``functions`` is not empty, only while they work in a unit doing one of
    those business functions (as patient permissions are)."""

    name: str
    description: str
    roles: frozenset[Role] = frozenset()
    functions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NavEntry:
    label: str
    href: str
    #: Shown to actors who hold this permission (any, when None) ...
    permission: str | None = None
    #: ... and this role (any, when None).
    role: Role | None = None
    order: int = 50
    #: The navigation's group it stands in: one of ``careplane.kernel.web.NAV_AREAS``.
    area: str = "Care"


@dataclass(frozen=True)
class Panel:
    """A piece of a kernel page that a unit fills: a home panel, a chart section or a portal section.

    ``render`` names a function (``module:function``) called with keyword arguments ``request``,
    ``session``, ``actor`` (and ``patient`` for chart and portal sections) that returns the panel's
    HTML. The kernel shows the panel only to actors holding ``permission`` (and one of ``roles``,
    when given); for a patient's chart,
    the chart's own access check (and audit) has already been made."""

    key: str
    title: str
    render: str
    permission: str | None = None
    order: int = 50
    #: Shown only to people holding one of these roles (none: any role the permission allows).
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueueSpec:
    """A work queue the unit keeps its open work in, in its first team, found again by ``key``
    (``<unit>.<queue>``; see docs/work-queues.md): who may work it (``roles``; none: any role of
    the unit) and the licence kinds an item's state asks of whoever takes it."""

    key: str
    name: str
    roles: tuple[str, ...] = ()
    licence_kinds: tuple[str, ...] = ()
    #: Where an item of the queue is worked, e.g. ``/virtual-care/visits/{subject_id}``, when the unit
    #: drives its items through a life of its own (a visit is claimed, treated and completed on the
    #: unit's pages): the kernel's queue pages link there, and its generic claim, assign, release and
    #: complete refuse such items, so the unit's record and its work item cannot disagree.
    item_page: str | None = None


def queue_spec(key: str | None) -> QueueSpec | None:
    """The installed units' declaration of the queue with this key, if any."""
    if not key:
        return None
    return next((q for unit in installed() for q in unit.queues if q.key == key), None)


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    #: The unit's package (write ``package=__name__``): its ``templates/`` folder is searched for pages.
    package: str = ""
    summary: str = ""
    #: Where the unit stands in lists of units (menus, reports), smallest first.
    order: int = 100
    #: What staff may do to patient records while they work in a unit of this business function.
    patient_permissions: frozenset[str] = frozenset()
    permissions: tuple[PermissionSpec, ...] = ()
    #: Modules that define ``router`` (JSON API under /api/v1/<unit>/, pages under /<unit>/).
    routers: tuple[str, ...] = ()
    #: Modules that define tables.
    models: tuple[str, ...] = ()
    #: Modules whose import registers event handlers and scheduled jobs.
    handlers: tuple[str, ...] = ()
    #: The team a new installation starts the unit with, and that team's queues.
    first_team: str = "Team"
    queues: tuple[QueueSpec, ...] = ()
    nav: tuple[NavEntry, ...] = ()
    home_panels: tuple[Panel, ...] = ()
    chart_sections: tuple[Panel, ...] = ()
    portal_sections: tuple[Panel, ...] = ()
    #: ``module:attribute`` of a Typer app, added as ``careplane <code> ...``.
    cli: str | None = None
    #: ``module:function`` called as ``function(session, settings, rng)`` by ``seed --demo``.
    demo: str | None = None
    #: ``module:function`` called as ``function(session, departure_event)`` to move the unit's own
    #: records of a departed person and return what it moved ``{kind: count}``; when None, the
    #: kernel moves the person's work items in the unit's queues.
    hand_over: str | None = None


def load(spec: str) -> Any:
    """The object ``module`` or ``module:attribute`` names."""
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def _declared(spec: str) -> Unit:
    target = spec if ":" in spec else f"{spec}:UNIT"
    unit = load(target)
    if not isinstance(unit, Unit):
        raise TypeError(f"{target} is not a careplane.kernel.units.Unit declaration")
    return unit


def _discover() -> tuple[Unit, ...]:
    from careplane.settings import get_settings

    configured = get_settings().units.strip()
    if configured:
        specs = [s.strip() for s in configured.split(",") if s.strip()]
    else:
        specs = [ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)]
    units = tuple(sorted((_declared(spec) for spec in specs), key=lambda u: u.order))
    codes = [u.code for u in units]
    duplicated = sorted({c for c in codes if codes.count(c) > 1})
    if duplicated:
        raise ValueError(f"more than one installed unit declares the code {', '.join(duplicated)}")
    return units


_installed: tuple[Unit, ...] | None = None
#: Called after the installed units change (registries built from them start again).
_listeners: list[Callable[[], None]] = []


def installed() -> tuple[Unit, ...]:
    """The installed units, by their ``order``."""
    global _installed
    if _installed is None:
        _installed = _discover()
    return _installed


def install(units: Iterable[Unit] | None) -> None:
    """Use exactly ``units`` (tests, embedding); ``None`` goes back to discovery."""
    global _installed
    _installed = tuple(units) if units is not None else None
    for listener in _listeners:
        listener()


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever :func:`install` changes the installed units."""
    _listeners.append(listener)


def by_code(code: str) -> Unit | None:
    return next((u for u in installed() if u.code == code), None)


def template_folders() -> list[Path]:
    """The ``templates/`` folder of each installed unit's package that has one."""
    folders = []
    for unit in installed():
        if unit.package:
            spec = importlib.util.find_spec(unit.package)
            if spec is not None and spec.submodule_search_locations:
                folder = Path(next(iter(spec.submodule_search_locations))) / "templates"
                if folder.is_dir():
                    folders.append(folder)
    return folders


def modules(kind: str) -> list[str]:
    """Every installed unit's modules of one kind: ``routers``, ``models`` or ``handlers``."""
    return [name for unit in installed() for name in getattr(unit, kind)]


class _BusinessFunctions(Mapping[str, str]):
    """code -> name of the installed units' business functions, read afresh on every use."""

    def _current(self) -> dict[str, str]:
        return {unit.code: unit.name for unit in installed()}

    def __getitem__(self, code: str) -> str:
        return self._current()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(installed())


#: The business functions careplane runs: one per installed unit.
BUSINESS_FUNCTIONS: Mapping[str, str] = _BusinessFunctions()


def function_of(unit_code: str | None, *, unit_found: bool, active: bool, function: str | None) -> str | None:
    """The business function a staff member's unit code stands for: the unit's own, if it is active.

    Before the organisation is seeded (a fresh install, most tests), the installed units' codes
    stand for their own functions.
    """
    if not unit_code:
        return None
    if unit_found:
        return function if active else None
    return unit_code if unit_code in BUSINESS_FUNCTIONS else None
