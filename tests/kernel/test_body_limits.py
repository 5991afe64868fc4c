"""Request bodies are bounded per route and refused before they are read (kernel/guarded_route.py).

The ASGI tests below call the app directly with a ``receive`` that counts what the app takes, so
"refused before it is read" is measured, not assumed.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from careplane.app import create_app
from careplane.kernel.identity.roles import Role
from careplane.kernel.web import CSRF_COOKIE, SESSION_COOKIE
from tests.helpers import api_token, bearer, login, make_user, run, session_cookie

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = 64 * 1024


class Body:
    """An ASGI ``receive`` that hands out ``size`` bytes (endless when None) and counts them."""

    def __init__(self, size: int | None) -> None:
        self.size, self.sent, self.calls, self.seconds = size, 0, 0, 0.0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        left = CHUNK if self.size is None else min(CHUNK, self.size - self.sent)
        self.sent += left
        return {"type": "http.request", "body": b"x" * left, "more_body": self.size is None or self.sent < self.size}


def asgi_post(
    app, db, path: str, body: Body, *, headers: dict[str, str], length: int | None
) -> tuple[int, dict, bytes]:  # noqa: ANN001
    """POST through the whole app (middleware included); the status, headers and body answered.
    ``body.seconds`` is how long the app took to answer."""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw += [(b"content-length", str(length).encode())] if length is not None else [(b"transfer-encoding", b"chunked")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *raw],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def timed() -> None:
        started = time.perf_counter()
        await app(scope, body, send)
        body.seconds = time.perf_counter() - started

    run(db, timed())
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, answer


@pytest.mark.parametrize(("path", "status"), [("/api/v1/patients", 401), ("/patients/new", 303)])
def test_an_anonymous_100_mb_body_to_a_route_that_needs_a_login_is_refused_unread(app, db, path, status):
    TestClient(app).get(path, follow_redirects=False)  # a fresh app builds its routes on the first request
    body = Body(HUNDRED_MB)
    answered, headers, text = asgi_post(
        app, db, path, body, length=HUNDRED_MB, headers={"content-type": "application/json"}
    )
    assert answered == status and body.calls == 0 and body.seconds < 0.25
    if status == 401:
        assert headers["content-type"] == "application/problem+json" and b"not-authenticated" in text
    else:
        assert headers["location"].startswith("/login")


def test_a_logged_in_body_over_the_limit_is_refused_by_its_length_before_it_is_read(app, db, settings):
    token = api_token(db, make_user(db, role=Role.CLINICIAN))
    body = Body(HUNDRED_MB)
    status, headers, text = asgi_post(
        app,
        db,
        "/api/v1/patients",
        body,
        length=HUNDRED_MB,
        headers={**bearer(token), "content-type": "application/json"},
    )
    assert (status, body.calls) == (413, 0)
    assert headers["content-type"] == "application/problem+json"
    assert b"body-too-large" in text and str(settings.max_body_bytes).encode() in text


def test_a_body_without_a_length_is_counted_as_it_streams_and_refused_at_the_limit(app, db, settings):
    token = api_token(db, make_user(db, role=Role.CLINICIAN))
    body = Body(None)  # never ends
    status, headers, _ = asgi_post(
        app, db, "/api/v1/patients", body, length=None, headers={**bearer(token), "content-type": "application/json"}
    )
    assert status == 413 and headers["content-type"] == "application/problem+json"
    assert settings.max_body_bytes < body.sent <= settings.max_body_bytes + CHUNK


def test_the_public_forms_take_small_anonymous_bodies_and_refuse_large_ones(client, settings):
    client.get("/login")
    csrf = client.cookies.get(CSRF_COOKIE)
    small = client.post("/login", data={"email": "nobody@example.org", "password": "x", "csrf_token": csrf})
    assert small.status_code == 401 and "<form" in small.text  # read: the form again, with its error
    padding = "p" * (settings.max_body_bytes + 1)
    large = client.post("/login", data={"email": "nobody@example.org", "password": padding, "csrf_token": csrf})
    assert large.status_code == 413 and large.headers["content-type"].startswith("text/html")  # a page, for a page
    for path in ("/register", "/password/forgot"):
        assert client.post(path, data={"csrf_token": csrf, "email": padding}).status_code == 413
    assert client.post("/password/forgot", data={"csrf_token": csrf, "email": "a@example.org"}).status_code < 400


def test_a_route_that_takes_uploads_accepts_more_than_the_json_limit(db, settings):
    settings.max_body_bytes, settings.max_upload_bytes = 4096, 64 * 1024
    client = TestClient(create_app(settings, db), base_url="http://testserver")
    login(client, db, role=Role.ADMINISTRATOR)
    client.get("/org/staff/import")
    csrf = client.cookies.get(CSRF_COOKIE)
    csv = ("email,name\n" + "someone@example.org,Some One\n" * 400).encode()  # about 11 KB
    assert settings.max_body_bytes < len(csv) < settings.max_upload_bytes
    upload = client.post(
        "/org/staff/import", data={"csrf_token": csrf, "dry_run": "1"}, files={"file": ("staff.csv", csv, "text/csv")}
    )
    assert upload.status_code in (200, 422) and "larger than" not in upload.text  # read and checked
    too_big = client.post(
        "/org/staff/import", data={"csrf_token": csrf}, files={"file": ("staff.csv", csv * 8, "text/csv")}
    )
    assert too_big.status_code == 413
    json_route = client.post("/api/v1/patients", json={"given_name": "x" * 5000}, headers={"X-CSRF-Token": csrf})
    assert json_route.status_code == 413


def test_an_anonymous_body_with_a_session_cookie_is_read_and_judged_by_the_route(app, db, settings):
    """Only a request with no credentials at all is refused unread; one with a cookie gets the usual answer."""
    client = TestClient(app, base_url="http://testserver")
    client.cookies.set(SESSION_COOKIE, session_cookie(db, settings, make_user(db, role=Role.CLINICIAN)))
    assert client.post("/api/v1/patients", json={}).status_code == 403  # CSRF, after reading
