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
