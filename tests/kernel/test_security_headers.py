"""Security headers on every response, a policy /api/docs can run under, and TRACE refused."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from careplane.app import PACKAGE_DIR, create_app
from careplane.kernel.identity.roles import Role
from tests.helpers import login

TEMPLATES = [p for p in PACKAGE_DIR.rglob("*.html") if "templates" in p.parts]


def test_every_kind_of_response_carries_the_headers(client, db):
    answers = [
        client.get("/login"),
        client.get("/static/app.css"),
        client.get("/api/v1/me"),
        client.get("/no-such-page"),
        client.get("/api/v1/openapi.json"),
        client.get("/healthz"),
    ]
    login(client, db, role=Role.CLINICIAN)
    answers.append(client.get("/"))
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in answer.headers  # not over plain HTTP


def test_hsts_is_sent_when_cookies_are_secure(db, settings):
    settings.secure_cookies = True
    answer = TestClient(create_app(settings, db), base_url="https://testserver").get("/login")
    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_no_template_has_inline_script_handlers_or_styles(template):
    html = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>: move it to static/"
    assert not re.search(r"\son[a-z]+\s*=", html), "on...= handler: use static/page-helpers.js"
    assert not re.search(r"<style|\sstyle\s*=", html), "inline style: use static/app.css"


def test_the_api_docs_page_gets_a_policy_that_lets_swagger_ui_run(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    csp = page.headers["content-security-policy"]
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src")).split()
    assert "'unsafe-inline'" not in script_src and not any(s.startswith("http") for s in script_src)
    for script in re.findall(r"<script>(.*?)</script>", page.text, re.S):  # each inline script, by hash
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    assert "frame-ancestors 'none'" in csp and page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/", "GET"),
        ("/login", "GET, POST"),
        ("/api/v1/me", "GET"),
        ("/api/v1/patients", "GET, POST"),
        ("/api/v1/patients/5b0f8c3e-0000-4000-8000-000000000000", "GET, PATCH"),
        ("/static/app.css", "GET, HEAD"),
    ],
)
@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "PUT"])
def test_an_unknown_method_is_refused_with_every_method_the_address_allows(client, path, allowed, method):
    answer = client.request(method, path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
