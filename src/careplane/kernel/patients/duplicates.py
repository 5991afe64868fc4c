"""Is this registration someone we already know? Candidates, with a score and the reasons.

Every candidate shares the birth date (an indexed lookup that keeps the check cheap on a large
registry). Among those, a candidate is likely the same person when the names are close
(Jaro-Winkler on the normalised family and given names, tolerating nicknames and initials), or
when the e-mail address or phone number is the same.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from careplane.kernel.db import fetch
from careplane.kernel.patients.models import Patient
from careplane.kernel.prepared import Prepared

#: Name similarity at or above this (0..1) makes a candidate.
NAME_THRESHOLD = 0.9
_MAX_SAME_BIRTH_DATE = 1000
_NICKNAMES = Path(__file__).parent / "data" / "nicknames.csv"


@dataclass(frozen=True)
class Known:
    """What the duplicate check reads of a registered patient: enough to score and to show it."""

    id: uuid.UUID
    mrn: str
    given_name: str
    middle_name: str | None
    family_name: str
    given_name_norm: str
    family_name_norm: str
    birth_date: date
    email: str | None
    phone: str | None
    merged_into_id: uuid.UUID | None

    @property
    def active(self) -> bool:
        return self.merged_into_id is None

    @property
    def legal_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.middle_name, self.family_name) if p)


# Prepared once: every registration runs it (as plain rows: it finds no one most of the time, and
# the ORM's work around a query costs more than the query).
_SAME_BIRTH_DATE = Prepared(
    select(*(Patient.__table__.c[name] for name in Known.__dataclass_fields__))
    .where(Patient.birth_date == bindparam("birth_date"))
    .limit(_MAX_SAME_BIRTH_DATE)
)


@dataclass
class Candidate:
    patient: Known
    score: float
    reasons: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """What a registering clerk may see to decide: enough to tell people apart, no more."""
        p = self.patient
        return {
            "id": str(p.id),
            "mrn": p.mrn,
            "name": p.legal_name,
            "birth_date": p.birth_date.isoformat(),
            "score": self.score,
            "reasons": self.reasons,
        }


def jaro_winkler(a: str, b: str, prefix_scale: float = 0.1) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    a_flags = [False] * len(a)
    b_flags = [False] * len(b)
    matches = 0
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_flags[j] and b[j] == ch:
                a_flags[i] = b_flags[j] = True
                matches += 1
                break
    if matches == 0:
        return 0.0
    a_matched = [ch for ch, hit in zip(a, a_flags, strict=True) if hit]
    b_matched = [ch for ch, hit in zip(b, b_flags, strict=True) if hit]
    transpositions = sum(x != y for x, y in zip(a_matched, b_matched, strict=True)) / 2
    jaro = (matches / len(a) + matches / len(b) + (matches - transpositions) / matches) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * prefix_scale * (1 - jaro)


@lru_cache(maxsize=1)
def nickname_groups() -> dict[str, frozenset[int]]:
    groups: dict[str, set[int]] = {}
    with _NICKNAMES.open(encoding="utf-8") as handle:
        rows = csv.reader(line for line in handle if line.strip() and not line.startswith("#"))
        for number, row in enumerate(rows):
            for name in row:
                groups.setdefault(name.strip(), set()).add(number)
    return {name: frozenset(ids) for name, ids in groups.items()}


def same_by_nickname(a: str, b: str) -> bool:
    groups = nickname_groups()
    return bool(groups.get(a, frozenset()) & groups.get(b, frozenset()))


def given_similarity(a: str, b: str) -> tuple[float, str | None]:
    """How alike two normalised given names are, and why, when it is not plain spelling."""
    first_a, first_b = (a.split() or [""])[0], (b.split() or [""])[0]
    if a == b:
        return 1.0, None
    if same_by_nickname(first_a, first_b):
        return 0.95, f"given names {first_a!r} and {first_b!r} are a name and its nickname"
    if (len(first_a) == 1 or len(first_b) == 1) and first_a[:1] == first_b[:1]:
        return 0.9, f"given name initial {first_a[:1].upper()!r} matches"
    return max(jaro_winkler(a, b), jaro_winkler(first_a, first_b)), None


def score_pair(family_a: str, given_a: str, family_b: str, given_b: str) -> tuple[float, list[str]]:
    family = jaro_winkler(family_a, family_b)
    given, why = given_similarity(given_a, given_b)
    reasons = ["same date of birth"]
    reasons.append("same family name" if family == 1.0 else f"similar family name ({family:.2f})")
    reasons.append(why or ("same given name" if given == 1.0 else f"similar given name ({given:.2f})"))
    return 0.55 * family + 0.45 * given, reasons


def find_candidates(
    session: Session,
    *,
    family_name_norm: str,
    given_name_norm: str,
    birth_date: date,
    email: str | None = None,
    phone: str | None = None,
    exclude: uuid.UUID | None = None,
) -> list[Candidate]:
    """Registered patients who may be this person, best first."""
    found: list[Candidate] = []
    for row in fetch(session, _SAME_BIRTH_DATE, birth_date=birth_date):
        other = Known(*row)
        if other.id == exclude:
            continue
        score, reasons = score_pair(family_name_norm, given_name_norm, other.family_name_norm, other.given_name_norm)
        contact = []
        if email and other.email and email.lower() == other.email.lower():
            contact.append("same e-mail address")
        if phone and other.phone and phone == other.phone:
            contact.append("same phone number")
        if score < NAME_THRESHOLD and not contact:
            continue
        for _ in contact:
            score = max(score, 0.9) + (1 - max(score, 0.9)) * 0.5
        found.append(Candidate(other, round(min(score, 1.0), 3), reasons + contact))
    found.sort(key=lambda c: (-c.score, c.patient.mrn))
    return found
