"""The OpenAPI document lists the answers routes really give, and no route escapes the edge rules."""

from __future__ import annotations

import pytest
from fastapi import APIRouter

from careplane.kernel.guarded_route import GuardedRoute, assert_guarded
from careplane.kernel.problem_docs import DESCRIPTIONS, problem_responses

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture
def spec(client) -> dict:  # noqa: ANN001
    return client.get("/api/v1/openapi.json").json()


def operations(spec: dict):  # noqa: ANN201
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", method, op


def test_every_operation_documents_the_edge_refusals_as_problems(spec):
    assert "Problem" in spec["components"]["schemas"] and "HTTPValidationError" not in spec["components"]["schemas"]
    for label, method, op in operations(spec):
        answers = op["responses"]
        assert "400" in answers, label
        assert ("413" in answers) == (method not in ("get", "head")), label
        for status, answer in answers.items():
            if status[0] in "45":
                assert answer["content"] == PROBLEM, f"{label} {status}"


def test_the_audit_api_documents_its_problems(spec):
    answers = spec["paths"]["/api/v1/audit"]["get"]["responses"]
    assert {"400", "401", "403", "422"} <= set(answers)
    assert all(answers[s]["content"] == PROBLEM for s in ("400", "401", "403", "422"))


def test_an_app_with_an_unguarded_route_does_not_start():
    plain = APIRouter()

    @plain.post("/sneaky")
    def sneaky() -> None: ...

    with pytest.raises(TypeError, match="/sneaky is not a GuardedRoute"):
        assert_guarded(plain.routes, "a module")
    guarded = APIRouter(route_class=GuardedRoute)
    guarded.post("/fine")(sneaky)
    assert_guarded(guarded.routes, "a module")


def test_the_document_declares_bearer_tokens_and_which_operations_need_one(client):
    spec = client.get("/api/v1/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["bearerToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "/profile" in scheme["description"] and "POST /api/v1/me/tokens" in spec["info"]["description"]
    assert spec["paths"]["/api/v1/patients"]["get"]["security"] == [{"bearerToken": []}]
    assert spec["paths"]["/api/v1/patients"]["post"]["security"] == [{"bearerToken": []}]
    public = [
        (path, method) for path, ops in spec["paths"].items() for method, op in ops.items() if "security" not in op
    ]
    assert all("401" not in spec["paths"][path][method]["responses"] for path, method in public)


def test_problem_responses_use_the_usual_description_unless_one_is_given():
    answers = problem_responses(401, 422, described={404: "No such patient", 422: "Bad filter"})
    assert list(answers) == [401, 422, 404]
    assert answers[401]["description"] == DESCRIPTIONS[401]
    assert answers[422]["description"] == "Bad filter"
    assert answers[404]["description"] == "No such patient"
    assert all(a["content"] == {"application/problem+json": {}} for a in answers.values())


def test_problem_responses_refuse_a_status_with_no_description():
    with pytest.raises(ValueError, match="418"):
        problem_responses(401, 418)
    assert problem_responses(described={418: "A teapot"})[418]["description"] == "A teapot"
