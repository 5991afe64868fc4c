"""Pharmacy: e-prescriptions, safety checks, pharmacist verification, prices, fulfilment, refills.

The unit's public face: its declaration (``UNIT``, how it plugs into the platform: see
:mod:`careplane.kernel.units`) and, as it grows, the few read-only queries other units may call.
"""

from careplane.kernel.access import Permission
from careplane.kernel.units import QueueSpec, Unit

CODE = "pharmacy"
NAME = "Pharmacy"

UNIT = Unit(
    code=CODE,
    name=NAME,
    package=__name__,
    order=30,
    # Dispensing finds and reads the patient, and corrects an address or phone.
    patient_permissions=frozenset({Permission.PATIENT_READ, Permission.PATIENT_SEARCH, Permission.PATIENT_UPDATE}),
    first_team="Verification",
    queues=(QueueSpec("pharmacy.verify", "Verification queue"),),
)

__all__ = ["CODE", "NAME", "UNIT"]
