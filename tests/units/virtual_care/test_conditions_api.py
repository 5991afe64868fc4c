"""GET /api/v1/virtual-care/conditions (a public price list) and each condition's FHIR Questionnaire,
and the page /virtual-care/conditions."""

from __future__ import annotations

from datetime import date

from fhir.resources.R4B.questionnaire import Questionnaire

from careplane.kernel.access import Actor
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients import service as patients
from careplane.units.virtual_care.catalog import shipped
from tests import a11y
from tests.helpers import login


def test_the_price_list_is_public_and_uses_the_states_override(client):
    ny = client.get("/api/v1/virtual-care/conditions?state=NY&visit_type=message")
    assert ny.status_code == 200, ny.text
    rows = {r["code"]: r for r in ny.json()}
    assert len(rows) == len(shipped().conditions) >= 30
    uti = rows["uti"]
    assert uti["state"] == "NY" and uti["prices"] == {"message": {"cents": 4900, "display": "$49.00"}}
    assert uti["eligibility"] == {"min_age": 18, "max_age": 64, "sexes": ["female"], "pregnancy_allowed": False}
    assert uti["questionnaire"] == "/api/v1/virtual-care/conditions/uti"
    tx = {r["code"]: r for r in client.get("/api/v1/virtual-care/conditions?state=tx").json()}
    assert tx["uti"]["state"] == "TX"
    assert tx["uti"]["prices"] == {
        "message": {"cents": 3900, "display": "$39.00"},
        "video": {"cents": 7900, "display": "$79.00"},
    }


def test_an_unknown_state_or_visit_type_is_a_422_problem_naming_each(client):
    bad = client.get("/api/v1/virtual-care/conditions?state=ZZ&visit_type=carrier-pigeon")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    body = bad.json()
    assert body["type"].endswith("/validation-failed")
    assert "state" in str(body["errors"]) and "visit_type" in str(body["errors"])
    missing = client.get("/api/v1/virtual-care/conditions")
    assert missing.status_code == 422 and missing.headers["content-type"].startswith("application/problem+json")


def test_a_conditions_questionnaire_is_a_valid_fhir_resource(client):
    answer = client.get("/api/v1/virtual-care/conditions/birth_control")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/fhir+json")
    resource = answer.json()
    assert resource["resourceType"] == "Questionnaire" and resource["status"] == "active"
    branch = next(i for i in resource["item"] if i["linkId"] == "current_pill")
    assert branch["enableWhen"] == [{"question": "current", "operator": "=", "answerCoding": {"code": "pill"}}]
    questionnaire = Questionnaire.model_validate(resource)
    assert questionnaire.item[0].linkId == "current"
    nope = client.get("/api/v1/virtual-care/conditions/nope")
    assert nope.status_code == 404 and nope.headers["content-type"].startswith("application/problem+json")


def test_the_api_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json()
    listing = spec["paths"]["/api/v1/virtual-care/conditions"]["get"]
    assert listing["tags"] == ["virtual care"] and "security" not in listing
    assert "/api/v1/virtual-care/conditions/{code}" in spec["paths"]


def test_the_page_shows_prices_for_the_chosen_state(client):
    page = client.get("/virtual-care/conditions?state=NY")
    assert page.status_code == 200
    assert "<td>$49.00</td><td>$89.00</td>" in _uti_row(page.text)
    assert not a11y.problems(page.text)
    picker = client.get("/virtual-care/conditions")
    assert picker.status_code == 200 and "choose your state to see prices" in picker.text
    assert "$39.00" not in picker.text and not a11y.problems(picker.text)
    bad = client.get("/virtual-care/conditions?state=ZZ")
    assert bad.status_code == 422 and "Choose a US state" in bad.text and not a11y.problems(bad.text)


def test_a_logged_in_patient_sees_the_prices_of_their_own_state(client, db):
    with db.unit_of_work() as s:
        patient = patients.register_patient(
            s,
            Actor.for_system("tests"),
            {
                "given_name": "Ana",
                "family_name": "Lima",
                "birth_date": date(1990, 3, 4),
                "sex_at_birth": "female",
                "state": "CA",
                "postal_code": "94110",
                "email": "ana.lima@example.org",
            },
            confirm_not_duplicate=True,
        )
    login(client, db, role=Role.PATIENT, patient_id=patient.id)
    page = client.get("/virtual-care/conditions")
    assert page.status_code == 200
    assert 'value="CA" selected' in page.text
    assert "<td>$45.00</td><td>$79.00</td>" in _uti_row(page.text)  # CA overrides the message price only
    assert 'href="/virtual-care/conditions"' in page.text  # the patient's navigation entry
    other = client.get("/virtual-care/conditions?state=TX")
    assert 'value="TX" selected' in other.text and "<td>$39.00</td><td>$79.00</td>" in _uti_row(other.text)


def _uti_row(html: str) -> str:
    return html.split("Urinary tract infection", 1)[1].split("</tr>", 1)[0]
