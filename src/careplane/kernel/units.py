"""The six business functions careplane runs, each first set up as a business unit of that code.

A unit's *function* is the kind of work it does, and so the patient data its staff may touch
(:mod:`careplane.kernel.access`). Restructuring keeps it: a unit split off inherits its parent's
function, and the staff of a merged unit move to the unit that absorbed it.
"""

from __future__ import annotations

BUSINESS_FUNCTIONS: dict[str, str] = {
    "virtual_care": "Virtual Care",
    "primary_care": "Primary Care",
    "pharmacy": "Pharmacy",
    "revenue_cycle": "Revenue Cycle",
    "benefits": "Employer Benefits",
    "health_tech": "Health Technology",
}


def function_of(unit_code: str | None, *, unit_found: bool, active: bool, function: str | None) -> str | None:
    """The business function a staff member's unit code stands for: the unit's own, if it is active.

    Before the organisation is seeded (a fresh install, most tests), the six codes stand for
    their own functions.
    """
    if not unit_code:
        return None
    if unit_found:
        return function if active else None
    return unit_code if unit_code in BUSINESS_FUNCTIONS else None
