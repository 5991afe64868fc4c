"""``IsoDate``: a date the JSON API accepts only as ``YYYY-MM-DD`` (or a date object).

Pydantic's own ``date`` also takes numbers, as seconds since 1970: ``?birth_date=0`` would be
1 January 1970, a real-looking answer to a malformed question. With ``IsoDate`` such input is a
422 problem naming the field.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MESSAGE = "Give a date as YYYY-MM-DD, e.g. 1984-07-21."


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) or value is None:
        return value
    if isinstance(value, str) and _ISO.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"There is no such day: {MESSAGE}") from None
    raise ValueError(MESSAGE)


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
