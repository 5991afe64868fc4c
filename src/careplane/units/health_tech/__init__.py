"""Health Technology: FHIR API, HL7 v2 interfaces, remote patient monitoring devices.

The unit's public face: its declaration (``UNIT``, how it plugs into the platform: see
:mod:`careplane.kernel.units`) and, as it grows, the few read-only queries other units may call.
"""

from careplane.kernel.units import QueueSpec, Unit

CODE = "health_tech"
NAME = "Health Technology"

UNIT = Unit(
    code=CODE,
    name=NAME,
    package=__name__,
    order=60,
    # The platform and its interfaces reach patient data only as audited system processes.
    patient_permissions=frozenset(),
    first_team="Interfaces",
    queues=(QueueSpec("health_tech.interface_errors", "Interface errors"),),
)

__all__ = ["CODE", "NAME", "UNIT"]
