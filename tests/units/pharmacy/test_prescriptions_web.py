"""The verification queue, the prescription page and the prescriptions API as a pharmacist uses them:
claim, a refused approval shown on its field, problem+json for bad input and refusals, and a retried
decision acting once."""

from __future__ import annotations

import pytest

from careplane.kernel.web import CSRF_COOKIE, CSRF_HEADER
from tests.units.pharmacy.rx_builders import pharmacist, received
from tests.units.virtual_care.builders import seed
from tests.units.virtual_care.test_visits_api import as_user, errors_of

API = "/api/v1/pharmacy/prescriptions"


@pytest.fixture(autouse=True)
def _units(db):  # noqa: ANN001, ANN202
    seed(db)


def csrf(client) -> dict[str, str]:  # noqa: ANN001
    client.get("/")
    return {CSRF_HEADER: client.cookies.get(CSRF_COOKIE) or ""}


def test_a_pharmacist_claims_from_the_queue_and_the_page_shows_the_refused_approval(client, db, settings):
    rx = received(db, settings, allergy="PCN")
    me = pharmacist(db, "NY")
    as_user(client, db, me.user_id)
    h = csrf(client)
    queue = client.get("/pharmacy/queue")
    assert queue.status_code == 200 and rx.rx_number in queue.text
    page = client.get(f"/pharmacy/prescriptions/{rx.id}")
    assert "amoxicillin is a penicillin" in page.text and "PCN" in page.text and "Claim to verify" in page.text
    claimed = client.post(f"/pharmacy/prescriptions/{rx.id}/claim", headers=h, follow_redirects=False)
    assert claimed.status_code == 303
    refused = client.post(f"/pharmacy/prescriptions/{rx.id}/approve", data={}, headers=h)
    assert refused.status_code == 422 and 'id="f-override_reason-error"' in refused.text
    empty = client.post(f"/pharmacy/prescriptions/{rx.id}/reject", data={"reason": ""}, headers=h)
    assert empty.status_code == 422 and "Say why the prescription is rejected." in empty.text
    assert 'id="f-reason-error"' in empty.text
    unasked = client.post(f"/pharmacy/prescriptions/{rx.id}/contact-prescriber", data={"reason": ""}, headers=h)
    assert unasked.status_code == 422 and 'id="f-question-error">Say what the prescriber is asked.' in unasked.text
    assert 'id="f-reason-error"' not in unasked.text, "the error stands by the form that was sent"
    done = client.post(
        f"/pharmacy/prescriptions/{rx.id}/approve",
        data={"override_reason": "Prescriber confirmed: childhood rash only, tolerated since."},
        headers=h,
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get(f"{API}/{rx.id}").json()["status"] == "verified"
    assert rx.rx_number not in client.get("/pharmacy/queue").text


def test_the_api_claims_and_decides_once_with_problems_for_bad_input_and_refusals(client, db, settings):
    rx = received(db, settings)
    elsewhere = pharmacist(db, "TX")
    as_user(client, db, elsewhere.user_id)
    h = csrf(client)
    refused = client.post(f"{API}/{rx.id}/claim", headers=h)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    me = pharmacist(db, "NY")
    as_user(client, db, me.user_id)
    h = csrf(client)
    claimed = client.post(f"{API}/{rx.id}/claim", headers=h)
    assert claimed.status_code == 200 and claimed.json()["held_by_you"] is True
    no_reason = client.post(f"{API}/{rx.id}/verify", json={"action": "reject"}, headers=h)
    assert no_reason.status_code == 422 and set(errors_of(no_reason)) == {"reason"}
    key = {**h, "Idempotency-Key": "rx-reject-1"}
    body = {"action": "reject", "reason": "Duplicate of an active order."}
    first = client.post(f"{API}/{rx.id}/verify", json=body, headers=key)
    again = client.post(f"{API}/{rx.id}/verify", json=body, headers=key)
    assert first.status_code == again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["status"] == "rejected" and first.json()["reason"] == "Duplicate of an active order."
    late = client.post(f"{API}/{rx.id}/verify", json={"action": "approve"}, headers=h)
    assert late.status_code == 409
    assert client.get(f"{API}/00000000-0000-0000-0000-000000000000").status_code == 404
