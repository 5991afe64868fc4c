"""Pharmacy: e-prescriptions, safety checks, pharmacist verification, prices, fulfilment, refills.

The unit's public face: what other code may use of it. Today that is its code and name, and its
``StaffDeparted`` handler in :mod:`careplane.units.pharmacy.events` (loaded through ``wiring``).
"""

CODE = "pharmacy"
NAME = "Pharmacy"

__all__ = ["CODE", "NAME"]
