"""Primary Care: memberships, clinics, longitudinal chart, care teams and panels, labs, referrals.

The unit's public face: what other code may use of it. Today that is its code and name, and its
``StaffDeparted`` handler in :mod:`careplane.units.primary_care.events` (loaded through ``wiring``).
"""

CODE = "primary_care"
NAME = "Primary Care"

__all__ = ["CODE", "NAME"]
