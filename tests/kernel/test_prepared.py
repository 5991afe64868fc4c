"""Prepared statements return exactly what SQLAlchemy's own execution returns, on both engines."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import bindparam, select

from careplane.kernel.db import fetch
from careplane.kernel.identity.models import ApiToken, User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.service import create_api_token
from careplane.kernel.identity.users import create_user
from careplane.kernel.patients.models import Consent, Patient
from careplane.kernel.patients.synthetic import insert_synthetic_patients
from careplane.kernel.prepared import Prepared
from tests.helpers import run

PATIENTS_IN = (
    select(Patient.__table__)
    .where(Patient.state == bindparam("state"), Patient.allow_sms.is_(True))
    .order_by(Patient.mrn)
)
TOKENS = (
    select(ApiToken.id, ApiToken.expires_at, ApiToken.last_used_at, User.id.label("user_id"), User.is_active)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.name == "prepared", User.is_active.is_(True))
)


@pytest.fixture
def data(db):  # noqa: ANN001, ANN201
    insert_synthetic_patients(db, 60, seed=3)
    with db.unit_of_work() as s:
        user = create_user(s, email="p@example.org", display_name="P", roles=[Role.BILLER])
        create_api_token(s, user, "prepared", via="web")
        states = [state for (state,) in s.execute(select(Patient.state).distinct()) if state]
    return states


def test_rows_match_sqlalchemy_for_every_column_type(db, data):  # noqa: ANN001
    """UUIDs, aware UTC datetimes (and NULL ones), dates, booleans and text, with a parameter and
    literals bound at compile time."""
    prepared, tokens = Prepared(PATIENTS_IN), Prepared(TOKENS)
    found = []
    with db.unit_of_work() as s:
        for state in data:
            expected = [tuple(row) for row in s.execute(PATIENTS_IN, {"state": state})]
            assert fetch(s, prepared, state=state) == expected
            found += expected
        token_rows = fetch(s, tokens)
        assert token_rows == [tuple(row) for row in s.execute(TOKENS)]
    assert found and token_rows
    first = prepared.mappings(found)[0]
    assert isinstance(first["id"], uuid.UUID) and first["created_at"].tzinfo is not None


def test_a_read_runs_prepared_statements_on_the_read_engine(db, data):  # noqa: ANN001
    """On PostgreSQL the read engine's driver is asyncpg, not the unit of work's psycopg: the values
    still come back as the same Python types (aware UTC datetimes, UUIDs, dates)."""
    prepared, tokens = Prepared(PATIENTS_IN), Prepared(TOKENS)
    with db.unit_of_work() as s:
        state, expected = next(
            (state, rows)
            for state in data
            if (rows := [tuple(row) for row in s.execute(PATIENTS_IN, {"state": state})])
        )
        expected_tokens = [tuple(row) for row in s.execute(TOKENS)]

    async def read():  # noqa: ANN202
        return await db.read(lambda reader: (fetch(reader, prepared, state=state), fetch(reader, tokens)))

    found, token_rows = run(db, read())
    assert found == expected and token_rows == expected_tokens
    for got, want in zip(found[0] + token_rows[0], expected[0] + expected_tokens[0], strict=True):
        assert isinstance(got, type(want))  # asyncpg's UUIDs are a subclass of uuid.UUID


def test_what_cannot_be_prepared_is_refused_when_first_run(db, data):  # noqa: ANN001
    expanding = Prepared(select(Consent.id).where(Consent.kind.in_(bindparam("kinds", expanding=True))))
    with db.unit_of_work() as s, pytest.raises(ValueError, match="expanding"):
        fetch(s, expanding, kinds=["treatment"])
    with db.unit_of_work() as s, pytest.raises(KeyError):
        fetch(s, Prepared(PATIENTS_IN))  # a parameter left out fails, rather than matching NULL
