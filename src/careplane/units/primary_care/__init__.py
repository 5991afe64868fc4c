"""Primary Care: memberships, clinics, longitudinal chart, care teams and panels, labs, referrals.

The unit's public face: its declaration (``UNIT``, how it plugs into the platform: see
:mod:`careplane.kernel.units`) and, as it grows, the few read-only queries other units may call.
"""

from careplane.kernel.access import Permission
from careplane.kernel.units import QueueSpec, Unit

CODE = "primary_care"
NAME = "Primary Care"

UNIT = Unit(
    code=CODE,
    name=NAME,
    package=__name__,
    order=20,
    # Patient records: the care teams find, register, correct and merge them.
    patient_permissions=frozenset(
        {
            Permission.PATIENT_READ,
            Permission.PATIENT_UPDATE,
            Permission.PATIENT_SEARCH,
            Permission.PATIENT_REGISTER,
            Permission.PATIENT_MERGE,
        }
    ),
    first_team="Care teams",
    queues=(QueueSpec("primary_care.panel", "Panel queue"),),
)

__all__ = ["CODE", "NAME", "UNIT"]
