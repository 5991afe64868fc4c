"""Employer Benefits: employers, plans, enrolment, eligibility, accumulators, employer reporting.

The unit's public face: its declaration (``UNIT``, how it plugs into the platform: see
:mod:`careplane.kernel.units`) and, as it grows, the few read-only queries other units may call.
"""

from careplane.kernel.access import Permission
from careplane.kernel.units import QueueSpec, Unit

CODE = "benefits"
NAME = "Employer Benefits"

UNIT = Unit(
    code=CODE,
    name=NAME,
    package=__name__,
    order=50,
    # Enrolment (X12 834) registers members and checks who is already registered.
    patient_permissions=frozenset({Permission.PATIENT_READ, Permission.PATIENT_SEARCH, Permission.PATIENT_REGISTER}),
    first_team="Enrolment",
    queues=(QueueSpec("benefits.enrolment", "Enrolment queue"),),
)

__all__ = ["CODE", "NAME", "UNIT"]
