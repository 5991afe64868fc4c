"""Times on the pages are shown in the viewer's time zone (the cp_tz cookie the layout's script
sets from the browser), named, and in UTC until that zone is known."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from careplane.kernel.identity.models import ApiToken
from careplane.kernel.identity.roles import Role
from careplane.kernel.web import ZONE_COOKIE
from tests.helpers import api_token, login

MADE = datetime(2026, 7, 1, 16, 30, tzinfo=UTC)


def _profile_with_a_token(client, db) -> None:  # noqa: ANN001
    user = login(client, db, role=Role.BILLER)
    api_token(db, user)
    with db.unit_of_work() as s:
        s.execute(update(ApiToken).values(created_at=MADE))


def test_times_are_shown_in_the_viewers_zone_and_say_which(client, db):
    _profile_with_a_token(client, db)
    client.cookies.set(ZONE_COOKIE, "America%2FNew_York")
    page = client.get("/profile").text
    assert '<time datetime="2026-07-01T16:30:00+00:00">2026-07-01 12:30 EDT</time>' in page
    client.cookies.set(ZONE_COOKIE, "Asia%2FKolkata")
    assert "2026-07-01 22:00 IST" in client.get("/profile").text


def test_without_a_known_zone_times_are_in_utc_and_say_so(client, db):
    _profile_with_a_token(client, db)
    assert "2026-07-01 16:30 UTC" in client.get("/profile").text
    client.cookies.set(ZONE_COOKIE, "Mars%2FOlympus_Mons")
    assert "2026-07-01 16:30 UTC" in client.get("/profile").text
    client.cookies.set(ZONE_COOKIE, "..%2F..%2Fetc%2Fpasswd")
    assert "2026-07-01 16:30 UTC" in client.get("/profile").text
