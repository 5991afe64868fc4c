"""Health Technology: FHIR API, HL7 v2 interfaces, remote patient monitoring devices.

The unit's public face: what other code may use of it. Today that is its code and name, and its
``StaffDeparted`` handler in :mod:`careplane.units.health_tech.events` (loaded through ``wiring``).
"""

CODE = "health_tech"
NAME = "Health Technology"

__all__ = ["CODE", "NAME"]
