"""National Provider Identifier: ten digits whose last is a Luhn check digit computed over the
card-issuer prefix ``80840`` followed by the first nine digits (CMS, "NPI check digit" standard)."""

from __future__ import annotations

import random

PREFIX = "80840"


def _luhn_check_digit(payload: str) -> int:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    # Rightmost payload digit is doubled (it sits second from the right once the check digit is appended).
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def check_digit(first_nine: str) -> int:
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise ValueError("an NPI check digit is computed over exactly nine digits")
    return _luhn_check_digit(PREFIX + first_nine)


def npi_problem(value: str | None) -> str | None:
    """``None`` for a valid NPI, otherwise a message a person can act on."""
    text = (value or "").strip()
    if not text:
        return "Enter the 10-digit NPI."
    if len(text) != 10 or not text.isascii() or not text.isdigit():
        return "An NPI is exactly 10 digits."
    if text[0] not in "12":
        return "An NPI starts with 1 or 2."
    if int(text[9]) != check_digit(text[:9]):
        return "This NPI's check digit is wrong: check for a typing error."
    return None


def is_valid_npi(value: str | None) -> bool:
    return npi_problem(value) is None


def generate_npi(rng: random.Random | None = None) -> str:
    """A valid NPI (individual providers' NPIs start with 1), for demos and tests."""
    rng = rng or random.Random()
    first_nine = "1" + "".join(str(rng.randrange(10)) for _ in range(8))
    return first_nine + str(check_digit(first_nine))
