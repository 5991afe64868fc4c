"""No control character reaches a route, whatever carries it (kernel/control_characters.py,
applied by kernel/guarded_route.py). Every test runs on SQLite and on PostgreSQL (the ``db``
fixture): SQLite would store a NUL and PostgreSQL would fail on it, so the edge refuses it first."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from careplane.kernel import control_characters
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.staff import csv_import
from careplane.kernel.patients import service
from careplane.kernel.patients.models import Patient
from careplane.kernel.web import CSRF_COOKIE
from tests.helpers import api_token, bearer, login, make_user
from tests.kernel.patients.conftest import SYSTEM, patient_data

JSON = {"Accept": "application/json"}


@pytest.fixture
def web(app) -> TestClient:  # noqa: ANN001
    return TestClient(app, base_url="http://testserver")


@pytest.fixture
def patient(db):  # noqa: ANN001, ANN201
    with db.unit_of_work() as s:
        return service.register_patient(s, SYSTEM, patient_data(), confirm_not_duplicate=True)


def stored(db, patient) -> Patient:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalars(select(Patient).where(Patient.id == patient.id)).one()


def refused(response, field: str) -> None:  # noqa: ANN001
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/invalid-characters")
    assert [e["field"] for e in problem["errors"]] == [field]


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f"])
def test_the_rule_refuses_controls_and_keeps_tab_and_line_breaks(char):
    assert control_characters.first_in({"a": ["ok", f"x{char}y"]}) == ("a.1", char)
    assert control_characters.first_in({"note": "one\ttwo\r\nthree", "name": "Zoë Ω"}) is None
    assert control_characters.first_in_text(f"a\nb\nc{char}") == (3, char)
    with pytest.raises(ValueError, match="Line 2 contains"):  # files: the staff CSV import
        csv_import.decode(f"email\nx{char}@example.org\n".encode())
    assert csv_import.decode(b"email\tname\r\n") == "email\tname\r\n"


def test_json_and_merge_patch_json_bodies(web, db, patient):
    token = bearer(api_token(db, make_user(db, role=Role.CLINICIAN)))
    refused(
        web.post(
            "/api/v1/patients", json={**patient_data(birth_date="1984-07-21"), "given_name": "A\x00"}, headers=token
        ),
        "given_name",
    )
    refused(
        web.post(
            "/api/v1/patients",
            json={
                **patient_data(birth_date="1984-07-21"),
                "emergency_contacts": [{"name": "Ann\x1b[31m", "phone": "2125550177"}],
            },
            headers=token,
        ),
        "emergency_contacts.0.name",
    )
    for content_type in ("application/json", "application/merge-patch+json"):
        answer = web.patch(
            f"/api/v1/patients/{patient.id}",
            content=b'{"city": "nul\\u0000c"}',
            headers={**token, "Content-Type": content_type},
        )
        refused(answer, "city")
    assert stored(db, patient).city != "nul\x00c"
    fine = web.patch(
        f"/api/v1/patients/{patient.id}",
        content=b'{"city": "Tab\\tTown"}',
        headers={**token, "Content-Type": "application/merge-patch+json"},
    )
    assert fine.status_code == 200 and stored(db, patient).city == "Tab\tTown"


def test_urlencoded_forms(web):
    web.get("/login")
    form = {"email": "a\x00@example.org", "password": "x", "csrf_token": web.cookies.get(CSRF_COOKIE)}
    refused(web.post("/login", data=form, headers=JSON), "email")
    page = web.post("/login", data=form)  # a browser gets a page saying what is wrong
    assert page.status_code == 400 and "NUL" in page.text and page.headers["content-type"].startswith("text/html")


def test_multipart_form_fields_and_file_names(web, db, patient):
    login(web, db, role=Role.PATIENT, patient_id=patient.id)
    web.get("/my")
    csrf = web.cookies.get(CSRF_COOKIE)
    field = web.post("/my", data={"csrf_token": csrf, "city": "nul\x00c"}, files={"none": ("", b"")}, headers=JSON)
    refused(field, "city")
    assert stored(db, patient).city != "nul\x00c"
    name = web.post("/my", data={"csrf_token": csrf}, files={"photo": ("a\x7f.png", b"x", "image/png")}, headers=JSON)
    refused(name, "photo")


def test_query_string_and_path(web, db):
    token = bearer(api_token(db, make_user(db, role=Role.CLINICIAN)))
    refused(web.get("/api/v1/patients?q=a%00b", headers=token), "q")
    refused(web.get("/api/v1/patients?unknown=%7F", headers=token), "unknown")
    refused(web.get("/api/v1/patients/a%00b", headers=token), "patient_id")
    refused(web.get("/patients?q=%1B", headers=JSON), "q")
    assert web.get("/api/v1/patients?q=Smith", headers=token).status_code == 200  # ordinary requests pass
