"""The visits API: a patient's visit from start to summary, a clinician's claim and completion,
problem+json for bad input and refusals, and a retried payment acting once."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from careplane.kernel.identity.models import User
from careplane.kernel.web import SESSION_COOKIE
from careplane.units.virtual_care.models import Visit
from tests.helpers import session_cookie
from tests.units.virtual_care.builders import UTI_ANSWERS, clinician, patient, queued_visit, seed
from tests.units.virtual_care.test_message_visit import png

BASE = "/api/v1/virtual-care"
CARD = {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}


@pytest.fixture(autouse=True)
def _units(db):  # noqa: ANN001, ANN202
    seed(db)


def as_user(client, db, user_id) -> None:  # noqa: ANN001
    with db.unit_of_work() as s:
        user = s.get(User, user_id)
        s.expunge(user)
    client.cookies.set(SESSION_COOKIE, session_cookie(db, client.app.state.settings, user))


def errors_of(response) -> dict[str, str]:  # noqa: ANN001
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def csrf(client) -> dict[str, str]:  # noqa: ANN001
    client.get("/")
    from careplane.kernel.web import CSRF_COOKIE, CSRF_HEADER

    return {CSRF_HEADER: client.cookies.get(CSRF_COOKIE) or ""}


def test_a_patient_starts_answers_pays_once_and_reads_the_visit(client, db):
    clinician(db, "NY")
    who = patient(db)
    as_user(client, db, who.user_id)
    h = csrf(client)
    started = client.post(f"{BASE}/visits", json={"condition": "uti"}, headers=h)
    assert started.status_code == 201, started.text
    visit = started.json()
    assert (visit["status"], visit["state"], visit["price_cents"]) == ("intake", "NY", 4900)
    url = f"{BASE}/visits/{visit['id']}"

    wrong = client.put(f"{url}/answers", json={"answers": {"dysuria": "yes", "duration_days": 2.5}}, headers=h)
    assert wrong.status_code == 422 and wrong.headers["content-type"].startswith("application/problem+json")
    assert errors_of(wrong) == {"dysuria": "Answer yes or no.", "duration_days": "Answer with a whole number."}
    assert client.get(url).json()["answers"] == {}

    missing = client.post(f"{url}/submit", json={"answers": {"dysuria": True}}, headers=h)
    assert missing.status_code == 422 and "frequency" in errors_of(missing)
    assert client.post(f"{url}/submit", json={"answers": UTI_ANSWERS}, headers=h).json()["status"] == "awaiting_payment"

    declined = client.post(f"{url}/payment", json={**CARD, "number": "4000000000000002"}, headers=h)
    assert declined.status_code == 422 and "card_number" in errors_of(declined)
    key = {**h, "Idempotency-Key": "pay-1"}
    paid = client.post(f"{url}/payment", json=CARD, headers=key)
    again = client.post(f"{url}/payment", json=CARD, headers=key)
    assert paid.status_code == again.status_code == 200 and paid.json()["status"] == "queued"
    assert again.headers.get("Idempotent-Replayed") == "true"
    twice = client.post(f"{url}/payment", json=CARD, headers=h)
    assert twice.status_code == 409 and "waiting for a clinician" in twice.json()["detail"]
    assert [v["id"] for v in client.get(f"{BASE}/visits").json()] == [visit["id"]]


def test_a_patient_may_not_open_another_patients_visit(client, db):
    clinician(db, "NY")
    visit_id = queued_visit(db, patient(db))
    as_user(client, db, patient(db).user_id)
    assert client.get(f"{BASE}/visits/{visit_id}").status_code == 403


def test_a_clinician_claims_writes_with_an_image_and_completes_then_the_patient_gets_a_pdf(client, db):
    doctor, texan = clinician(db, "NY"), clinician(db, "TX")
    who = patient(db)
    visit_id = queued_visit(db, who)
    url = f"{BASE}/visits/{visit_id}"

    as_user(client, db, texan.user_id)
    h = csrf(client)
    assert client.get(url).status_code == 403
    assert client.post(f"{url}/claim", headers=h).status_code == 403

    as_user(client, db, doctor.user_id)
    h = csrf(client)
    with db.unit_of_work() as s:
        item_id = s.get(Visit, visit_id).work_item_id
    generic = client.post(f"/api/v1/work/items/{item_id}/claim", headers=h)
    assert generic.status_code == 409 and f"/virtual-care/visits/{visit_id}" in generic.json()["detail"]
    claimed = client.post(f"{url}/claim", headers=h)
    assert claimed.status_code == 200 and claimed.json()["held_by_you"] is True
    bad = client.post(
        f"{url}/messages",
        data={"body": "see"},
        files=[("attachments", ("x.png", b"GIF87a nonsense", "image/png"))],
        headers=h,
    )
    assert bad.status_code == 422 and "attachments[0]" in errors_of(bad)
    sent = client.post(
        f"{url}/messages",
        data={"body": "Here is a diagram."},
        files=[("attachments", ("d.png", png(), "image/png"))],
        headers=h,
    )
    assert sent.status_code == 201, sent.text
    href = sent.json()["messages"][-1]["attachments"][0]["href"]
    image = client.get(href)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"

    found = client.get(f"{BASE}/diagnoses", params={"q": "cystitis", "condition": "uti"}).json()
    assert found[0]["code"] in {"N30.00", "N30.01"}
    from careplane.units import pharmacy

    drug = pharmacy.match_drug("Fosfomycin tromethamine", "3 g packet")
    done = client.post(
        f"{url}/complete",
        json={
            "diagnoses": ["N30.00"],
            "plan": "One dose of fosfomycin today.",
            "minutes": 25,
            "prescriptions": [
                {"drug_id": drug.id, "sig": "Dissolve 1 packet in water and drink once.", "quantity": "1"}
            ],
        },
        headers=h,
    )
    assert done.status_code == 200, done.text
    assert done.json()["cpt_code"] == "99423" and done.json()["prescriptions"][0]["drug_id"] == drug.id

    as_user(client, db, who.user_id)
    pdf = client.get(f"{url}/summary.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "One dose of fosfomycin today." in text and "Fosfomycin" in text


def test_a_message_on_a_closed_visit_is_a_409_problem(client, db):
    clinician(db, "NY")
    who = patient(db)
    visit_id = queued_visit(db, who)
    as_user(client, db, who.user_id)
    h = csrf(client)
    assert client.post(f"{BASE}/visits/{visit_id}/cancel", headers=h).json()["status"] == "cancelled"
    closed = client.post(f"{BASE}/visits/{visit_id}/messages", data={"body": "hello"}, headers=h)
    assert closed.status_code == 409 and "cancelled" in closed.json()["detail"]


def test_the_queue_page_offers_only_visits_the_clinician_may_take_and_filters_before_paging(client, db):
    ny, texan = clinician(db, "NY"), clinician(db, "TX")
    uti = queued_visit(db, patient(db))
    as_user(client, db, texan.user_id)
    page = client.get("/virtual-care/queue").text
    assert "Urinary tract infection (NY)" not in page and "No visits are waiting" in page
    assert client.get(f"/virtual-care/visits/{uti}").status_code == 403
    as_user(client, db, ny.user_id)
    assert "Urinary tract infection (NY)" in client.get("/virtual-care/queue").text
    assert "Urinary tract infection (NY)" in client.get("/virtual-care/queue?condition=uti&visit_type=message").text
    assert "Urinary tract infection (NY)" not in client.get("/virtual-care/queue?condition=acne").text
    assert "Urinary tract infection (NY)" not in client.get("/virtual-care/queue?visit_type=video").text
