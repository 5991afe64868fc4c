"""How the OpenAPI document describes an RFC 9457 problem+json answer: one schema for every route."""

from __future__ import annotations

import json
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
                    answer["content"] = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, answered by no route
        if unused in schemas and json.dumps(spec).count(f'"#/components/schemas/{unused}"') == 0:
            del schemas[unused]
    return spec
