"""The time zone a patient in a US state or territory is most likely in: the zone of most of its
people (IANA tz database names). States split across zones (e.g. Texas's El Paso, Florida's
panhandle) take their larger part's zone; a patient's own zone, when careplane comes to keep one,
wins over this."""

from __future__ import annotations

from zoneinfo import ZoneInfo

_EASTERN = "America/New_York"
_CENTRAL = "America/Chicago"
_MOUNTAIN = "America/Denver"
_PACIFIC = "America/Los_Angeles"

STATE_ZONES: dict[str, str] = {
    **dict.fromkeys(
        [
            "CT",
            "DE",
            "DC",
            "FL",
            "GA",
            "MA",
            "MD",
            "ME",
            "NC",
            "NH",
            "NJ",
            "NY",
            "OH",
            "PA",
            "RI",
            "SC",
            "VA",
            "VT",
            "WV",
        ],
        _EASTERN,
    ),
    "MI": "America/Detroit",
    "IN": "America/Indiana/Indianapolis",
    "KY": "America/Kentucky/Louisville",
    **dict.fromkeys(
        ["AL", "AR", "IA", "IL", "KS", "LA", "MN", "MO", "MS", "ND", "NE", "OK", "SD", "TN", "TX", "WI"], _CENTRAL
    ),
    **dict.fromkeys(["CO", "MT", "NM", "UT", "WY"], _MOUNTAIN),
    "ID": "America/Boise",
    "AZ": "America/Phoenix",
    **dict.fromkeys(["CA", "NV", "OR", "WA"], _PACIFIC),
    "AK": "America/Anchorage",
    "HI": "Pacific/Honolulu",
    "PR": "America/Puerto_Rico",
    "VI": "America/St_Thomas",
    "GU": "Pacific/Guam",
    "MP": "Pacific/Saipan",
    "AS": "Pacific/Pago_Pago",
}


def zone_of_state(state: str) -> ZoneInfo:
    """The state's zone (``KeyError`` for a code that is no US state or territory)."""
    return ZoneInfo(STATE_ZONES[state.upper()])
