"""Money as a whole number of cents in one currency (US dollars), never a float.

:class:`Money` adds, subtracts, multiplies by a whole number and compares; it is divided only by
:meth:`Money.allocate` (or :meth:`Money.split`), which hands out every cent: the shares always add
up to the amount. :meth:`Money.parse` reads what a person types ("12.34", "$1,234.50", "-$5");
:meth:`Money.format` writes "$1,234.50" and "-$5.00". :class:`MoneyType` stores it in an integer
column (cents), and templates show it with the ``money`` filter (:mod:`careplane.kernel.web`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

CURRENCY = "USD"
SYMBOL = "$"


class MoneyParseError(ValueError):
    """Text that is not an amount of money; the message says what is wrong with it."""


def _whole(value: object, what: str) -> int:
    """``value`` if it is an int (not a bool, float or Decimal), else TypeError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a whole number (int), not {type(value).__name__}: {value!r}")
    return value


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount of US dollars, as a whole number of cents (negative for a credit or refund)."""

    cents: int

    def __post_init__(self) -> None:
        _whole(self.cents, "Money's cents")

    # ------------------------------------------------------------ making

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def dollars(cls, dollars: int) -> Money:
        """Whole dollars: ``Money.dollars(12) == Money(1200)``."""
        return cls(_whole(dollars, "dollars") * 100)

    @classmethod
    def sum(cls, amounts: Iterable[Money]) -> Money:
        """The total of ``amounts``; zero for none (the built-in ``sum`` works too)."""
        total = 0
        for amount in amounts:
            total += _money(amount, "add").cents
        return cls(total)

    @classmethod
    def parse(cls, text: str) -> Money:
        """An amount as a person writes it: an optional minus sign (before or after the dollar
        sign), an optional ``$``, dollars with or without thousands commas, and up to two decimal
        places: "12.34", "$1,234.50", "-$5", "$-0.5", ".99". Anything else is a
        :class:`MoneyParseError` saying why."""
        if not isinstance(text, str):
            raise TypeError(f"Money.parse takes text, not {type(text).__name__}")
        cleaned = text.strip()
        if not cleaned:
            raise MoneyParseError("Enter an amount, e.g. 12.34.")
        match = _AMOUNT.fullmatch(cleaned)
        if match is None:
            raise MoneyParseError(_why_not(cleaned))
        if match["sign_before"] and match["sign_after"]:
            raise MoneyParseError(f"{text.strip()!r} has two minus signs; write one, e.g. -5.00 or -$5.00.")
        whole, fraction = match["whole"] or "", match["fraction"]
        if "," in whole and not _GROUPED.fullmatch(whole):
            raise MoneyParseError(
                f"{text.strip()!r}: thousands commas go between groups of three digits, e.g. 1,234.50."
            )
        if fraction is not None and len(fraction) > 2:
            raise MoneyParseError(f"{text.strip()!r} has more than two decimal places; amounts are in cents.")
        if not whole and not fraction:
            raise MoneyParseError(f"{text.strip()!r} has no digits; enter an amount, e.g. 12.34.")
        cents = int(whole.replace(",", "") or "0") * 100 + int((fraction or "").ljust(2, "0"))
        negative = bool(match["sign_before"] or match["sign_after"])
        return cls(-cents if negative else cents)

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.cents + other.cents)

    def __radd__(self, other: object) -> Money:
        # sum() starts from the int 0: only that zero is taken as money.
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.cents - other.cents)

    def __mul__(self, times: int) -> Money:
        if isinstance(times, bool) or not isinstance(times, int):
            return NotImplemented
        return Money(self.cents * times)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.cents)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.cents))

    def __bool__(self) -> bool:
        return self.cents != 0

    # ------------------------------------------------------------ dividing

    def allocate(self, ratios: Sequence[int]) -> list[Money]:
        """The amount in shares proportional to ``ratios`` (whole numbers, none negative, not all
        zero), losing no cent: each share is rounded down (towards zero) and the cents left over
        go one each to the shares that lost the most in rounding (the earlier on a tie). The shares
        add up to the amount exactly; a share whose ratio is 0 gets nothing.

        ``Money(100).allocate([1, 1, 1]) == [Money(34), Money(33), Money(33)]``"""
        weights = [_whole(r, "a ratio") for r in ratios]
        if not weights:
            raise ValueError("Allocate among at least one share.")
        if any(w < 0 for w in weights):
            raise ValueError(f"Ratios cannot be negative: {weights}.")
        total = sum(weights)
        if total == 0:
            raise ValueError("At least one ratio must be above zero.")
        size = abs(self.cents)
        shares = [size * w // total for w in weights]
        left = size - sum(shares)
        by_loss = sorted(range(len(weights)), key=lambda i: (-(size * weights[i] % total), i))
        for i in by_loss[:left]:
            shares[i] += 1
        sign = -1 if self.cents < 0 else 1
        return [Money(sign * share) for share in shares]

    def split(self, parts: int) -> list[Money]:
        """The amount in ``parts`` shares as equal as cents allow, the larger ones first."""
        if _whole(parts, "parts") < 1:
            raise ValueError(f"Split into at least one part, not {parts}.")
        return self.allocate([1] * parts)

    # ------------------------------------------------------------ showing

    def format(self) -> str:
        """``$1,234.50``; a negative amount ``-$5.00``."""
        dollars, cents = divmod(abs(self.cents), 100)
        return f"{'-' if self.cents < 0 else ''}{SYMBOL}{dollars:,}.{cents:02d}"

    def __str__(self) -> str:
        return self.format()


ZERO = Money(0)

_AMOUNT = re.compile(r"(?P<sign_before>-)?\$?(?P<sign_after>-)?(?P<whole>[0-9,]*)(?:\.(?P<fraction>[0-9]*))?")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")


def _why_not(text: str) -> str:
    """What is wrong with ``text``, which :data:`_AMOUNT` does not match."""
    if text.count(".") > 1:
        return (
            f"{text!r} has more than one decimal point; use a point for cents and commas for thousands, e.g. 1,234.50."
        )
    rest = text.removeprefix("-").removeprefix("$")
    if "-" in (rest if text.startswith("-") else rest.removeprefix("-")):
        return f"{text!r}: a minus sign goes only at the start, e.g. -5.00 or -$5.00."
    return f"{text!r} is not an amount of money; write it like 12.34 or $1,234.50."


def _money(value: object, doing: str) -> Money:
    if not isinstance(value, Money):
        raise TypeError(f"Cannot {doing} {type(value).__name__} {value!r} as money; make it a Money first.")
    return value


class MoneyType(TypeDecorator[Money]):
    """A :class:`Money` column, stored as a whole number of cents (BIGINT; INTEGER on SQLite).

    Binding anything but Money (an int, a float, a Decimal) is refused, so that no figure in
    dollars is ever stored as cents, or the other way round."""

    impl = BigInteger
    cache_ok = True

    @property
    def python_type(self) -> type[Money]:
        return Money

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return _money(value, "store").cents

    def process_literal_param(self, value: Any, dialect: Any) -> str:
        return "NULL" if value is None else str(_money(value, "store").cents)

    def process_result_value(self, value: Any, dialect: Any) -> Money | None:
        return None if value is None else Money(int(value))
