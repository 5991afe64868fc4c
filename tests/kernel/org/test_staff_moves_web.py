"""Moving a staff member through the JSON API and the person page: the move takes effect on the
person's very next request, errors are problem+json or field errors, and only org managers move."""

from __future__ import annotations

from sqlalchemy import func, select

from careplane.kernel.access import Actor
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgChange, StaffMember, StaffStatus
from careplane.kernel.patients import service as patients
from careplane.kernel.web import CSRF_COOKIE
from tests.helpers import api_token, bearer, login, make_user
from tests.kernel.org.test_departures import make_org, make_staff
from tests.kernel.patients.conftest import patient_data

SYSTEM = Actor.for_system("tests")


def register(db):  # noqa: ANN001, ANN201
    with db.unit_of_work() as s:
        return patients.register_patient(s, SYSTEM, patient_data(), confirm_not_duplicate=True)


def unit_of(db, user_id) -> str | None:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(User.unit).where(User.id == user_id))


def moves(db) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(OrgChange).where(OrgChange.kind == "staff.moved"))


def csrf(client) -> str:  # noqa: ANN001
    client.get("/login")
    return client.cookies.get(CSRF_COOKIE)


# ---------------------------------------------------------------- API


def test_a_pharmacist_moved_to_health_technology_is_refused_on_the_next_patient_read(client, db):
    make_org(db)
    patient = register(db)
    user, staff = make_staff(db, Role.PHARMACIST, name="Dana Diaz")
    pharmacist = bearer(api_token(db, user))
    ops = bearer(api_token(db, make_user(db, role=Role.OPERATIONS_LEAD)))
    assert client.get(f"/api/v1/patients/{patient.id}", headers=pharmacist).status_code == 200

    moved = client.post(f"/api/v1/org/staff/{staff.id}/move", headers=ops, json={"unit": "health_tech"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["unit"] == "health_tech" and moved.json()["name"] == "Dana Diaz"

    refused = client.get(f"/api/v1/patients/{patient.id}", headers=pharmacist)  # same token, no new login
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    history = client.get("/api/v1/org/history", headers=ops).json()
    assert history[0]["kind"] == "staff.moved"
    assert history[0]["summary"] == (
        "Dana Diaz moved from Pharmacy to Health Technology (kind of work: Health "
        "Technology); they may now open no patient records"
    )

    back = client.post(f"/api/v1/org/staff/{staff.id}/move", headers=ops, json={"unit": "pharmacy"})
    assert back.status_code == 200
    assert client.get(f"/api/v1/patients/{patient.id}", headers=pharmacist).status_code == 200


def test_api_move_errors_are_problem_json_and_a_retry_with_its_key_replays(client, db):
    make_org(db)
    user, staff = make_staff(db, Role.PHARMACIST)
    ops = bearer(api_token(db, make_user(db, role=Role.OPERATIONS_LEAD)))
    url = f"/api/v1/org/staff/{staff.id}/move"

    same = client.post(url, headers=ops, json={"unit": "pharmacy"})
    assert same.status_code == 422 and same.headers["content-type"].startswith("application/problem+json")
    assert same.json()["errors"] == [{"field": "unit", "message": "Test Pharmacist already works in Pharmacy."}]
    unknown = client.post(url, headers=ops, json={"unit": "nowhere"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "unit"
    assert client.post(url, headers=ops, json={}).status_code == 422
    assert (
        client.post(
            "/api/v1/org/staff/00000000-0000-0000-0000-000000000000/move", headers=ops, json={"unit": "health_tech"}
        ).status_code
        == 404
    )

    first = client.post(url, headers={**ops, "Idempotency-Key": "move-1"}, json={"unit": "benefits"})
    again = client.post(url, headers={**ops, "Idempotency-Key": "move-1"}, json={"unit": "benefits"})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and moves(db) == 1

    with db.unit_of_work() as s:
        s.get(StaffMember, staff.id).status = StaffStatus.DEPARTED.value
    left = client.post(url, headers=ops, json={"unit": "health_tech"})
    assert left.status_code == 409 and left.json()["type"].endswith("/conflict")
    assert "cannot be moved" in left.json()["detail"]
    assert unit_of(db, user.id) == "benefits"


def test_api_refuses_a_move_by_someone_without_org_manage(client, db):
    make_org(db)
    user, staff = make_staff(db, Role.PHARMACIST)
    clinician = bearer(api_token(db, make_user(db, role=Role.CLINICIAN)))
    refused = client.post(f"/api/v1/org/staff/{staff.id}/move", headers=clinician, json={"unit": "health_tech"})
    assert refused.status_code == 403 and refused.json()["type"].endswith("access-denied")
    assert unit_of(db, user.id) == "pharmacy" and moves(db) == 0


def test_openapi_documents_the_move(client):
    spec = client.get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/org/staff/{staff_id}/move"]["post"]
    assert {"403", "404", "409", "422"} <= set(operation["responses"])
    body = spec["components"]["schemas"]["StaffMove"]
    assert body["required"] == ["unit"] and "kind of work" in body["properties"]["unit"]["description"]


# ---------------------------------------------------------------- the person page


def test_an_operations_lead_moves_someone_from_their_page(client, db):
    make_org(db)
    user, staff = make_staff(db, Role.PHARMACIST, name="Dana Diaz")
    login(client, db, role=Role.OPERATIONS_LEAD)
    token = csrf(client)
    page = client.get(f"/org/staff/{staff.id}").text
    assert "Move to another unit" in page and f'action="/org/staff/{staff.id}/move"' in page
    assert "kind of work: Pharmacy" in page  # the person's current unit
    assert '<option value="health_tech" >Health Technology (kind of work: Health Technology)</option>' in page
    assert '<option value="pharmacy"' not in page, "the unit they are in is not offered"

    bad = client.post(f"/org/staff/{staff.id}/move", data={"csrf_token": token, "unit": "", "effective_on": "soon"})
    assert bad.status_code == 422
    assert 'id="f-effective_on-error">Enter the effective date as month, day and year (mm/dd/yyyy)' in bad.text
    empty = client.post(f"/org/staff/{staff.id}/move", data={"csrf_token": token, "unit": ""})
    assert empty.status_code == 422 and 'id="f-unit-error">Choose the unit they move to.' in empty.text
    assert 'aria-invalid="true" aria-describedby="f-unit-error"' in empty.text
    assert unit_of(db, user.id) == "pharmacy"

    done = client.post(
        f"/org/staff/{staff.id}/move", data={"csrf_token": token, "unit": "health_tech"}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/org/staff/{staff.id}"
    after = client.get(done.headers["location"]).text
    assert (
        "Dana Diaz moved from Pharmacy to Health Technology (kind of work: Health Technology); they may now "
        "open no patient records." in after
    )
    assert unit_of(db, user.id) == "health_tech"


def test_the_move_form_is_for_org_managers_and_active_staff_only(client, db):
    make_org(db)
    user, staff = make_staff(db, Role.PHARMACIST)
    _, gone = make_staff(db, Role.BILLER)
    with db.unit_of_work() as s:
        s.get(StaffMember, gone.id).status = StaffStatus.DEPARTED.value
    login(client, db, role=Role.CLINICIAN)
    token = csrf(client)
    assert "Move to another unit" not in client.get(f"/org/staff/{staff.id}").text
    refused = client.post(f"/org/staff/{staff.id}/move", data={"csrf_token": token, "unit": "health_tech"})
    assert refused.status_code == 403 and unit_of(db, user.id) == "pharmacy"

    login(client, db, role=Role.OPERATIONS_LEAD)
    assert "Move to another unit" not in client.get(f"/org/staff/{gone.id}").text
    left = client.post(f"/org/staff/{gone.id}/move", data={"csrf_token": token, "unit": "health_tech"})
    assert left.status_code == 409 and "cannot be moved" in left.text
