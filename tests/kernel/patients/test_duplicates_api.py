"""The JSON API for duplicate review: list the open pairs, dismiss one, merge two records."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.events import OutboxEvent
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.models import Consent, Patient, PossibleDuplicate


def count(db, model, *where) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def two(register, db):  # noqa: ANN001, ANN201
    """Jonathan Smith and, registered later, 'Jon' Smith with the same birth date: one open pair."""
    first = register(email=None, phone=None, state=None, postal_code=None)
    second = register(given_name="Jon", city="Albany")
    with db.unit_of_work() as s:
        pair = s.scalar(select(PossibleDuplicate))
    return first, second, pair


def problem_of(response) -> dict:  # noqa: ANN001
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()


def test_the_open_pairs_with_a_summary_of_the_other_record_audited_like_the_chart(client, login, db, two):
    first, second, pair = two
    auth = login(Role.CLINICIAN)
    response = client.get(f"/api/v1/patients/{first.id}/duplicates", headers=auth["headers"])
    assert response.status_code == 200, response.text
    (item,) = response.json()
    assert item["pair_id"] == str(pair.id) and item["score"] == pair.score
    assert item["reasons"][0] == "same date of birth" and item["found_at"]
    assert item["other"] == {"id": str(second.id), "mrn": second.mrn, "name": "Jon Smith", "birth_date": "1984-07-21"}
    assert (
        count(
            db,
            AuditEntry,
            AuditEntry.actor_user_id == auth["user_id"],
            AuditEntry.patient_id == second.id,
            AuditEntry.resource_type == "patient.duplicate",
        )
        == 1
    )
    # a patient may not see who else might be them
    me = login(Role.PATIENT, patient_id=first.id)
    refused = client.get(f"/api/v1/patients/{first.id}/duplicates", headers=me["headers"])
    assert refused.status_code == 403 and problem_of(refused)["type"].endswith("/access-denied")
    assert count(db, AuditEntry, AuditEntry.actor_user_id == me["user_id"], AuditEntry.outcome == "denied") == 1
    assert client.get(f"/api/v1/patients/{second.id}/duplicates", headers=me["headers"]).status_code == 403


def test_dismiss_is_idempotent_with_a_key_and_a_conflict_without(client, login, db, two):
    first, second, pair = two
    url = f"/api/v1/patients/{first.id}/duplicates/{pair.id}/dismiss"
    pharmacist = login(Role.PHARMACIST)
    assert client.post(url, headers=pharmacist["headers"]).status_code == 403
    auth = login(Role.CLINICIAN)
    headers = {**auth["headers"], "Idempotency-Key": "dismiss-1"}
    done = client.post(url, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json() == {
        "pair_id": str(pair.id),
        "patient_id": str(second.id),
        "other_patient_id": str(first.id),
        "status": "not_duplicate",
    }
    again = client.post(url, headers=headers)
    assert again.status_code == 200 and again.json() == done.json() and again.headers["idempotent-replayed"] == "true"
    # one decision, audited for both records
    assert (
        count(
            db, AuditEntry, AuditEntry.actor_user_id == auth["user_id"], AuditEntry.resource_type == "patient.duplicate"
        )
        == 2
    )
    decided = client.post(url, headers=auth["headers"])
    assert decided.status_code == 409 and problem_of(decided)["detail"] == "This pair was already decided."
    assert client.get(f"/api/v1/patients/{first.id}/duplicates", headers=auth["headers"]).json() == []
    unknown = client.post(f"/api/v1/patients/{first.id}/duplicates/{first.id}/dismiss", headers=auth["headers"])
    assert unknown.status_code == 404 and problem_of(unknown)["status"] == 404


def test_merge_then_the_merged_record_reads_as_replaced_and_refuses_changes(client, login, db, two):
    first, second, pair = two
    lead = login(Role.OPERATIONS_LEAD)
    client.post(f"/api/v1/patients/{second.id}/consents", json={"kind": "telehealth"}, headers=lead["headers"])
    response = client.post(
        f"/api/v1/patients/{first.id}/merge",
        json={"merge_patient_id": str(second.id), "pair_id": str(pair.id)},
        headers=lead["headers"],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["survivor"]["id"] == str(first.id) and body["survivor"]["active"] is True
    assert body["survivor"]["given_name"] == "Jonathan" and body["survivor"]["city"] == "Albany"
    assert body["filled"] == ["phone", "email", "city", "state", "postal_code"]
    assert [c["kind"] for c in body["survivor"]["consents"]] == ["telehealth"]
    assert (body["merged_id"], body["merged_mrn"], body["consents_moved"]) == (str(second.id), second.mrn, 1)
    assert body["pairs"] == {"merged": 1, "repointed": 0, "superseded": 0}
    with db.unit_of_work() as s:
        assert s.get(OutboxEvent, uuid.UUID(body["event_id"])).payload["merged_id"] == str(second.id)

    merged = client.get(f"/api/v1/patients/{second.id}", headers=lead["headers"]).json()
    assert merged["active"] is False and merged["replaced_by"] == str(first.id) and merged["given_name"] == "Jon"
    kept = client.get(f"/api/v1/patients/{first.id}", headers=lead["headers"]).json()
    assert kept["active"] is True and kept["replaced_by"] is None
    changed = client.patch(f"/api/v1/patients/{second.id}", json={"city": "Troy"}, headers=lead["headers"])
    assert changed.status_code == 409
    assert problem_of(changed)["type"].endswith("/patient-merged") and changed.json()["replaced_by"] == str(first.id)
    consent = client.post(f"/api/v1/patients/{second.id}/consents", json={"kind": "treatment"}, headers=lead["headers"])
    assert consent.status_code == 409 and count(db, Consent, Consent.patient_id == second.id) == 0
    found = client.get("/api/v1/patients?q=smith", headers=lead["headers"]).json()
    assert [p["id"] for p in found["items"]] == [str(first.id)]
    again = client.post(
        f"/api/v1/patients/{first.id}/merge", json={"merge_patient_id": str(second.id)}, headers=lead["headers"]
    )
    assert again.status_code == 409 and problem_of(again)["replaced_by"] == str(first.id)


def test_a_retried_merge_with_the_same_key_acts_once(client, login, db, two):
    first, second, _ = two
    lead = login(Role.OPERATIONS_LEAD)
    headers = {**lead["headers"], "Idempotency-Key": "merge-7"}
    url = f"/api/v1/patients/{first.id}/merge"
    done = client.post(url, json={"merge_patient_id": str(second.id)}, headers=headers)
    retry = client.post(url, json={"merge_patient_id": str(second.id)}, headers=headers)
    assert done.status_code == retry.status_code == 200
    assert retry.json() == done.json() and retry.headers["idempotent-replayed"] == "true"
    assert count(db, OutboxEvent) == 1
    assert count(db, AuditEntry, AuditEntry.action == "patient.merge", AuditEntry.patient_id == second.id) == 1
    other = client.post(url, json={"merge_patient_id": str(first.id)}, headers=headers)  # same key, new request
    assert other.status_code == 422 and problem_of(other)["type"].endswith("/idempotency-key-reused")


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.PATIENT, Role.BILLER])
def test_merge_is_refused_to_those_without_patient_merge_and_the_refusal_is_recorded(client, login, db, two, role):
    first, second, pair = two
    who = login(role, patient_id=first.id if role is Role.PATIENT else None)
    response = client.post(
        f"/api/v1/patients/{first.id}/merge",
        json={"merge_patient_id": str(second.id), "pair_id": str(pair.id)},
        headers=who["headers"],
    )
    assert response.status_code == 403 and problem_of(response)["title"] == "Access denied"
    assert (
        count(
            db,
            AuditEntry,
            AuditEntry.actor_user_id == who["user_id"],
            AuditEntry.action == "patient.merge",
            AuditEntry.outcome == "denied",
        )
        == 1
    )
    assert count(db, Patient, Patient.merged_into_id.is_not(None)) == 0 and count(db, OutboxEvent) == 0


def test_merge_input_errors_are_problems(client, login, db, two):
    first, second, pair = two
    lead = login(Role.OPERATIONS_LEAD)
    url = f"/api/v1/patients/{first.id}/merge"
    itself = client.post(url, json={"merge_patient_id": str(first.id)}, headers=lead["headers"])
    assert itself.status_code == 422 and problem_of(itself)["errors"][0]["field"] == "merge_patient_id"
    missing = client.post(url, json={}, headers=lead["headers"])
    assert missing.status_code == 422 and problem_of(missing)["errors"][0]["field"] == "merge_patient_id"
    extra = client.post(url, json={"merge_patient_id": str(second.id), "survivor": "x"}, headers=lead["headers"])
    assert extra.status_code == 422
    unknown = client.post(url, json={"merge_patient_id": str(pair.id)}, headers=lead["headers"])
    assert unknown.status_code == 404 and problem_of(unknown)["status"] == 404
    nobody = client.post(
        f"/api/v1/patients/{pair.id}/merge", json={"merge_patient_id": str(second.id)}, headers=lead["headers"]
    )
    assert nobody.status_code == 404
    wrong_pair = client.post(
        url, json={"merge_patient_id": str(second.id), "pair_id": str(first.id)}, headers=lead["headers"]
    )
    assert wrong_pair.status_code == 404
    assert count(db, Patient, Patient.merged_into_id.is_not(None)) == 0


def test_the_review_endpoints_are_documented_with_their_errors(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    listing = paths["/api/v1/patients/{patient_id}/duplicates"]["get"]
    dismiss = paths["/api/v1/patients/{patient_id}/duplicates/{pair_id}/dismiss"]["post"]
    merge = paths["/api/v1/patients/{patient_id}/merge"]["post"]
    assert {"200", "401", "403", "404"} <= set(listing["responses"])
    assert {"200", "403", "404", "409"} <= set(dismiss["responses"])
    assert {"200", "401", "403", "404", "409", "422"} <= set(merge["responses"])
    assert "application/problem+json" in merge["responses"]["409"]["content"]
    for operation in (dismiss, merge):
        assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
    read = paths["/api/v1/patients/{patient_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"][read["$ref"].rsplit("/", 1)[1]]
    assert {"active", "replaced_by"} <= set(schema["properties"])
