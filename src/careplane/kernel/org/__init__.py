"""The organisation: units, teams, staff, licences, restructuring, departures and hand-over."""
