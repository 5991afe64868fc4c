"""The patient API takes dates only as YYYY-MM-DD: a number or a malformed date is a 422 problem
naming the field, never read as seconds since 1970."""

from __future__ import annotations

import pytest

from careplane.kernel.identity.roles import Role
from tests.kernel.patients.conftest import patient_data


def _problem_fields(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("value", ["0", "1984", "21/07/1984", "1984-02-30", "1984-7-21", "yesterday"])
def test_search_refuses_a_malformed_birth_date(client, login, value):
    who = login(Role.CLINICIAN)
    assert _problem_fields(client.get("/api/v1/patients", params={"birth_date": value}, headers=who["headers"])) == [
        "birth_date"
    ]


def test_search_by_a_real_birth_date_finds_the_patient(client, login, register):
    found = register()
    who = login(Role.CLINICIAN)
    response = client.get("/api/v1/patients", params={"birth_date": "1984-07-21"}, headers=who["headers"])
    assert response.status_code == 200 and [p["id"] for p in response.json()["items"]] == [str(found.id)]


@pytest.mark.parametrize("value", [0, 446169600, "0", "1984-13-01"])
def test_register_and_change_refuse_a_birth_date_that_is_not_a_date(client, login, register, value):
    who = login(Role.CLINICIAN)
    body = {**patient_data(), "birth_date": value}
    assert _problem_fields(client.post("/api/v1/patients", json=body, headers=who["headers"])) == ["birth_date"]
    existing = register()
    assert _problem_fields(
        client.patch(f"/api/v1/patients/{existing.id}", json={"birth_date": value}, headers=who["headers"])
    ) == ["birth_date"]
