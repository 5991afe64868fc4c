"""Virtual Care: message-based and video visits, the clinician queue, state licensure routing, response-time promises.

The unit's public face: its declaration (``UNIT``, how it plugs into the platform: see
:mod:`careplane.kernel.units`) and, as it grows, the few read-only queries other units may call.
"""

from careplane.kernel.access import Permission
from careplane.kernel.identity.roles import Role
from careplane.kernel.units import NavEntry, QueueSpec, Unit

CODE = "virtual_care"
NAME = "Virtual Care"

UNIT = Unit(
    code=CODE,
    name=NAME,
    package=__name__,
    order=10,
    # Patient records: the clinicians who treat them find, register, correct and merge them.
    patient_permissions=frozenset(
        {
            Permission.PATIENT_READ,
            Permission.PATIENT_UPDATE,
            Permission.PATIENT_SEARCH,
            Permission.PATIENT_REGISTER,
            Permission.PATIENT_MERGE,
        }
    ),
    first_team="Async visits",
    queues=(QueueSpec("virtual_care.visits", "Visit queue"),),
    routers=("careplane.units.virtual_care.api", "careplane.units.virtual_care.pages"),
    # The price list is public; in the navigation, patients find it beside their record.
    nav=(NavEntry("Conditions and prices", "/virtual-care/conditions", role=Role.PATIENT, order=6),),
)

__all__ = ["CODE", "NAME", "UNIT"]
