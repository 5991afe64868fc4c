"""The pieces of kernel pages that installed units fill: home panels, chart sections, portal
sections (:class:`careplane.kernel.units.Panel`). The kernel decides who sees each one."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from markupsafe import Markup
from sqlalchemy.orm import Session

from careplane.kernel import home_panels, units
from careplane.kernel.access import Actor
from careplane.kernel.patients.allergies import sections as allergy_sections
from careplane.kernel.units import Panel

Kind = Literal["home_panels", "chart_sections", "portal_sections"]

#: The kernel's own panels, shown by the same rules as the units'.
KERNEL_PANELS: dict[str, tuple[Panel, ...]] = {
    "home_panels": home_panels.PANELS,
    "chart_sections": allergy_sections.CHART_SECTIONS,
    "portal_sections": allergy_sections.PORTAL_SECTIONS,
}


def shown_to(actor: Actor, kind: Kind) -> list[Panel]:
    """The kernel's and the installed units' panels of one kind that ``actor`` may see, in order."""
    candidates = [*KERNEL_PANELS.get(kind, ()), *(panel for unit in units.installed() for panel in getattr(unit, kind))]
    panels = [
        panel
        for panel in candidates
        if (panel.permission is None or actor.can(panel.permission))
        and (not panel.roles or any(role.value in panel.roles for role in actor.roles))
    ]
    return sorted(panels, key=lambda p: (p.order, p.title))


def rendered(
    kind: Kind, request: Request, session: Session, actor: Actor, **context: Any
) -> list[tuple[Panel, Markup]]:
    """Each panel ``actor`` may see, with its HTML (the unit's ``render`` function makes it)."""
    return [
        (panel, Markup(units.load(panel.render)(request=request, session=session, actor=actor, **context)))
        for panel in shown_to(actor, kind)
    ]
