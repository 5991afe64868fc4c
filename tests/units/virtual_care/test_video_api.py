"""The video visits API: a clinician's hours, the open slots for a state and condition (with the
start checks of a visit), booking with problem+json for a taken slot, the booking, and the check-in
refused before its time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from careplane.kernel.web import CSRF_COOKIE, CSRF_FIELD
from tests.units.virtual_care.builders import clinician, patient, seed
from tests.units.virtual_care.test_visits_api import CARD, as_user, csrf, errors_of
from tests.units.virtual_care.video_builders import awaiting_video_payment, doctor_with_hours, next_slot

BASE = "/api/v1/virtual-care"


@pytest.fixture(autouse=True)
def _units(db):  # noqa: ANN001, ANN202
    seed(db)


def test_a_clinician_sets_hours_a_patient_finds_a_slot_books_it_and_reads_the_booking(client, db):
    starts = next_slot()
    doctor = clinician(db, "NY")
    as_user(client, db, doctor.user_id)
    h = csrf(client)
    bad = client.put(
        f"{BASE}/availability",
        json={"zone": "America/New_York", "hours": [{"weekday": 2, "starts": "17:00", "ends": "09:00"}]},
        headers=h,
    )
    assert bad.status_code == 422 and errors_of(bad) == {"hours[0]": "Wednesday: the hours must end after they start."}
    hours = {"zone": "UTC", "hours": [{"weekday": starts.weekday(), "starts": "14:00", "ends": "18:00"}]}
    saved = client.put(f"{BASE}/availability", json=hours, headers=h)
    assert saved.status_code == 200 and saved.json()["weekly"][0]["starts"] == "14:00:00"
    day_off = client.put(
        f"{BASE}/availability/changes/{starts.date() + timedelta(days=7)}", json={"zone": "UTC"}, headers=h
    )
    assert day_off.status_code == 200 and day_off.json()["changes"][0]["off"] is True

    who = patient(db)
    visit_id = awaiting_video_payment(db, who)
    as_user(client, db, who.user_id)
    h = csrf(client)
    found = client.get(f"{BASE}/slots", params={"state": "NY", "condition": "uti"})
    assert found.status_code == 200, found.text
    first = found.json()[0]
    assert first["starts_at"].startswith(starts.strftime("%Y-%m-%dT15:00")) or first["starts_at"] < starts.isoformat()
    assert first["zone"] == "America/New_York" and first["local_start"].endswith(("-05:00", "-04:00"))
    booked = client.post(f"{BASE}/visits/{visit_id}/book", json={**CARD, "slot": first["slot"]}, headers=h)
    assert booked.status_code == 200, booked.text
    assert booked.json()["status"] == "booked"
    reading = client.get(f"{BASE}/visits/{visit_id}/booking")
    assert reading.status_code == 200 and reading.json()["starts_at"] == first["starts_at"]
    early = client.post(f"{BASE}/visits/{visit_id}/check-in", headers=h)
    assert early.status_code == 409 and "15 minutes before" in early.json()["detail"]

    rival = patient(db)
    rival_visit = awaiting_video_payment(db, rival)
    as_user(client, db, rival.user_id)
    taken = client.post(f"{BASE}/visits/{rival_visit}/book", json={**CARD, "slot": first["slot"]}, headers=csrf(client))
    assert taken.status_code == 422 and errors_of(taken) == {"slot": "That time is no longer open; choose another."}
    assert client.get(f"{BASE}/visits/{visit_id}/booking").status_code == 403


def test_slots_are_offered_on_the_terms_a_visit_starts_on(client, db):
    clinician(db, "NY")
    as_user(client, db, patient(db).user_id)
    nobody = client.get(f"{BASE}/slots", params={"state": "WY", "condition": "uti"})
    assert nobody.status_code == 422 and "not available in Wyoming" in errors_of(nobody)["state"]
    unknown = client.get(f"{BASE}/slots", params={"state": "ZZ", "condition": "nope"})
    assert unknown.status_code == 422 and set(errors_of(unknown)) == {"state", "condition"}
    as_user(client, db, patient(db, sex="male").user_id)
    ineligible = client.get(f"{BASE}/slots", params={"state": "NY", "condition": "uti"})
    assert ineligible.status_code == 422 and "sex at birth is female" in errors_of(ineligible)["condition"]
    assert client.get(f"{BASE}/availability").status_code == 403


def test_the_patient_chooses_a_time_on_the_visit_page_and_books_it_with_the_card_form(client, db):
    doctor_with_hours(db, "NY", on=next_slot(), zone="America/New_York")
    who = patient(db)
    visit_id = awaiting_video_payment(db, who)
    as_user(client, db, who.user_id)
    page = client.get(f"/virtual-care/visits/{visit_id}")
    assert page.status_code == 200 and "When would you like your video visit?" in page.text
    assert "America/New_York" in page.text and ("EST with" in page.text or "EDT with" in page.text)
    first = re.search(r'name="slot" value="([^"]+)"', page.text)
    assert first is not None
    token = client.cookies.get(CSRF_COOKIE) or ""
    form = {CSRF_FIELD: token, "card_number": "4242 4242 4242 4242", "card_expiry": "12/39", "card_cvc": "123"}
    missing = client.post(f"/virtual-care/visits/{visit_id}/book", data=form, follow_redirects=False)
    assert missing.status_code == 422 and "Choose a time from the list." in missing.text
    done = client.post(
        f"/virtual-care/visits/{visit_id}/book", data={**form, "slot": first.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303
    booked = client.get(f"/virtual-care/visits/{visit_id}")
    assert "Your video visit:" in booked.text and "Choose the new time" in booked.text
