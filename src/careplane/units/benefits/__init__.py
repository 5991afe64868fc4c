"""Employer Benefits: employers, plans, enrolment, eligibility, accumulators, employer reporting.

The unit's public face: what other code may use of it. Today that is its code and name, and its
``StaffDeparted`` handler in :mod:`careplane.units.benefits.events` (loaded through ``wiring``).
"""

CODE = "benefits"
NAME = "Employer Benefits"

__all__ = ["CODE", "NAME"]
