"""The allergy list through the JSON API, and its FHIR R4 rendering checked by fhir.resources."""

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from sqlalchemy import select

from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.allergies import service
from careplane.kernel.patients.allergies.fhir import as_fhir, no_known_allergies_fhir
from careplane.kernel.patients.models import Patient

from .conftest import SYSTEM

PENICILLIN = {"substance": "Penicillin", "category": "medication", "reaction": "hives", "criticality": "high"}


def test_record_list_and_change_through_the_api(client, login, register):
    p = register()
    h = login(Role.CLINICIAN)["headers"]
    url = f"/api/v1/patients/{p.id}/allergies"
    assert client.get(url, headers=h).json()["assessment"] == "not-recorded"
    created = client.post(url, json=PENICILLIN, headers={**h, "Idempotency-Key": "k-1"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["substance"], body["source"], body["status"]) == ("Penicillin", "clinician", "active")
    replay = client.post(url, json=PENICILLIN, headers={**h, "Idempotency-Key": "k-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    duplicate = client.post(url, json={"substance": "penicillin ", "category": "medication"}, headers=h)
    assert duplicate.status_code == 409 and duplicate.headers["content-type"].startswith("application/problem+json")
    assert duplicate.json()["errors"][0]["field"] == "substance" and duplicate.json()["allergy_id"] == body["id"]
    listed = client.get(url, headers=h).json()
    assert listed["assessment"] == "allergies" and [i["id"] for i in listed["items"]] == [body["id"]]
    changed = client.patch(f"{url}/{body['id']}", json={"status": "inactive"}, headers=h)
    assert changed.status_code == 200 and changed.json()["status_changed_by"]
    assert client.get(url, headers=h).json()["items"] == []
    assert len(client.get(f"{url}?include_inactive=true", headers=h).json()["items"]) == 1
    nka = client.post(f"{url}/no-known-allergies", headers=h)
    assert nka.status_code == 200 and nka.json()["assessment"] == "no-known-allergies"


def test_bad_input_is_a_problem_with_field_errors(client, login, register):
    p = register()
    h = login(Role.CLINICIAN)["headers"]
    url = f"/api/v1/patients/{p.id}/allergies"
    blank = client.post(url, json={"substance": "   ", "category": "food"}, headers=h)
    assert blank.status_code == 422 and blank.json()["errors"] == [
        {"field": "substance", "message": "Enter the substance, e.g. Penicillin."}
    ]
    assert client.post(url, json={"substance": "Eggs", "category": "breakfast"}, headers=h).status_code == 422
    assert client.post(url, json={"substance": "Eggs", "category": "food", "extra": 1}, headers=h).status_code == 422
    entry = client.post(url, json=PENICILLIN, headers=h).json()
    assert client.patch(f"{url}/{entry['id']}", json={"substance": "Sulfa"}, headers=h).status_code == 422
    assert client.patch(f"{url}/{p.id}", json={"status": "inactive"}, headers=h).status_code == 404


def test_a_patient_adds_their_own_but_not_another_patients(client, login, register, db):
    a = register()
    b = register(given_name="Maria", family_name="Garcia", email=None, phone=None)
    me = login(Role.PATIENT, patient_id=a.id)
    own = client.post(f"/api/v1/patients/{a.id}/allergies", json=PENICILLIN, headers=me["headers"])
    assert own.status_code == 201 and own.json()["source"] == "patient-reported"
    mark = client.patch(
        f"/api/v1/patients/{a.id}/allergies/{own.json()['id']}", json={"status": "inactive"}, headers=me["headers"]
    )
    assert mark.status_code == 403
    for method, path, body in [
        ("GET", "", None),
        ("POST", "", PENICILLIN),
        ("POST", "/no-known-allergies", None),
    ]:
        response = client.request(method, f"/api/v1/patients/{b.id}/allergies{path}", json=body, headers=me["headers"])
        assert response.status_code == 403, (method, path)
        assert response.headers["content-type"].startswith("application/problem+json")
    with db.unit_of_work() as s:
        denied = s.scalars(
            select(AuditEntry).where(AuditEntry.patient_id == b.id, AuditEntry.outcome == "denied")
        ).all()
    assert len(denied) == 3 and {d.actor_user_id for d in denied} == {me["user_id"]}


def test_staff_without_access_are_refused(client, login, register):
    p = register()
    for role in (Role.ADMINISTRATOR, Role.EMPLOYER_ADMIN):
        assert client.get(f"/api/v1/patients/{p.id}/allergies", headers=login(role)["headers"]).status_code == 403
    pharmacist = login(Role.PHARMACIST)["headers"]
    assert client.get(f"/api/v1/patients/{p.id}/allergies", headers=pharmacist).status_code == 200
    assert client.post(f"/api/v1/patients/{p.id}/allergies", json=PENICILLIN, headers=pharmacist).status_code == 403


def test_every_state_of_an_entry_renders_as_a_valid_fhir_r4_allergy_intolerance(db, register):
    p = register()
    me = Actor(user_id=None, label="me", roles=frozenset({Role.PATIENT}), patient_id=p.id)
    with db.unit_of_work() as s:
        clinician_entry = service.record_allergy(s, SYSTEM, p.id, PENICILLIN)
        reported = service.record_allergy(s, me, p.id, {"substance": "Cats", "category": "environment"})
        wrong = service.record_allergy(s, SYSTEM, p.id, {"substance": "Aspirin", "category": "medication"})
        service.update_allergy(s, SYSTEM, p.id, wrong.id, {"status": "entered-in-error"})
        patient = s.get(Patient, p.id)
        resources = [as_fhir(a, patient) for a in (clinician_entry, reported, wrong)]
    for resource in resources:
        AllergyIntolerance.model_validate(resource)  # raises on anything R4 does not allow
    first, second, third = resources
    assert first["clinicalStatus"]["coding"][0]["code"] == "active" and first["criticality"] == "high"
    assert first["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert first["reaction"] == [{"manifestation": [{"text": "hives"}]}] and first["patient"]["reference"].endswith(
        str(p.id)
    )
    assert second["verificationStatus"]["coding"][0]["code"] == "unconfirmed" and "asserter" in second
    assert "clinicalStatus" not in third and third["verificationStatus"]["coding"][0]["code"] == "entered-in-error"


def test_no_known_allergies_renders_as_fhirs_nka_resource(db, register):
    p = register()
    with db.unit_of_work() as s:
        assert no_known_allergies_fhir(s.get(Patient, p.id)) is None
        service.record_no_known_allergies(s, SYSTEM, p.id)
        resource = no_known_allergies_fhir(s.get(Patient, p.id))
    assert resource is not None
    AllergyIntolerance.model_validate(resource)
    assert resource["code"]["coding"][0]["code"] == "716186003"
