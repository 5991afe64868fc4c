"""GET /api/v1/pharmacy/drugs and /drugs/{id} (any logged-in user), and the page /pharmacy/drugs."""

from __future__ import annotations

from careplane.kernel.identity.roles import Role
from tests import a11y
from tests.helpers import api_token, bearer, login, make_user


def test_the_api_searches_and_reads_products_for_a_logged_in_user(client, db):
    token = api_token(db, make_user(db, role=Role.CLINICIAN))
    found = client.get("/api/v1/pharmacy/drugs?q=amoxicilin&limit=3", headers=bearer(token))
    assert found.status_code == 200, found.text
    rows = found.json()
    assert len(rows) == 3 and all(r["ingredients"][0] == "amoxicillin" for r in rows)
    one = client.get("/api/v1/pharmacy/drugs/amoxicillin-500mg-cap", headers=bearer(token))
    assert one.status_code == 200
    body = one.json()
    assert body["name"] == "Amoxicillin 500 mg capsule" and body["brand"] == "Amoxil" and body["generic"] is True
    assert body["allergy_classes"] == ["penicillins"] and body["ndc"] == "00093310905" and body["rxcui"] == ""
    assert body["cash_price_cents"] >= body["acquisition_cents"] > 0
    by_ndc = client.get("/api/v1/pharmacy/drugs?q=0093-3109-05", headers=bearer(token)).json()
    assert [r["id"] for r in by_ndc] == ["amoxicillin-500mg-cap"]


def test_the_api_refuses_anonymous_callers_and_answers_problems(client, db):
    anonymous = client.get("/api/v1/pharmacy/drugs?q=amoxicillin")
    assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/pharmacy/drugs/amoxicillin-500mg-cap").status_code == 401
    token = api_token(db, make_user(db, role=Role.PHARMACIST))
    missing = client.get("/api/v1/pharmacy/drugs/nope", headers=bearer(token))
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    too_many = client.get("/api/v1/pharmacy/drugs?q=a&limit=500", headers=bearer(token))
    assert too_many.status_code == 422 and too_many.headers["content-type"].startswith("application/problem+json")


def test_the_api_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json()
    listing = spec["paths"]["/api/v1/pharmacy/drugs"]["get"]
    assert listing["tags"] == ["pharmacy"] and "401" in listing["responses"]
    assert "/api/v1/pharmacy/drugs/{product_id}" in spec["paths"]
    fields = spec["components"]["schemas"]["ProductOut"]["properties"]
    assert "description" in fields["ndc"] and "description" in fields["dea_schedule"]


def test_the_page_searches_and_shows_results_to_a_pharmacist(client, db):
    login(client, db, role=Role.PHARMACIST)
    empty = client.get("/pharmacy/drugs")
    assert empty.status_code == 200 and "Search the catalog" in empty.text and not a11y.problems(empty.text)
    found = client.get("/pharmacy/drugs?q=bactrim")
    assert found.status_code == 200 and not a11y.problems(found.text)
    assert "Sulfamethoxazole / trimethoprim 800 mg-160 mg tablet" in found.text and "Bactrim DS" in found.text
    none = client.get("/pharmacy/drugs?q=qqqqzzzz")
    assert none.status_code == 200 and "No product fits" in none.text
    home = client.get("/")
    assert 'href="/pharmacy/drugs"' in home.text


def test_the_page_sends_an_anonymous_visitor_to_log_in(client):
    assert client.get("/pharmacy/drugs", follow_redirects=False).status_code == 303
