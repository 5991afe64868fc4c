"""DEA registration numbers: two letters and seven digits.

The first letter is the registrant type, the second the registrant's last-name initial, and
the seventh digit a check digit: the last digit of ``(d1 + d3 + d5) + 2 * (d2 + d4 + d6)``.
A wrong shape or check digit is an error. A second letter that does not match the last name is
only a warning: the number keeps the initial of the name it was issued under (names change).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

#: Registrant types that may prescribe or dispense (practitioners, mid-levels, pharmacies ...).
REGISTRANT_TYPES = frozenset("ABCDEFGHJKLMPRSTUX")
_SHAPE = re.compile(r"^[A-Z]{2}\d{7}$")


def check_digit(six: str) -> int:
    d = [int(c) for c in six]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10


@dataclass(frozen=True)
class DeaCheck:
    number: str
    error: str | None = None
    warning: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def normalise(value: str) -> str:
    return value.strip().upper().replace(" ", "").replace("-", "")


def last_name_of(display_name: str) -> str:
    """``"Jane Q. Smith-Jones, MD"`` -> ``"Smith-Jones"`` (credentials after a comma are dropped)."""
    words = display_name.split(",")[0].split()
    return words[-1] if words else ""


def check_dea(value: str, last_name: str | None = None) -> DeaCheck:
    number = normalise(value)
    if not _SHAPE.match(number):
        return DeaCheck(number, error="A DEA number is two letters followed by seven digits, e.g. AB1234563.")
    if number[0] not in REGISTRANT_TYPES:
        return DeaCheck(number, error=f"'{number[0]}' is not a DEA registrant type.")
    if check_digit(number[2:8]) != int(number[8]):
        return DeaCheck(number, error="This DEA number's check digit is wrong: check for a typing error.")
    if last_name:
        initial = last_name.strip()[:1].upper()
        if initial.isalpha() and number[1] != initial:
            return DeaCheck(
                number,
                warning=f"The DEA number's second letter ({number[1]}) is not the initial of the last name "
                f"{last_name} ({initial}): check it was issued to this person.",
            )
    return DeaCheck(number)


def generate_dea(last_name: str, rng: random.Random | None = None, registrant_type: str = "B") -> str:
    """A well-formed DEA number for ``last_name`` (demos and tests)."""
    rng = rng or random.Random()
    six = "".join(str(rng.randrange(10)) for _ in range(6))
    return f"{registrant_type}{last_name[:1].upper()}{six}{check_digit(six)}"
