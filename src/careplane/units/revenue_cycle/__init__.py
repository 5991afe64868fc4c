"""Revenue Cycle: charges, coding, claims out, remittances in, denials, patient statements.

The unit's public face: its declaration (``UNIT``, how it plugs into the platform: see
:mod:`careplane.kernel.units`) and, as it grows, the few read-only queries other units may call.
"""

from careplane.kernel.access import Permission
from careplane.kernel.units import QueueSpec, Unit

CODE = "revenue_cycle"
NAME = "Revenue Cycle"

UNIT = Unit(
    code=CODE,
    name=NAME,
    package=__name__,
    order=40,
    # Billing finds and reads the patient, and corrects an address or phone.
    patient_permissions=frozenset({Permission.PATIENT_READ, Permission.PATIENT_SEARCH, Permission.PATIENT_UPDATE}),
    first_team="Claims and denials",
    queues=(QueueSpec("revenue_cycle.denials", "Denials queue"),),
)

__all__ = ["CODE", "NAME", "UNIT"]
