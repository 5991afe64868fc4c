"""Virtual Care: message-based and video visits, the clinician queue, state licensure routing, response-time promises.

The unit's public face: what other code may use of it. Today that is its code and name, and its
``StaffDeparted`` handler in :mod:`careplane.units.virtual_care.events` (loaded through ``wiring``).
"""

CODE = "virtual_care"
NAME = "Virtual Care"

__all__ = ["CODE", "NAME"]
