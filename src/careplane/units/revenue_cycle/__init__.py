"""Revenue Cycle: charges, coding, claims out, remittances in, denials, patient statements.

The unit's public face: what other code may use of it. Today that is its code and name, and its
``StaffDeparted`` handler in :mod:`careplane.units.revenue_cycle.events` (loaded through ``wiring``).
"""

CODE = "revenue_cycle"
NAME = "Revenue Cycle"

__all__ = ["CODE", "NAME"]
