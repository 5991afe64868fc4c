"""Keyboard only: the skip link and the login form are reachable with Tab, focus is always
visible, and a person can log in without a mouse."""

import pytest

from careplane.kernel.identity.roles import Role
from careplane.kernel.web import SESSION_COOKIE
from tests.helpers import TEST_PASSWORD, make_user

pytestmark = pytest.mark.browser

FOCUSED = "document.activeElement"


def press_until(page, key: str, is_target, limit: int = 30) -> None:  # noqa: ANN001
    for _ in range(limit):
        page.keyboard.press(key)
        if is_target():
            return
    raise AssertionError(f"{key} never reached the element (last focus: {describe_focus(page)})")


def describe_focus(page) -> str:  # noqa: ANN001
    return page.evaluate(f"{FOCUSED}.outerHTML.slice(0, 120)")


def focus_is_visible(page) -> bool:  # noqa: ANN001
    return page.evaluate(
        f"""() => {{
            const el = {FOCUSED}, s = getComputedStyle(el), r = el.getBoundingClientRect();
            const outlined = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
            const onScreen = r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0
                && r.left < innerWidth && r.top < innerHeight;
            return el.matches(':focus-visible') && onScreen && (outlined || s.boxShadow !== 'none');
        }}"""
    )


def focused_label(page) -> str:  # noqa: ANN001
    """The label text of the focused field, or the focused element's own text."""
    return page.evaluate(
        f"""() => {{
            const el = {FOCUSED};
            return ((el.labels && el.labels[0]) ? el.labels[0].innerText : el.innerText).replace('*', '').trim();
        }}"""
    )


def test_skip_link_and_login_fields_by_keyboard(page, live_server, shot):
    make_user(live_server.db, role=Role.PATIENT, email="kim@example.org")
    page.goto("/login")

    press_until(page, "Shift+Tab", lambda: focused_label(page) == "Skip to main content")
    assert focus_is_visible(page), "the skip link must appear, with a visible focus ring, when focused"
    shot(page, "skip-link")

    page.keyboard.press("Enter")
    assert page.evaluate(f"{FOCUSED}.id") == "main"
    reached = []
    for _ in range(3):
        page.keyboard.press("Tab")
        assert focus_is_visible(page), f"no visible focus on {describe_focus(page)}"
        reached.append(focused_label(page))
    assert reached == ["E-mail address", "Password", "Log in"]

    press_until(page, "Shift+Tab", lambda: focused_label(page) == "E-mail address")
    page.keyboard.type("kim@example.org")
    page.keyboard.press("Tab")
    shot(page, "password-focused")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    assert SESSION_COOKIE in {c["name"] for c in page.context.cookies()}, "the keyboard login did not log in"
