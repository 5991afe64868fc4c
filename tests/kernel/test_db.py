from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user


def test_times_come_back_aware_utc(db):
    eastern = timezone(timedelta(hours=-5))
    with db.unit_of_work() as s:
        user = create_user(s, email="A@Example.org", display_name="A", roles=[Role.BILLER])
        user.last_login_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=eastern)
    with db.unit_of_work() as s:
        got = s.scalar(select(User))
        assert got.email == "a@example.org"
        assert got.last_login_at == datetime(2026, 1, 2, 8, 4, 5, tzinfo=UTC)
        assert got.last_login_at.tzinfo is not None
        assert got.roles == {Role.BILLER}


def test_naive_datetimes_are_refused(db):
    with pytest.raises(Exception, match="naive datetime"):
        with db.unit_of_work() as s:
            user = create_user(s, email="b@example.org", display_name="B", roles=[Role.BILLER])
            user.last_login_at = datetime(2026, 1, 2)
            s.flush()


def test_unit_of_work_rolls_back_on_error(db):
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as s:
            create_user(s, email="c@example.org", display_name="C", roles=[Role.BILLER])
            s.flush()
            raise RuntimeError("boom")
    with db.unit_of_work() as s:
        assert s.scalar(select(User)) is None


def test_health_endpoints(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "ok"
    assert "careplane_http_requests_total" in client.get("/metrics").text
