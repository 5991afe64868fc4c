"""The organisation: units, teams, staff, licences, restructuring, departures and hand-over."""

from careplane.kernel.org.licensure import clinicians_licensed_in, may_verify_for_state

__all__ = ["clinicians_licensed_in", "may_verify_for_state"]
