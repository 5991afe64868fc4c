"""How the OpenAPI document describes an RFC 9457 problem+json answer: one schema for every route."""

from __future__ import annotations

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
