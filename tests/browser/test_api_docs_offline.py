"""/api/docs works with no internet: Swagger UI comes from this app, and it offers Authorize."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route, expect

pytestmark = pytest.mark.browser


def test_the_api_docs_render_with_the_outside_network_blocked(page, live_server):  # noqa: ANN001
    own_host = urlsplit(live_server.url).netloc
    outside: list[str] = []

    def only_this_app(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_app)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("careplane API")
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    expect(page.get_by_text("/api/v1/patients").first).to_be_visible()
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text("bearerToken")).to_be_visible()
    assert outside == [] and violations == []
