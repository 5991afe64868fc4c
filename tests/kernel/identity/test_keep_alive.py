"""POST /session/keep-alive: 'Stay logged in' restarts the idle clock, for a logged-in page with its CSRF token only."""

from datetime import timedelta

from sqlalchemy import select, update

from careplane.kernel import clock
from careplane.kernel.identity.models import WebSession
from careplane.kernel.identity.roles import Role
from careplane.kernel.web import CSRF_COOKIE, CSRF_HEADER
from tests.helpers import login


def test_stay_logged_in_restarts_the_idle_clock_and_needs_the_csrf_token(client, db):
    user = login(client, db, role=Role.CLINICIAN)
    earlier = clock.now() - timedelta(minutes=30)
    with db.unit_of_work() as s:
        s.execute(update(WebSession).where(WebSession.user_id == user.id).values(last_seen_at=earlier))
    client.get("/profile")
    assert client.post("/session/keep-alive").status_code == 403  # no CSRF token
    kept = client.post("/session/keep-alive", headers={CSRF_HEADER: client.cookies.get(CSRF_COOKIE)})
    assert kept.status_code == 204
    with db.unit_of_work() as s:
        seen = s.scalar(select(WebSession.last_seen_at).where(WebSession.user_id == user.id))
    assert seen > earlier + timedelta(minutes=29)


def test_nobody_logged_in_has_nothing_to_keep(client):
    answer = client.post("/session/keep-alive", follow_redirects=False)
    assert answer.status_code in (303, 401, 403)
