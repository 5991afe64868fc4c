"""Helpers for the patient registry tests: people who act, and ways to log them in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from careplane.kernel.access import Actor
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients import service
from careplane.kernel.web import SESSION_COOKIE
from tests.helpers import api_token, bearer, make_user, session_cookie

SYSTEM = Actor.for_system("tests")


def patient_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "given_name": "Jonathan",
        "family_name": "Smith",
        "birth_date": date(1984, 7, 21),
        "sex_at_birth": "male",
        "state": "NY",
        "postal_code": "10001",
        "phone": "(212) 555-0123",
        "email": "jonathan.smith@example.org",
    }
    data.update(overrides)
    return data


@pytest.fixture
def register(db) -> Callable[..., object]:  # noqa: ANN001
    """Register a patient as the system and return it (detached, with its id and MRN)."""

    def make(**overrides: object):  # noqa: ANN202
        with db.unit_of_work() as s:
            return service.register_patient(s, SYSTEM, patient_data(**overrides), confirm_not_duplicate=True)

    return make


@pytest.fixture
def login(db, settings) -> Callable[..., dict[str, str]]:  # noqa: ANN001
    """Create a user and return request headers/cookies that authenticate as them.

    ``via="token"`` gives an Authorization header; ``via="cookie"`` a fully verified web session.
    """

    def make(role: Role, *, patient_id=None, via: str = "token", email: str | None = None):  # noqa: ANN001, ANN202
        user = make_user(db, role=role, patient_id=patient_id, email=email)
        if via == "token":
            return {"headers": bearer(api_token(db, user)), "user_id": user.id}
        return {"cookies": {SESSION_COOKIE: session_cookie(db, settings, user)}, "user_id": user.id}

    return make
