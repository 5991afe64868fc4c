"""How the OpenAPI document describes an RFC 9457 problem+json answer: one schema for every route."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = Field(None, description="Field-level messages for validation failures.")


def problem_answer(description: str) -> dict[str, Any]:
    """An entry of a route's ``responses``: ``{401: problem_answer("Not logged in")}``."""
    return {"model": Problem, "description": description, "content": {"application/problem+json": {}}}


#: How a problem status is described where a route says nothing more particular.
DESCRIPTIONS: Mapping[int, str] = MappingProxyType(
    {
        400: "Bad request",
        401: "Not authenticated",
        403: "Access denied (audited)",
        404: "Not found",
        409: "Conflict",
        413: "The body is larger than the route accepts",
        422: "Validation failed: `errors` lists each field and its message",
        429: "Too many requests",
        503: "Busy: retry after `Retry-After` seconds",
    }
)


def problem_responses(*statuses: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route or router for the problem+json answers it gives: each of
    ``statuses`` with its description in :data:`DESCRIPTIONS`, and each status ``described`` names
    with the description given there (which wins over the usual one)::

        problem_responses(401, 422, described={404: "No such patient"})

    Combine them with ``{**a, **b}``; a later entry for a status replaces an earlier one."""
    own = dict(described or {})
    answers: dict[int | str, dict[str, Any]] = {}
    for status in (*statuses, *own):
        if status in answers:
            continue
        if status not in own and status not in DESCRIPTIONS:
            raise ValueError(f"No usual description for status {status}: describe it (described={{{status}: ...}}).")
        answers[status] = problem_answer(own.get(status) or DESCRIPTIONS[status])
    return answers


def problem_answers_everywhere(spec: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document as the app answers: every error (4xx, 5xx) is ``application/problem+json``
    with the :class:`Problem` schema (``app.py``'s error handlers make sure of it), including the
    422 that FastAPI would otherwise describe as its own ``HTTPValidationError`` JSON."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for status, answer in operation.get("responses", {}).items():
                if str(status)[0] in "45":
                    answer["content"] = {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, answered by no route
        if unused in schemas and json.dumps(spec).count(f'"#/components/schemas/{unused}"') == 0:
            del schemas[unused]
    return spec
