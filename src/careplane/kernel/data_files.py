"""Checking a data file a unit ships (a condition catalog, a drug catalog): every problem noted with
its place (``conditions[4] (acne).icd10[1]: ...``) and reported together in one error, so a bad edit
is found in one pass. Units subclass :class:`Checker` with the parts of their own format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DataFileError(ValueError):
    """The file is not well formed: ``problems`` lists each bad entry and field."""

    def __init__(self, problems: list[str], source: str) -> None:
        self.problems = problems
        super().__init__(
            f"{source} has {len(problems)} problem{'s' if len(problems) != 1 else ''}:\n"
            + "\n".join(f"  {p}" for p in problems)
        )


def kind_of(value: Any) -> str:
    """What a JSON value is, in the words of a problem ("text", "a number", ...)."""
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


class Checker:
    """Walks the decoded JSON, noting each problem with its path, and builds what is sound."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def bad(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def fields(self, raw: Any, where: str, spec: Mapping[str, bool]) -> dict[str, Any] | None:
        """The object's fields, after noting unknown and missing ones (``spec``: name -> required);
        None when it is no object."""
        if not isinstance(raw, dict):
            self.bad(where, f"must be an object, not {kind_of(raw)}")
            return None
        for name in raw:
            if name not in spec:
                self.bad(where, f"unknown field '{name}' (known: {', '.join(spec)})")
        for name, required in spec.items():
            if required and name not in raw:
                self.bad(where, f"missing field '{name}'")
        return raw
