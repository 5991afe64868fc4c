from sqlalchemy import func, select

from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.models import Patient

BODY = {
    "given_name": "Jonathan",
    "family_name": "Smith",
    "birth_date": "1984-07-21",
    "sex_at_birth": "male",
    "state": "NY",
    "phone": "212-555-0123",
    "email": "jonathan.smith@example.org",
    "consents": ["treatment", "hipaa_authorization"],
    "emergency_contacts": [{"name": "Ann Smith", "relationship": "spouse", "phone": "(212) 555-0177"}],
}


def patients(db) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(Patient))


def test_register_then_read_lean_and_with_includes(client, login):
    auth = login(Role.CLINICIAN)
    created = client.post("/api/v1/patients", json=BODY, headers=auth["headers"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["mrn"].startswith("CP") and body["phone"] == "+12125550123"
    assert [c["kind"] for c in body["consents"]] == ["treatment", "hipaa_authorization"]
    assert body["emergency_contacts"][0]["phone"] == "+12125550177"
    lean = client.get(f"/api/v1/patients/{body['id']}", headers=auth["headers"]).json()
    assert lean["consents"] is None and lean["emergency_contacts"] is None and lean["mrn"] == body["mrn"]
    full = client.get(f"/api/v1/patients/{body['id']}?include=consents,contacts", headers=auth["headers"]).json()
    assert len(full["consents"]) == 2 and full["emergency_contacts"][0]["relationship"] == "spouse"
    bad = client.get(f"/api/v1/patients/{body['id']}?include=everything", headers=auth["headers"])
    assert bad.status_code == 422


def test_validation_errors_are_field_level_problems(client, login):
    auth = login(Role.CLINICIAN)
    response = client.post(
        "/api/v1/patients", json={**BODY, "state": "XX", "postal_code": "123"}, headers=auth["headers"]
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in response.json()["errors"]} == {"state", "postal_code"}


def test_duplicate_gives_409_with_candidates_then_confirm_registers(client, login, db):
    auth = login(Role.CLINICIAN)
    first = client.post("/api/v1/patients", json=BODY, headers=auth["headers"]).json()
    again = client.post("/api/v1/patients", json={**BODY, "given_name": "Jon"}, headers=auth["headers"])
    assert again.status_code == 409
    problem = again.json()
    assert problem["type"].endswith("/possible-duplicate")
    assert problem["confirm_field"] == "confirm_not_duplicate" and "`confirm_not_duplicate`" in problem["detail"]
    assert [(c["mrn"], c["name"], c["birth_date"]) for c in problem["candidates"]] == [
        (first["mrn"], "Jonathan Smith", "1984-07-21")
    ]
    assert patients(db) == 1
    confirmed = client.post(
        "/api/v1/patients", json={**BODY, "given_name": "Jon", "confirm_not_duplicate": True}, headers=auth["headers"]
    )
    assert confirmed.status_code == 201
    assert patients(db) == 2


def test_patient_cannot_read_or_change_another_patient(client, login, register, db):
    a, b = register(), register(given_name="Maria", family_name="Garcia", email=None, phone=None)
    me = login(Role.PATIENT, patient_id=a.id)
    assert client.get(f"/api/v1/patients/{a.id}", headers=me["headers"]).status_code == 200
    denied = client.get(f"/api/v1/patients/{b.id}", headers=me["headers"])
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")
    assert client.patch(f"/api/v1/patients/{b.id}", json={"city": "X"}, headers=me["headers"]).status_code == 403
    assert client.get("/api/v1/patients?q=garcia", headers=me["headers"]).status_code == 403
    with db.unit_of_work() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.patient_id == b.id, AuditEntry.outcome == "denied")).all()
        assert sorted(r.action for r in rows) == ["patient.read", "patient.update"]
        assert all(r.actor_user_id == me["user_id"] and r.via == "api" for r in rows)
    own = client.patch(f"/api/v1/patients/{a.id}", json={"city": "Albany", "language": "es"}, headers=me["headers"])
    assert own.status_code == 200 and own.json()["city"] == "Albany"
    locked = client.patch(f"/api/v1/patients/{a.id}", json={"birth_date": "1990-01-01"}, headers=me["headers"])
    assert locked.status_code == 422


def test_search_audits_every_returned_patient(client, login, register, db):
    a = register()
    b = register(given_name="Joan", family_name="Smithers", email=None, phone=None, birth_date="1990-01-02")
    auth = login(Role.PHARMACIST)
    found = client.get("/api/v1/patients?q=smith&limit=10", headers=auth["headers"]).json()
    assert {item["id"] for item in found["items"]} == {str(a.id), str(b.id)} and found["count"] == 2
    with db.unit_of_work() as s:
        shown = s.scalars(
            select(AuditEntry.patient_id).where(
                AuditEntry.resource_type == "patient_search_result", AuditEntry.actor_user_id == auth["user_id"]
            )
        ).all()
    assert sorted(map(str, shown)) == sorted([str(a.id), str(b.id)])
    assert client.get("/api/v1/patients?limit=1000", headers=auth["headers"]).status_code == 422


def test_unauthenticated_and_unprivileged_callers(client, login, register):
    a = register()
    assert client.get(f"/api/v1/patients/{a.id}").status_code == 401
    employer = login(Role.EMPLOYER_ADMIN)
    assert client.get(f"/api/v1/patients/{a.id}", headers=employer["headers"]).status_code == 403
    assert client.post("/api/v1/patients", json=BODY, headers=login(Role.BILLER)["headers"]).status_code == 403


def test_idempotent_post_replays_and_refuses_a_different_body(client, login, db):
    auth = login(Role.CLINICIAN)
    headers = {**auth["headers"], "Idempotency-Key": "reg-0001"}
    first = client.post("/api/v1/patients", json=BODY, headers=headers)
    second = client.post("/api/v1/patients", json=BODY, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second.headers.get("idempotent-replayed") == "true"
    assert patients(db) == 1
    other = client.post("/api/v1/patients", json={**BODY, "given_name": "Maria"}, headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
    assert patients(db) == 1
    # keys belong to the user: someone else's identical key acts afresh
    another = {**login(Role.CLINICIAN)["headers"], "Idempotency-Key": "reg-0001"}
    assert (
        client.post("/api/v1/patients", json={**BODY, "confirm_not_duplicate": True}, headers=another).status_code
        == 201
    )
    assert patients(db) == 2


def test_failed_request_does_not_burn_the_key(client, login, db):
    auth = login(Role.CLINICIAN)
    headers = {**auth["headers"], "Idempotency-Key": "reg-0002"}
    assert client.post("/api/v1/patients", json={**BODY, "state": "XX"}, headers=headers).status_code == 422
    assert client.post("/api/v1/patients", json=BODY, headers=headers).status_code == 201
    assert patients(db) == 1


def test_consent_endpoints(client, login, register):
    a = register()
    auth = login(Role.CLINICIAN)
    granted = client.post(f"/api/v1/patients/{a.id}/consents", json={"kind": "telehealth"}, headers=auth["headers"])
    assert granted.status_code == 201 and granted.json()["active"] is True
    consent_id = granted.json()["id"]
    revoked = client.post(f"/api/v1/patients/{a.id}/consents/{consent_id}/revoke", headers=auth["headers"])
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    again = client.post(f"/api/v1/patients/{a.id}/consents/{consent_id}/revoke", headers=auth["headers"])
    assert again.status_code == 409
    listed = client.get(f"/api/v1/patients/{a.id}/consents", headers=auth["headers"]).json()
    assert [(c["kind"], c["active"]) for c in listed] == [("telehealth", False)]


def test_web_session_needs_csrf_for_api_writes(client, login, register):
    a = register()
    me = login(Role.PATIENT, patient_id=a.id, via="cookie")
    client.cookies.update(me["cookies"])
    assert client.get(f"/api/v1/patients/{a.id}").status_code == 200
    assert client.patch(f"/api/v1/patients/{a.id}", json={"city": "X"}).status_code == 403


def test_a_body_that_is_not_json_is_told_where_it_breaks(client, login, db):
    auth = login(Role.CLINICIAN)
    broken = b'{"given_name": "Ann",\n  "family_name": ,\n}'
    answer = client.post(
        "/api/v1/patients", content=broken, headers={**auth["headers"], "content-type": "application/json"}
    )
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"].endswith("/malformed-json")
    assert "line 2, column 18" in answer.json()["detail"] and "Expecting value" in answer.json()["detail"]
    assert patients(db) == 0


def test_a_bad_e_mail_address_is_explained_in_plain_words(client, login):
    auth = login(Role.CLINICIAN)
    for email, says in [
        ("ann.example.org", "needs an @"),
        ("ann@example", "domain with a dot"),
        ("ann smith@example.org", "no spaces"),
        ("@example.org", "name before the @"),
    ]:
        answer = client.post("/api/v1/patients", json={**BODY, "email": email}, headers=auth["headers"])
        assert answer.status_code == 422
        [error] = answer.json()["errors"]
        assert error["field"] == "email" and says in error["message"], (email, error)
        assert "@-sign" not in error["message"]  # the library's own words stay out
