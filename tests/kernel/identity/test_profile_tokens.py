import re
import uuid

from sqlalchemy import select

from careplane.kernel.identity.models import ApiToken
from careplane.kernel.identity.roles import Role
from careplane.kernel.web import CSRF_COOKIE, SESSION_COOKIE

from .conftest import PASSWORD, full_login, link_in, log_in, mails_to, make_user, post


def _bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def test_profile_shows_the_account(db, client):
    make_user(db, "doc@example.org", Role.CLINICIAN, Role.OPERATIONS_LEAD, mfa=True, unit="virtual_care")
    full_login(client, db, "doc@example.org")
    page = client.get("/profile")
    for text in ["Doc", "doc@example.org", "Clinician", "Operations lead", "Virtual Care", "not confirmed"]:
        assert text in page.text
    assert 'badge ok">on' in page.text


def test_email_confirmation_from_the_profile(db, client, settings):
    # staff accounts are not held while unconfirmed (identity.confirmation); they confirm from the profile
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)
    full_login(client, db, "doc@example.org")
    assert post(client, "/profile/verify-email").status_code == 303
    link = link_in(mails_to(db, "doc@example.org")[-1], "/verify-email/")
    assert client.get(link).status_code == 200
    assert 'badge ok">confirmed' in client.get("/profile").text


def test_change_password_needs_the_current_one_and_ends_other_sessions(db, client, app):
    from fastapi.testclient import TestClient

    make_user(db, "pat@example.org")
    with TestClient(app) as other:
        log_in(other, "pat@example.org")
        assert other.get("/profile", follow_redirects=False).status_code == 200
        full_login(client, db, "pat@example.org")

        wrong = post(
            client,
            "/profile/password",
            {
                "current_password": "nope nope nope",
                "password": "new passphrase here",
                "password_confirm": "new passphrase here",
            },
        )
        assert wrong.status_code == 422 and "not correct" in wrong.text
        weak = post(
            client,
            "/profile/password",
            {"current_password": PASSWORD, "password": "aaaaaaaaaaaaaa", "password_confirm": "aaaaaaaaaaaaaa"},
        )
        assert weak.status_code == 422 and "different characters" in weak.text

        ok = post(
            client,
            "/profile/password",
            {
                "current_password": PASSWORD,
                "password": "new passphrase here",
                "password_confirm": "new passphrase here",
            },
        )
        assert ok.status_code == 303
        assert client.get("/profile", follow_redirects=False).status_code == 200  # this session stays
        assert other.get("/profile", follow_redirects=False).status_code == 303  # the other one ended
    post(client, "/logout")
    assert log_in(client, "pat@example.org", PASSWORD).status_code == 401
    assert log_in(client, "pat@example.org", "new passphrase here").status_code == 303


def test_token_from_the_profile_is_shown_once_works_as_bearer_and_stops_after_revoke(db, client):
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)
    full_login(client, db, "doc@example.org")
    created = post(client, "/profile/tokens", {"name": "nightly export", "expires_days": "30"})
    assert created.status_code == 200
    raw = re.search(r'value="(cpt_[^"]+)"', created.text).group(1)
    with db.unit_of_work() as s:
        token = s.scalar(select(ApiToken))
        assert raw not in (token.token_hash, token.prefix) and raw.startswith(token.prefix)
        assert token.expires_at is not None
    profile = client.get("/profile").text
    assert raw not in profile and token.prefix in profile and "nightly export" in profile

    api = _bearer(raw)
    me = client.get("/api/v1/me", headers=api)
    assert me.status_code == 200 and me.json()["email"] == "doc@example.org" and me.json()["roles"] == ["clinician"]
    assert (
        "never"
        not in re.search(r"nightly export.*?</tr>", client.get("/profile").text, re.S).group(0).split("</td>")[3]
    )

    assert post(client, f"/profile/tokens/{token.id}/revoke").status_code == 303
    refused = client.get("/api/v1/me", headers=api)
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    after = client.get("/profile").text
    assert "“nightly export” has been revoked" in after and "<td>nightly export</td>" not in after


def test_token_form_errors(db, client):
    make_user(db, "pat@example.org")
    full_login(client, db, "pat@example.org")
    blank = post(client, "/profile/tokens", {"name": " ", "expires_days": ""})
    assert blank.status_code == 422 and "Give the token a name" in blank.text
    days = post(client, "/profile/tokens", {"name": "x", "expires_days": "soon"})
    assert days.status_code == 422 and "whole number" in days.text
    with db.unit_of_work() as s:
        assert s.scalar(select(ApiToken)) is None


def test_tokens_api(db, client):
    make_user(db, "pat@example.org")
    make_user(db, "other@example.org")
    full_login(client, db, "pat@example.org")
    first = post(client, "/profile/tokens", {"name": "first"})
    raw = re.search(r'value="(cpt_[^"]+)"', first.text).group(1)
    # the logged-in session may create tokens through the API too (with its CSRF token)
    created = client.post(
        "/api/v1/me/tokens",
        json={"name": "ci", "expires_days": 7},
        headers={"X-CSRF-Token": client.cookies.get(CSRF_COOKIE)},
    )
    assert created.status_code == 201
    client.cookies.delete(SESSION_COOKIE)
    api = _bearer(raw)

    body = created.json()
    assert body["token"].startswith("cpt_") and body["name"] == "ci" and body["expires_at"]
    listed = client.get("/api/v1/me/tokens", headers=api).json()
    assert {t["name"] for t in listed} == {"first", "ci"} and all("token" not in t for t in listed)
    assert client.get("/api/v1/me", headers=_bearer(body["token"])).status_code == 200

    invalid = client.post("/api/v1/me/tokens", json={"name": "", "expires_days": 0}, headers=api)
    assert invalid.status_code == 422 and invalid.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in invalid.json()["errors"]} == {"name", "expires_days"}

    # Someone else's token cannot be revoked (or even seen to exist).
    with db.unit_of_work() as s:
        from careplane.kernel.identity.service import create_api_token
        from careplane.kernel.identity.users import find_by_email

        _, theirs = create_api_token(s, find_by_email(s, "other@example.org"), "theirs", via="web")
    assert client.delete(f"/api/v1/me/tokens/{theirs.id}", headers=api).status_code == 404
    assert client.delete(f"/api/v1/me/tokens/{uuid.uuid4()}", headers=api).status_code == 404

    assert client.delete(f"/api/v1/me/tokens/{body['id']}", headers=api).status_code == 204
    assert client.get("/api/v1/me", headers=_bearer(body["token"])).status_code == 401
    assert client.delete(f"/api/v1/me/tokens/{body['id']}", headers=api).status_code == 404


def test_api_with_session_cookie_needs_the_csrf_header_to_change_things(db, client):
    make_user(db, "pat@example.org")
    full_login(client, db, "pat@example.org")
    assert client.get("/api/v1/me").json()["email"] == "pat@example.org"
    assert client.post("/api/v1/me/tokens", json={"name": "x"}).status_code == 403
    ok = client.post("/api/v1/me/tokens", json={"name": "x"}, headers={"X-CSRF-Token": client.cookies.get(CSRF_COOKIE)})
    assert ok.status_code == 201


def test_api_refuses_unauthenticated_and_half_logged_in_callers(db, client):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=_bearer("cpt_made_up")).status_code == 401
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)
    log_in(client, "doc@example.org")  # password only
    assert client.get("/api/v1/me").status_code == 401


def test_openapi_documents_the_me_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/me", "/api/v1/me/tokens", "/api/v1/me/tokens/{token_id}"} <= set(spec["paths"])
    post_op = spec["paths"]["/api/v1/me/tokens"]["post"]
    assert {"201", "401", "422"} <= set(post_op["responses"])
    assert "application/problem+json" in post_op["responses"]["401"]["content"]


def test_names_outside_latin_1_survive_the_flash_message(db, client):
    make_user(db, "pat@example.org")
    full_login(client, db, "pat@example.org")
    post(client, "/profile/tokens", {"name": "Über-Bericht 📊"})
    with db.unit_of_work() as s:
        token_id = s.scalar(select(ApiToken)).id
    revoked = post(client, f"/profile/tokens/{token_id}/revoke")
    assert revoked.status_code == 303
    assert "“Über-Bericht 📊” has been revoked" in client.get("/profile").text


def test_a_token_cannot_create_another_so_none_outlives_its_parent(db, client):
    make_user(db, "pat@example.org")
    full_login(client, db, "pat@example.org")
    parent = re.search(r'value="(cpt_[^"]+)"', post(client, "/profile/tokens", {"name": "parent"}).text).group(1)
    client.cookies.delete(SESSION_COOKIE)
    refused = client.post("/api/v1/me/tokens", json={"name": "child"}, headers=_bearer(parent))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/token-needs-web-session") and "logged-in web session" in problem["detail"]
    with db.unit_of_work() as s:
        assert [t.name for t in s.scalars(select(ApiToken))] == ["parent"]
    # a refused request with a session cookie beside the token is still the token's
    full_login(client, db, "pat@example.org")
    assert client.post("/api/v1/me/tokens", json={"name": "child"}, headers=_bearer(parent)).status_code == 403
    spec = client.get("/api/v1/openapi.json").json()
    assert "403" in spec["paths"]["/api/v1/me/tokens"]["post"]["responses"]
