"""Medical record numbers: ``CP`` + 8 random digits + a Luhn check digit, e.g. ``CP123456782``.

The check digit catches a mistyped digit or two swapped neighbours when an MRN is read out or
keyed in. MRNs are random rather than sequential so they say nothing about when or where a
patient registered; the unique constraint on ``patients.mrn`` is the final guard.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from careplane.kernel.db import fetch
from careplane.kernel.patients.models import Patient
from careplane.kernel.prepared import Prepared

PREFIX = "CP"
BODY_DIGITS = 8
_SHAPE = re.compile(rf"^{PREFIX}\d{{{BODY_DIGITS + 1}}}$")


def luhn_digit(digits: str) -> int:
    """The digit that makes ``digits + digit`` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:  # doubled: these sit in odd positions once the check digit is appended
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return (10 - total % 10) % 10


def make_mrn(body: int) -> str:
    digits = f"{body:0{BODY_DIGITS}d}"
    return f"{PREFIX}{digits}{luhn_digit(digits)}"


def is_valid_mrn(value: str) -> bool:
    value = value.strip().upper()
    if not _SHAPE.match(value):
        return False
    digits = value[len(PREFIX) :]
    return luhn_digit(digits[:-1]) == int(digits[-1])


def random_mrn(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    return make_mrn(randbelow(10**BODY_DIGITS))


def new_mrns(
    session: Session, count: int, *, randbelow: Callable[[int], int] = secrets.randbelow, reserved: Iterable[str] = ()
) -> list[str]:
    """``count`` fresh MRNs, unique among themselves, ``reserved`` and those already in the database."""
    taken = set(reserved)
    fresh: list[str] = []
    while len(fresh) < count:
        wanted = count - len(fresh)
        batch: set[str] = set()
        while len(batch) < wanted:
            mrn = random_mrn(randbelow)
            if mrn not in taken:
                batch.add(mrn)
        for chunk in _chunks(sorted(batch), 500):
            clashes = set(session.scalars(select(Patient.mrn).where(Patient.mrn.in_(chunk))))
            batch -= clashes
            taken |= clashes
        taken |= batch
        fresh.extend(batch)
    return fresh


_IN_USE = Prepared(select(Patient.mrn).where(Patient.mrn == bindparam("mrn")))


def new_mrn(session: Session) -> str:
    """One fresh MRN: what :func:`new_mrns` does for one, as a prepared lookup (every registration asks)."""
    while True:
        mrn = random_mrn()
        if not fetch(session, _IN_USE, mrn=mrn):
            return mrn


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
