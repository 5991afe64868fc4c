"""Dates typed into forms. A date input sends ``YYYY-MM-DD`` whatever it shows; a person typing where
there is no date picker writes the date the way US forms ask for it, month/day/year. Both are read
here, in one place, and the hint every date field shows (``DATE_HINT``) matches what the browser
shows in a date input in the US (mm/dd/yyyy).
"""

from __future__ import annotations

import re
from datetime import date

DATE_HINT = "mm/dd/yyyy"
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def example(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def parse_form_date(text: str) -> date:
    """The day a form field names; ``ValueError`` with words a person can act on."""
    text = text.strip()
    try:
        if match := _US.match(text):
            month, day, year = (int(part) for part in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"Enter the date as month, day and year ({DATE_HINT}), e.g. 07/21/1984.") from None
