"""The patient write API through Database.write: what a registration, a change and a consent grant
answer is what was stored (nothing is read back), and the rules and audit rows stay those of the
entity-returning service functions."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import func, select

from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.errors import AccessDenied
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients import service
from careplane.kernel.patients.models import Patient, PossibleDuplicate
from tests.helpers import run
from tests.kernel.patients.conftest import SYSTEM, patient_data

NEW = {
    "given_name": "Amara",
    "family_name": "Okafor",
    "birth_date": "1991-03-09",
    "sex_at_birth": "female",
    "phone": "212 555 0142",
    "language": "",
    "consents": ["treatment", "telehealth"],
}


def _read(client, login, patient_id, include="consents,contacts"):  # noqa: ANN001, ANN202
    doc = login(Role.CLINICIAN)
    return client.get(f"/api/v1/patients/{patient_id}?include={include}", headers=doc["headers"]).json()


def test_a_registration_answers_with_the_record_as_it_is_stored(client, login):
    doc = login(Role.CLINICIAN)
    answer = client.post(
        "/api/v1/patients",
        json={
            **NEW,
            "emergency_contacts": [
                {"name": "Zed Okafor", "relationship": "brother", "phone": "212 555 0100"},
                {"name": "Ada Okafor", "relationship": "mother", "phone": "212 555 0101"},
            ],
        },
        headers=doc["headers"],
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body == _read(client, login, body["id"])
    # the column defaults the ORM would have given: an empty language is English, no e-mail means phone
    assert (body["language"], body["preferred_channel"], body["allow_sms"], body["allow_email"]) == (
        "en",
        "phone",
        False,
        True,
    )
    assert [c["kind"] for c in body["consents"]] == ["treatment", "telehealth"]
    assert [c["version"] for c in body["consents"]] == ["2026-01", "2026-01"]
    assert [c["name"] for c in body["emergency_contacts"]] == ["Ada Okafor", "Zed Okafor"]


def test_a_confirmed_duplicate_is_kept_as_a_pair_to_review(client, login, db, register):
    first = register(given_name="Amara", family_name="Okafor", birth_date="1991-03-09", email=None, phone=None)
    doc = login(Role.CLINICIAN)
    answer = client.post("/api/v1/patients", json=NEW, headers=doc["headers"])
    assert answer.status_code == 409
    assert [c["mrn"] for c in answer.json()["candidates"]] == [first.mrn]
    answer = client.post("/api/v1/patients", json={**NEW, "confirm_not_duplicate": True}, headers=doc["headers"])
    assert answer.status_code == 201
    with db.unit_of_work() as s:
        pair = s.scalars(select(PossibleDuplicate)).one()
    assert (str(pair.patient_id), pair.other_patient_id, pair.status) == (answer.json()["id"], first.id, "open")
    assert pair.reasons.startswith("same date of birth; same family name")


def test_a_change_answers_with_the_record_as_it_is_stored_and_no_change_leaves_it_alone(client, login, register):
    patient = register()
    doc = login(Role.CLINICIAN)
    before = _read(client, login, patient.id, include="consents")
    changed = client.patch(
        f"/api/v1/patients/{patient.id}", json={"city": "Albany", "family_name": "Smyth"}, headers=doc["headers"]
    )
    assert changed.status_code == 200, changed.text
    after = _read(client, login, patient.id, include="consents")
    assert {**changed.json(), "consents": after["consents"]} == after
    assert (after["city"], after["family_name"]) == ("Albany", "Smyth")
    assert after["updated_at"] > before["updated_at"]
    again = client.patch(f"/api/v1/patients/{patient.id}", json={"city": "Albany"}, headers=doc["headers"])
    assert again.json()["updated_at"] == after["updated_at"]  # nothing changed, as with the entity


def test_a_change_keeps_the_rules(client, login, register):
    patient = register(email=None)
    doc = login(Role.CLINICIAN)
    refused = client.patch(
        f"/api/v1/patients/{patient.id}", json={"preferred_channel": "email"}, headers=doc["headers"]
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["preferred_channel"]
    me = login(Role.PATIENT, patient_id=patient.id)
    locked = client.patch(f"/api/v1/patients/{patient.id}", json={"birth_date": "1990-01-01"}, headers=me["headers"])
    assert locked.status_code == 422
    assert [e["field"] for e in locked.json()["errors"]] == ["birth_date"]


def test_a_consent_grant_answers_with_the_stored_row_and_an_active_one_again(client, login, db, register):
    patient = register()
    doc = login(Role.CLINICIAN)
    url = f"/api/v1/patients/{patient.id}/consents"
    granted = client.post(url, json={"kind": "telehealth", "version": "v2"}, headers=doc["headers"])
    assert granted.status_code == 201, granted.text
    assert [granted.json()] == client.get(url, headers=doc["headers"]).json()
    again = client.post(url, json={"kind": "telehealth"}, headers=doc["headers"])
    assert again.json() == granted.json()
    with db.unit_of_work() as s:
        rows = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.actor_user_id == doc["user_id"],
                AuditEntry.resource_type == "patient.consents",
                AuditEntry.action == "patient.update",
            )
        )
    assert rows == 2


def test_a_write_refuses_an_unknown_caller_before_it_reads_the_body(client):
    answer = client.post("/api/v1/patients", json={"given_name": ""}, headers={"Authorization": "Bearer cpt_nope"})
    assert answer.status_code == 401


def test_a_refused_write_leaves_its_audit_row_and_nothing_else(client, login, db, register):
    patient = register()
    biller = login(Role.BILLER)
    answer = client.post(
        f"/api/v1/patients/{patient.id}/consents", json={"kind": "telehealth"}, headers=biller["headers"]
    )
    assert answer.status_code == 403
    with db.unit_of_work() as s:
        denied = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor_user_id == biller["user_id"], AuditEntry.outcome == "denied")
        )
    assert denied == 1


def test_database_write_waits_for_a_writer_held_elsewhere_on_a_thread(db):
    """On SQLite a write runs on the event loop only when the writer is free; otherwise it waits
    on a request thread, and the loop stays free."""
    if db.is_postgres:
        pytest.skip("SQLite's one writer")

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.unit_of_work() as s:
            s.add(
                Patient(
                    mrn="CP000000000",
                    given_name="A",
                    family_name="B",
                    given_name_norm="a",
                    family_name_norm="b",
                    birth_date=patient_data()["birth_date"],
                    sex_at_birth="male",
                )
            )
            s.flush()  # the first write takes the writer
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)

    async def main() -> tuple[str, float]:
        async def let_go_soon() -> None:
            await asyncio.sleep(0.05)
            release.set()  # only if the loop runs while the write waits for the writer

        started = time.monotonic()
        letting_go = asyncio.create_task(let_go_soon())
        registered = await db.write(
            lambda s: service.register_patient_data(
                s, SYSTEM, patient_data(given_name="Carla"), confirm_not_duplicate=True
            )
        )
        await letting_go
        return registered.patient["given_name"], time.monotonic() - started

    given, waited = run(db, main())
    assert given == "Carla"
    assert waited < 5  # not the holder's 10 s: the loop let it go while the write waited on a thread
    holder.join()


def test_database_write_keeps_a_refusals_audit_row(db, register):
    patient = register()
    clerk = SYSTEM.__class__(
        user_id=None,
        label="nobody",
        roles=frozenset({Role.BILLER}),
        unit="revenue_cycle",
        unit_function="revenue_cycle",
    )
    with pytest.raises(AccessDenied):
        run(db, db.write(lambda s: service.grant_consent_data(s, clerk, patient.id, "telehealth")))
    with db.unit_of_work() as s:
        denied = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor_label == "nobody", AuditEntry.outcome == "denied")
        )
    assert denied == 1
