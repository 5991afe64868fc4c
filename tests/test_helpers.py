"""The shared test helpers log in and mint tokens exactly as the app checks them."""

from careplane.kernel import clock
from careplane.kernel.identity import authn
from careplane.kernel.identity.models import ApiToken
from careplane.kernel.identity.roles import Role
from tests.helpers import api_token, login


def test_login_gives_a_verified_session_that_reaches_home(client, db):
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    user = login(client, db, role=Role.CLINICIAN)
    assert user.mfa_secret, "staff users always have a second factor"
    page = client.get("/", follow_redirects=False)
    assert page.status_code == 200
    assert user.display_name in page.text


def test_patient_login_has_no_mfa_secret(client, db):
    user = login(client, db, role="patient", email="Pat@Example.org")
    assert user.email == "pat@example.org"
    assert user.mfa_secret is None
    assert user.password_hash


def test_api_token_authenticates_until_revoked(client, db):
    user = login(client, db, role=Role.BILLER)
    raw = api_token(db, user)
    assert raw.startswith(authn.API_TOKEN_PREFIX)
    with db.unit_of_work() as s:
        who = authn.from_bearer_token(s, raw)
        assert who is not None and who.user.id == user.id
        assert authn.from_bearer_token(s, raw + "x") is None
        s.query(ApiToken).filter_by(user_id=user.id).one().revoked_at = clock.now()
    with db.unit_of_work() as s:
        assert authn.from_bearer_token(s, raw) is None
