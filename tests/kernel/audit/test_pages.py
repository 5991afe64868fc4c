"""The operations page /ops/audit and the JSON endpoint /api/v1/audit."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.audit.record import entry_for
from careplane.kernel.identity.roles import Role
from tests.kernel.audit.helpers import add_patient, count_entries, log_in

DOC = Actor(
    user_id=uuid.uuid4(),
    label="doc@example.org",
    roles=frozenset({Role.CLINICIAN}),
    unit="virtual_care",
    unit_function="virtual_care",
    ip="10.9.8.7",
)


def seed(db):
    with db.unit_of_work() as s:
        ada = add_patient(s, "MRN-7001", "Ada", "Lovelace")
        allowed = entry_for(DOC, "patient.read", outcome="allowed", patient_id=ada.id, reason="follow-up")
        allowed.occurred_at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        denied = entry_for(DOC, "patient.update", outcome="denied", patient_id=ada.id, reason="role(s) lack it")
        denied.occurred_at = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
        s.add_all([allowed, denied])
    return ada


def test_page_needs_login(client):
    response = client.get("/ops/audit", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_clinician_is_refused_and_the_attempt_is_recorded(db, client, settings):
    seed(db)
    log_in(client, db, settings, "clin@example.org", Role.CLINICIAN)
    response = client.get("/ops/audit")
    assert response.status_code == 403
    assert "MRN-7001" not in response.text
    with db.unit_of_work() as s:
        attempt = s.scalar(select(AuditEntry).where(AuditEntry.action == "audit.read"))
        assert attempt.outcome == "denied" and attempt.actor_label == "clin@example.org"
    assert client.get("/api/v1/audit").status_code == 403


def test_operations_lead_sees_the_log_and_the_view_is_recorded(db, client, settings):
    seed(db)
    log_in(client, db, settings, "lead@example.org", Role.OPERATIONS_LEAD)
    assert 'href="/ops/audit"' in client.get("/").text  # nav item
    response = client.get("/ops/audit", params={"patient": "MRN-7001", "tz": "America/New_York"})
    assert response.status_code == 200
    html = response.text
    assert "MRN-7001" in html and "Ada Lovelace" in html and "follow-up" in html
    assert 'class="denied"' in html and "Denied" in html
    assert "10.9.8.7" in html and "2026-03-01 07:00:00" in html  # noon UTC shown in New York time
    assert "Not yet" in html  # unsealed
    assert count_entries(db, action="audit.read", outcome="allowed") == 1


def test_page_shows_field_errors_for_bad_filters(db, client, settings):
    log_in(client, db, settings, "lead@example.org", Role.OPERATIONS_LEAD)
    response = client.get("/ops/audit", params={"since": "2026-03-09", "until": "2026-03-01", "outcome": "perhaps"})
    assert response.status_code == 422
    assert 'id="f-until-error"' in response.text and 'id="f-outcome-error"' in response.text


def test_page_paginates_by_fifty(db, client, settings):
    with db.unit_of_work() as s:
        for i in range(55):
            entry = entry_for(DOC, "patient.read", outcome="allowed", reason=f"r{i:02d}")
            entry.occurred_at = datetime(2026, 3, 1, 0, i, tzinfo=UTC)
            s.add(entry)
    log_in(client, db, settings, "admin@example.org", Role.ADMINISTRATOR)
    first = client.get("/ops/audit", params={"action": "patient.read"})
    assert first.text.count("<tr class=") == 50 and "r54" in first.text and "r04" not in first.text
    older = first.text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(older)
    assert second.text.count("<tr class=") == 5 and "r04" in second.text and "Older entries" not in second.text


def test_api_lists_with_filters_and_cursor(db, client, settings):
    ada = seed(db)
    log_in(client, db, settings, "lead@example.org", Role.OPERATIONS_LEAD)
    body = client.get("/api/v1/audit", params={"patient": "MRN-7001", "limit": 1}).json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    item = body["items"][0]
    assert item["outcome"] == "denied" and item["patient"] == {
        "id": str(ada.id),
        "mrn": "MRN-7001",
        "name": "Ada Lovelace",
    }
    assert item["actor"]["label"] == "doc@example.org" and item["sealed"] is False
    rest = client.get("/api/v1/audit", params={"patient": "MRN-7001", "after": body["next_cursor"]}).json()
    assert [i["reason"] for i in rest["items"]] == ["follow-up"] and rest["next_cursor"] is None
    denied_only = client.get("/api/v1/audit", params={"outcome": "denied"}).json()["items"]
    assert [i["action"] for i in denied_only] == ["patient.update"]


def test_api_bad_filters_are_problem_json_with_field_errors(db, client, settings):
    log_in(client, db, settings, "lead@example.org", Role.OPERATIONS_LEAD)
    response = client.get("/api/v1/audit", params={"since": "2026-03-09", "until": "2026-03-01"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [{"field": "until", "message": "Until must not be before since."}]
    response = client.get("/api/v1/audit", params={"since": "03/09/2026", "tz": "Nowhere/Special"})
    assert {e["field"] for e in response.json()["errors"]} == {"since", "tz"}
    assert client.get("/api/v1/audit", params={"limit": 0}).status_code == 422


def test_api_needs_credentials(client):
    response = client.get("/api/v1/audit")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
