"""Patient A against patient B through every page and API call that names a patient (or searches):
each is refused, B's record is unchanged, and every refusal that names B is in the audit log."""

from __future__ import annotations

from sqlalchemy import select

from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients import service
from careplane.kernel.patients.models import Consent, ConsentKind, EmergencyContact, Patient
from careplane.kernel.web import CSRF_COOKIE
from tests.kernel.patients.conftest import SYSTEM


def _b_with_consent(db, register):  # noqa: ANN001, ANN202
    b = register(given_name="Maria", family_name="Garcia", email=None, phone=None, birth_date="1979-03-02")
    with db.unit_of_work() as s:
        consent = service.grant_consent(s, SYSTEM, b.id, ConsentKind.TELEHEALTH)
        return b, consent.id


def _snapshot(db, patient_id):  # noqa: ANN001, ANN202
    with db.unit_of_work() as s:
        p = s.get(Patient, patient_id)
        consents = sorted(
            (c.kind, c.revoked_at is None) for c in s.scalars(select(Consent).where(Consent.patient_id == patient_id))
        )
        contacts = s.scalars(select(EmergencyContact.name).where(EmergencyContact.patient_id == patient_id)).all()
        return (p.given_name, p.family_name, p.city, p.phone, p.language, consents, sorted(contacts))


def _denials_of(db, patient_id, user_id) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return len(
            s.scalars(
                select(AuditEntry.id).where(
                    AuditEntry.patient_id == patient_id,
                    AuditEntry.actor_user_id == user_id,
                    AuditEntry.outcome == "denied",
                )
            ).all()
        )


def test_patient_a_is_refused_patient_b_through_every_page(client, login, register, db):
    a = register()
    b, consent_id = _b_with_consent(db, register)
    before = _snapshot(db, b.id)
    me = login(Role.PATIENT, patient_id=a.id, via="cookie")
    client.cookies.update(me["cookies"])
    client.get("/my")
    token = client.cookies.get(CSRF_COOKIE)
    form = {"csrf_token": token}
    attempts = [
        ("GET", f"/patients/{b.id}", None),
        ("GET", f"/patients/{b.id}/edit", None),
        (
            "POST",
            f"/patients/{b.id}/edit",
            {
                **form,
                "city": "Elsewhere",
                "contact_0_name": "Mallory",
                "contact_0_relationship": "friend",
                "contact_0_phone": "2125550100",
            },
        ),
        ("POST", f"/patients/{b.id}/consents", {**form, "kind": "treatment"}),
        ("POST", f"/patients/{b.id}/consents/{consent_id}/revoke", form),
    ]
    for method, url, data in attempts:
        response = client.request(method, url, data=data, follow_redirects=False)
        assert response.status_code == 403, (method, url, response.status_code)
        assert "Access denied" in response.text or "do not have access" in response.text
    # every attempt that named B was audited as refused
    assert _denials_of(db, b.id, me["user_id"]) == len(attempts)
    # searching and the audit log are not for patients at all
    for url in ("/patients", "/patients?q=garcia", "/patients/results?q=garcia", f"/ops/audit?patient={b.id}"):
        assert client.get(url, follow_redirects=False).status_code == 403, url
    # the portal works on one's own record only: B's consent id is simply not found there
    revoke = client.post(f"/my/consents/{consent_id}/revoke", data=form, follow_redirects=False)
    assert revoke.status_code == 404
    assert _snapshot(db, b.id) == before
    assert client.get("/my").status_code == 200  # and A still reaches their own record


def test_patient_a_is_refused_patient_b_through_every_api_call(client, login, register, db):
    a = register()
    b, consent_id = _b_with_consent(db, register)
    before = _snapshot(db, b.id)
    me = login(Role.PATIENT, patient_id=a.id)
    h = me["headers"]
    attempts = [
        ("GET", f"/api/v1/patients/{b.id}", None),
        ("GET", f"/api/v1/patients/{b.id}?include=consents,contacts", None),
        ("PATCH", f"/api/v1/patients/{b.id}", {"city": "Elsewhere"}),
        (
            "PATCH",
            f"/api/v1/patients/{b.id}",
            {"emergency_contacts": [{"name": "Mallory", "relationship": "friend", "phone": "2125550100"}]},
        ),
        ("GET", f"/api/v1/patients/{b.id}/consents", None),
        ("POST", f"/api/v1/patients/{b.id}/consents", {"kind": "treatment"}),
        ("POST", f"/api/v1/patients/{b.id}/consents/{consent_id}/revoke", None),
    ]
    for method, url, body in attempts:
        response = client.request(method, url, json=body, headers=h)
        assert response.status_code == 403, (method, url, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert _denials_of(db, b.id, me["user_id"]) == len(attempts)
    for url in (
        "/api/v1/patients?q=garcia",
        f"/api/v1/patients?mrn={b.mrn}",
        "/api/v1/patients?birth_date=1979-03-02",
        f"/api/v1/audit?patient={b.id}",
    ):
        assert client.get(url, headers=h).status_code == 403, url
    # revoking B's consent under A's own id is "no such consent", never a change to B
    assert client.post(f"/api/v1/patients/{a.id}/consents/{consent_id}/revoke", headers=h).status_code == 404
    assert _snapshot(db, b.id) == before
    assert client.get(f"/api/v1/patients/{a.id}", headers=h).status_code == 200


def test_staff_without_the_permission_are_refused_and_audited(client, login, register, db):
    b, _ = _b_with_consent(db, register)
    before = _snapshot(db, b.id)
    pharmacist = login(Role.PHARMACIST, via="cookie")
    client.cookies.update(pharmacist["cookies"])
    client.get("/patients")
    token = client.cookies.get(CSRF_COOKIE)
    assert client.get(f"/patients/{b.id}").status_code == 200  # may read ...
    assert client.get(f"/patients/{b.id}/edit").status_code == 403  # ... not open the change form
    assert client.post(f"/patients/{b.id}/edit", data={"csrf_token": token, "city": "X"}).status_code == 403
    assert client.get("/patients/new").status_code == 403
    assert _denials_of(db, b.id, pharmacist["user_id"]) == 2
    client.cookies.clear()
    for role in (Role.EMPLOYER_ADMIN, Role.ADMINISTRATOR):
        who = login(role)
        assert client.get(f"/api/v1/patients/{b.id}", headers=who["headers"]).status_code == 403
        assert client.get("/api/v1/patients?q=garcia", headers=who["headers"]).status_code == 403
        assert _denials_of(db, b.id, who["user_id"]) == 1
    assert _snapshot(db, b.id) == before
