"""What a patient types to pay (:class:`Card`), and the checks it passes before any processor sees it.

The checks catch what a person can fix on the spot (a mistyped digit, a past expiry date, a short
security code) with a message on the field, all at once; whether the account can pay is the
processor's decision. Of a card only :class:`CardDetails` (brand, last four digits, expiry) is ever
kept: the whole number and the security code are passed to the processor and forgotten, and are
left out of the card's ``repr`` so that no log line or traceback prints them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from careplane.kernel import clock
from careplane.kernel.errors import ValidationFailed

#: How far ahead an expiry date may be; cards are issued for a few years, so more is a typo.
MAX_YEARS_AHEAD = 20

_SEPARATORS = re.compile(r"[ \-]")
_EXPIRY = re.compile(r"(?P<month>\d{1,2})\s*/\s*(?P<year>\d{2}|\d{4})")


@dataclass(frozen=True)
class Card:
    """A card as a patient typed it: the number may have spaces or dashes, the expiry is "MM/YY" or
    "MM/YYYY". Never stored whole (see :class:`CardDetails`)."""

    number: str = field(repr=False)
    expiry: str
    cvc: str = field(repr=False)
    name: str = ""
    postal_code: str = ""

    @property
    def digits(self) -> str:
        """The number without its spaces and dashes."""
        return _SEPARATORS.sub("", self.number.strip())


@dataclass(frozen=True)
class CardDetails:
    """The part of a card that may be kept and shown: "Visa ending 4242, expires 12/2030"."""

    brand: str
    last4: str
    #: "MM/YYYY".
    expiry: str


#: Brand names as they are stored, and as people read them.
BRAND_NAMES = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "other": "Card",
}


def brand_of(digits: str) -> str:
    """The card network, from the number's leading digits (its issuer identification number):
    ``visa``, ``mastercard``, ``amex``, ``discover``, or ``other`` for a network none of these is."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    two, four, six = _prefix(digits, 2), _prefix(digits, 4), _prefix(digits, 6)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if four == 6011 or two == 65 or 644 <= _prefix(digits, 3) <= 649 or 622126 <= six <= 622925:
        return "discover"
    return "other"


def _prefix(digits: str, length: int) -> int:
    return int(digits[:length]) if len(digits) >= length else -1


def luhn_valid(digits: str) -> bool:
    """The Luhn check digit of a card number is right (it catches any one mistyped digit and most
    swapped neighbours)."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def check_card(card: Card) -> CardDetails:
    """The card's keepable details, or :class:`ValidationFailed` with a message for every field that
    is wrong (``card_number``, ``card_expiry``, ``card_cvc``)."""
    errors: dict[str, str] = {}
    digits = card.digits
    brand: str | None = None
    if not digits:
        errors["card_number"] = "Enter the card number."
    elif not (digits.isascii() and digits.isdigit()):
        errors["card_number"] = "Enter the card number using digits only (spaces and dashes are fine)."
    elif not 12 <= len(digits) <= 19:
        errors["card_number"] = f"A card number has 12 to 19 digits; this one has {len(digits)}."
    elif not luhn_valid(digits):
        errors["card_number"] = "This card number is not valid; check it for a mistyped digit."
    else:
        brand = brand_of(digits)

    expiry, expiry_error = _check_expiry(card.expiry)
    if expiry_error:
        errors["card_expiry"] = expiry_error

    if cvc_error := _check_cvc(card.cvc.strip(), brand):
        errors["card_cvc"] = cvc_error

    if errors or brand is None:
        raise ValidationFailed(errors)
    return CardDetails(brand=brand, last4=digits[-4:], expiry=expiry)


def _check_expiry(text: str) -> tuple[str, str | None]:
    """("MM/YYYY", None), or ("", what is wrong). A card is good until the end of its expiry month."""
    match = _EXPIRY.fullmatch(text.strip())
    if match is None:
        return "", "Enter the expiry date as MM/YY, e.g. 08/29."
    month, year = int(match["month"]), int(match["year"])
    if len(match["year"]) == 2:
        year += 2000
    if not 1 <= month <= 12:
        return "", "Enter a real month, 01 to 12."
    today = clock.today()
    if (year, month) < (today.year, today.month):
        return "", f"This card expired at the end of {month:02d}/{year}; use another card."
    if year > today.year + MAX_YEARS_AHEAD:
        return "", f"A card does not expire as late as {year}; check the year."
    return f"{month:02d}/{year}", None


def _check_cvc(cvc: str, brand: str | None) -> str | None:
    """What is wrong with the security code, given the card's brand (None when the number is wrong
    and the brand unknown: then 3 or 4 digits pass)."""
    lengths: tuple[int, ...]
    if brand == "amex":
        lengths, wanted = (4,), "Enter the 4-digit security code from the front of the card."
    elif brand is None:
        lengths, wanted = (3, 4), "Enter the card's security code (3 or 4 digits)."
    else:
        lengths, wanted = (3,), "Enter the 3-digit security code from the back of the card."
    return None if cvc.isdigit() and cvc.isascii() and len(cvc) in lengths else wanted
