"""The one source of "now". Tests and simulations move it; nothing else calls datetime.now."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_offset = timedelta(0)


def now() -> datetime:
    """Timezone-aware UTC now, shifted by any travel set with :func:`travel`."""
    return datetime.now(UTC) + _offset


def today() -> date:
    return now().date()


def travel(to: datetime | None) -> None:
    """Move the platform clock to ``to`` (aware), or back to real time with ``None``."""
    global _offset
    _offset = timedelta(0) if to is None else to - datetime.now(UTC)


def zone_named(name: str | None) -> tzinfo | None:
    """The IANA time zone called ``name`` (``UTC`` included), or None when there is no such zone."""
    name = (name or "").strip()
    if not name:
        return None
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
