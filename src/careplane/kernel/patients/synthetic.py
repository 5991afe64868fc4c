"""A synthetic population for demos and benchmarks: realistic, reproducible, never real people.

Names come from Faker's en_US lists (by sex at birth), ages follow the US age pyramid, states
are weighted by population, ZIP codes fall inside the state, phone numbers use the fictional
555-0100..0199 range and e-mail addresses the reserved example.* domains, so nothing generated
can reach a real person. Rows are bulk-inserted in batches with SQLAlchemy Core.
Later units extend a generated patient (memberships, coverage, visits) from these rows.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any

from faker import Faker
from faker.providers.person.en_US import Provider as UsNames
from sqlalchemy import insert

from careplane.kernel import clock
from careplane.kernel.db import Database
from careplane.kernel.patients import mrn
from careplane.kernel.patients.duplicates import nickname_groups
from careplane.kernel.patients.models import Consent, ConsentKind, Patient
from careplane.kernel.patients.validation import normalise_name

#: Resident population in thousands, 2020 US Census (state, DC and territory totals, rounded).
STATE_POPULATION_THOUSANDS: dict[str, int] = {
    "CA": 39538,
    "TX": 29146,
    "FL": 21538,
    "NY": 20201,
    "PA": 13003,
    "IL": 12813,
    "OH": 11799,
    "GA": 10712,
    "NC": 10439,
    "MI": 10077,
    "NJ": 9289,
    "VA": 8631,
    "WA": 7705,
    "AZ": 7152,
    "MA": 7030,
    "TN": 6911,
    "IN": 6786,
    "MD": 6177,
    "MO": 6154,
    "WI": 5894,
    "CO": 5774,
    "MN": 5706,
    "SC": 5119,
    "AL": 5024,
    "LA": 4658,
    "KY": 4506,
    "OR": 4237,
    "OK": 3959,
    "CT": 3606,
    "UT": 3272,
    "IA": 3190,
    "NV": 3105,
    "AR": 3012,
    "MS": 2961,
    "KS": 2938,
    "NM": 2118,
    "NE": 1962,
    "ID": 1839,
    "WV": 1794,
    "HI": 1455,
    "NH": 1377,
    "ME": 1362,
    "RI": 1097,
    "MT": 1084,
    "DE": 990,
    "SD": 887,
    "ND": 779,
    "AK": 733,
    "DC": 690,
    "VT": 643,
    "WY": 577,
    "PR": 3286,
    "GU": 154,
    "VI": 87,
    "AS": 50,
    "MP": 48,
}

#: Share of the US population by five-year age band (2020 Census, rounded), capped at 95.
AGE_BANDS: list[tuple[int, int, float]] = [
    (0, 4, 6.0),
    (5, 9, 6.2),
    (10, 14, 6.5),
    (15, 19, 6.5),
    (20, 24, 6.6),
    (25, 29, 7.0),
    (30, 34, 6.9),
    (35, 39, 6.6),
    (40, 44, 6.2),
    (45, 49, 6.2),
    (50, 54, 6.3),
    (55, 59, 6.6),
    (60, 64, 6.3),
    (65, 69, 5.4),
    (70, 74, 4.4),
    (75, 79, 2.9),
    (80, 84, 1.9),
    (85, 89, 1.2),
    (90, 95, 0.6),
]

#: Language spoken at home, roughly (American Community Survey); ``en`` for most.
LANGUAGE_WEIGHTS: dict[str, float] = {
    "en": 84.0,
    "es": 12.0,
    "zh": 1.0,
    "vi": 0.6,
    "tl": 0.5,
    "ko": 0.4,
    "ar": 0.4,
    "fr": 0.3,
    "ru": 0.3,
    "ht": 0.2,
    "pt": 0.2,
}

_GENDER_IDENTITIES = ["Non-binary", "Transgender woman", "Transgender man", "Genderqueer"]
_EMAIL_DOMAINS = ["example.com", "example.org", "example.net"]


def _ascii(text: str) -> str:
    return "".join(ch for ch in normalise_name(text) if ch.isalnum())


class _Weighted:
    """Draws from Faker's frequency-weighted name lists with precomputed cumulative weights
    (Faker's own weighted draw recomputes them on every call, which dominates a large run)."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.items = list(weights)
        self.cum = list(accumulate(weights.values()))

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.items, cum_weights=self.cum)[0]


class PatientFactory:
    """Makes patient and consent rows. The same ``seed`` gives the same people."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self.rng = random.Random(self.seed)
        self.faker = Faker("en_US")
        self.faker.seed_instance(self.seed)
        self._states = _Weighted({k: float(v) for k, v in STATE_POPULATION_THOUSANDS.items()})
        self._languages = _Weighted(LANGUAGE_WEIGHTS)
        self._first = {
            "female": _Weighted(UsNames.first_names_female),
            "male": _Weighted(UsNames.first_names_male),
            "unknown": _Weighted(UsNames.first_names_nonbinary),
        }
        self._last = _Weighted(UsNames.last_names)
        nicknames: dict[str, list[str]] = {}
        for name, groups in nickname_groups().items():
            for other, other_groups in nickname_groups().items():
                if other != name and groups & other_groups and len(other) < len(name):
                    nicknames.setdefault(name, []).append(other)
        self._nicknames = nicknames

    def birth_date(self, today: date) -> date:
        low, high, _ = self.rng.choices(AGE_BANDS, weights=[w for _, _, w in AGE_BANDS])[0]
        age_days = self.rng.randint(low * 365, high * 365 + 364)
        return today - timedelta(days=age_days)

    def patient_row(self, now: datetime) -> dict[str, Any]:
        rng, fake = self.rng, self.faker
        roll = rng.random()
        sex = "female" if roll < 0.505 else ("male" if roll < 0.999 else "unknown")
        first = self._first[sex]
        given, family = first.draw(rng), self._last.draw(rng)
        middle = first.draw(rng) if rng.random() < 0.4 else None
        nick = self._nicknames.get(given.lower())
        preferred = rng.choice(nick).title() if nick and rng.random() < 0.3 else None
        state = self._states.draw(rng)
        language = self._languages.draw(rng)
        birth = self.birth_date(now.date())
        has_email = rng.random() < 0.92
        email = (
            f"{_ascii(given)}.{_ascii(family)}{rng.randint(1, 9999)}@{rng.choice(_EMAIL_DOMAINS)}"
            if has_email
            else None
        )
        phone = f"+1{rng.randint(2, 9)}{rng.randint(0, 99):02d}5550{rng.randint(100, 199)}"
        allow_sms = rng.random() < 0.6
        channel = rng.choices(["email", "sms", "phone", "portal"], weights=[50, 25, 10, 15])[0]
        if (channel == "email" and not email) or (channel == "sms" and not allow_sms):
            channel = "phone"
        return {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "given_name": given,
            "middle_name": middle,
            "family_name": family,
            "given_name_norm": normalise_name(given),
            "family_name_norm": normalise_name(family),
            "preferred_name": preferred,
            "birth_date": birth,
            "sex_at_birth": sex,
            "gender_identity": rng.choice(_GENDER_IDENTITIES) if rng.random() < 0.012 else None,
            "address_line1": fake.street_address(),
            "address_line2": fake.secondary_address() if rng.random() < 0.15 else None,
            "city": fake.city(),
            "state": state,
            "postal_code": fake.zipcode_in_state(state),
            "phone": phone,
            "email": email,
            "language": language,
            "preferred_channel": channel,
            "allow_sms": allow_sms,
            "allow_email": has_email,
            "allow_phone": True,
            "created_at": now,
            "updated_at": now,
        }

    def consent_rows(self, patient_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
        granted = now - timedelta(days=self.rng.randint(0, 3 * 365), seconds=self.rng.randint(0, 86399))
        kinds = [ConsentKind.TREATMENT, ConsentKind.HIPAA_AUTHORIZATION]
        if self.rng.random() < 0.6:
            kinds.append(ConsentKind.TELEHEALTH)
        return [
            {
                "id": uuid.UUID(int=self.rng.getrandbits(128), version=4),
                "patient_id": patient_id,
                "kind": k.value,
                "version": "2026-01",
                "granted_at": granted,
                "revoked_at": None,
                "recorded_by_user_id": None,
            }
            for k in kinds
        ]


def insert_synthetic_patients(
    db: Database,
    count: int,
    *,
    seed: int | None = None,
    batch_size: int = 2000,
    on_progress: Callable[[int], None] | None = None,
) -> list[uuid.UUID]:
    """Insert ``count`` synthetic patients with consents, one transaction per batch; returns their ids."""
    factory = PatientFactory(seed)
    ids: list[uuid.UUID] = []
    done = 0
    while done < count:
        size = min(batch_size, count - done)
        now = clock.now()
        patients = [factory.patient_row(now) for _ in range(size)]
        consents = [row for p in patients for row in factory.consent_rows(p["id"], now)]
        with db.unit_of_work() as session:
            for row, value in zip(patients, mrn.new_mrns(session, size, randbelow=factory.rng.randrange), strict=True):
                row["mrn"] = value
            session.execute(insert(Patient.__table__), patients)
            session.execute(insert(Consent.__table__), consents)
        ids.extend(p["id"] for p in patients)
        done += size
        if on_progress:
            on_progress(size)
    return ids
