"""An operations lead offboards a clinician with open work in two units through the pages, and
watches the hand-over report go from incomplete to complete without reloading."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import Departure
from careplane.kernel.org.offboarding import handover
from careplane.kernel.units import Unit
from careplane.kernel.web import SESSION_COOKIE
from careplane.kernel.work.models import WorkItem
from tests.helpers import make_user, session_cookie, units_installed
from tests.kernel.org.test_departures import add_items, make_org, make_staff
from tests.kernel.org.test_handover import drain

pytestmark = pytest.mark.browser


def logged_in(chromium, live_server, user):  # noqa: ANN001, ANN201
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "value": session_cookie(live_server.db, live_server.settings, user),
                "url": live_server.url,
            }
        ]
    )
    return context


def test_operations_lead_offboards_a_clinician_and_sees_the_hand_over_complete(page, chromium, live_server, shot):
    db = live_server.db
    queues = make_org(db)
    clinician, leaver = make_staff(db, name="Dr Ada Leaving")
    _, successor = make_staff(db, name="Dr Grace Next")
    ids = add_items(db, queues["virtual_care"], leaver, 3, kind="visit")
    ids += add_items(db, queues["pharmacy"], leaver, 2, kind="verification")
    # A seventh unit whose partner system is down, so the page is surely seen incomplete first.
    lab = Unit(code="lab_partners", name="Lab Partners", hand_over=f"{__name__}:_partner_lab_down")
    leaving = logged_in(chromium, live_server, clinician)
    with units_installed(lab):
        _offboard_and_watch(page, live_server, shot, db, leaver, successor, leaving, ids)


def _partner_lab_down(session, event) -> dict[str, int]:  # noqa: ANN001
    raise RuntimeError("the partner lab's system is down")


def _offboard_and_watch(page, live_server, shot, db, leaver, successor, leaving, ids) -> None:  # noqa: ANN001, PLR0913
    try:
        their_page = leaving.new_page()
        their_page.goto("/")
        expect(their_page.get_by_role("button", name="Log out")).to_be_visible()

        lead = make_user(db, role=Role.OPERATIONS_LEAD)
        page.context.add_cookies(
            [{"name": SESSION_COOKIE, "value": session_cookie(db, live_server.settings, lead), "url": live_server.url}]
        )
        page.goto(f"/org/staff/{leaver.id}/offboard")
        expect(page.get_by_role("heading", level=1)).to_have_text("Offboard Dr Ada Leaving")
        expect(page.get_by_role("row", name=re.compile("Virtual Care"))).to_contain_text("3 open visits")
        expect(page.get_by_role("row", name=re.compile("Pharmacy"))).to_contain_text("2 open verifications")

        page.get_by_role("button", name="Offboard Dr Ada Leaving now").click()
        expect(page.locator(".error-summary")).to_contain_text("exactly one")
        page.get_by_label("Successor person").select_option(label="Dr Grace Next")
        page.get_by_label("Reason (optional)").fill("Moving to research")
        shot(page, "form")
        page.get_by_role("button", name="Offboard Dr Ada Leaving now").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Departure of Dr Ada Leaving")
        expect(page.get_by_role("status")).to_contain_text("sessions and API tokens no longer work")
        drain(db, live_server.settings)  # the embedded worker may already have done it
        report = page.locator("#handover-report")
        expect(report).to_contain_text("Incomplete - waiting for: Lab Partners", timeout=15_000)
        expect(report.get_by_role("row", name=re.compile("Virtual Care"))).to_contain_text("3 visits")
        expect(report.get_by_role("row", name=re.compile("Pharmacy"))).to_contain_text("2 verifications")
        shot(page, "incomplete")

        with db.unit_of_work() as s:
            departure = s.scalar(select(Departure).where(Departure.staff_id == leaver.id))
            handover.report(s, departure.id, "lab_partners", {"lab_order": 1}, "sent to the partner lab")
        expect(report).to_contain_text("Complete - every unit has reported", timeout=15_000)  # htmx polling
        expect(report.get_by_role("row", name=re.compile("Lab Partners"))).to_contain_text("1 lab order")
        shot(page, "complete")

        their_page.goto("/")
        expect(their_page).to_have_url(re.compile(r"/login"))
        with db.unit_of_work() as s:
            assert {i.assignee_staff_id for i in s.scalars(select(WorkItem).where(WorkItem.id.in_(ids)))} == {
                successor.id
            }
    finally:
        leaving.close()
