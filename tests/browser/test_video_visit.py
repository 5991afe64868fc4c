"""Done-when of video visits: a patient and the booked clinician, in two headless Chromium pages with
a fake camera and microphone, join the visit's call and reach "connected" (WebRTC peer to peer,
signalled over the app's WebSocket, host candidates only); a third person is refused the room (403)
and its signalling socket (closed with 4403)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from careplane.kernel import clock
from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, TIMEOUT_MS
from tests.browser.test_message_visit import _log_in
from tests.units.virtual_care.builders import patient, seed
from tests.units.virtual_care.video_builders import booked_video_visit, doctor_with_hours, next_slot, staff_id_of

pytestmark = pytest.mark.browser

MEDIA_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


@pytest.fixture
def media_browser(chromium):  # noqa: ANN001, ANN201
    """A second Chromium with a fake camera and microphone (the session's has none)."""
    browser = chromium.browser_type.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS + MEDIA_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def travel():  # noqa: ANN201
    """Move the platform clock (the live server's too); back to real time afterwards."""
    yield clock.travel
    clock.travel(None)


def test_the_patient_and_the_clinician_connect_in_the_call_and_a_third_person_is_refused(
    media_browser, live_server, travel, shot
):  # noqa: ANN001
    db = live_server.db
    seed(db)
    starts = next_slot()
    doctor = doctor_with_hours(db, "NY", on=starts)
    who, stranger = patient(db, state="NY"), patient(db, state="NY")
    travel(starts - timedelta(hours=3))
    visit_id = booked_video_visit(db, who, staff_id_of(db, doctor), starts)
    travel(starts - timedelta(minutes=10))

    contexts = []

    def page_for(user_id):  # noqa: ANN001, ANN202
        context = media_browser.new_context(base_url=live_server.url, viewport={"width": 1100, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        _log_in(context, live_server, user_id)
        return context.new_page()

    try:
        desk = page_for(doctor.user_id)
        desk.goto(f"/virtual-care/visits/{visit_id}")
        desk.get_by_role("button", name="Start the visit and join the call").click()
        expect(desk.locator("#call-status")).to_have_text("waiting for the other person")

        home = page_for(who.user_id)
        home.goto(f"/virtual-care/visits/{visit_id}")
        home.get_by_role("button", name="Check in and join").click()
        expect(home.get_by_text("You are checked in.")).to_be_visible()

        expect(home.locator("#call-status")).to_have_text("connected", timeout=30_000)
        expect(desk.locator("#call-status")).to_have_text("connected", timeout=30_000)
        shot(home, "patient-connected")

        intruder = page_for(stranger.user_id)
        refused = intruder.goto(f"/virtual-care/visits/{visit_id}/room")
        assert refused is not None and refused.status == 403
        code = intruder.evaluate(
            """(path) => new Promise((resolve) => {
                const socket = new WebSocket("ws://" + location.host + path);
                socket.onclose = (event) => resolve(event.code);
            })""",
            f"/virtual-care/visits/{visit_id}/signal",
        )
        assert code == 4403
        expect(home.locator("#call-status")).to_have_text("connected")
    finally:
        for context in contexts:
            context.close()
