"""The one rule for text that arrives from outside: no control characters.

NUL, the other C0 controls (tab, line feed and carriage return are text), DEL and the C1 controls
have no business in a name, a note or a search. PostgreSQL refuses NUL in text and SQLite stores
it silently, so the same input would fail on one engine and keep a poisoned value on the other;
the others hide in logs, exports and X12 files. No person types one, so it is refused with a clear
error naming the field, instead of being stored or stripped.

:mod:`careplane.kernel.guarded_route` applies it to every route's path, query string, JSON body
(any ``+json`` type) and form (urlencoded or multipart, file names included); importers apply it
to the files they read (:func:`first_in_text`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

#: C0 controls except tab (09), line feed (0A) and carriage return (0D); DEL (7F); C1 (80-9F).
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def describe(char: str) -> str:
    """``NUL (U+0000)``, for messages."""
    names = {"\x00": "NUL", "\x1b": "ESC", "\x7f": "DEL"}
    code = f"U+{ord(char):04X}"
    return f"{names[char]} ({code})" if char in names else f"control character {code}"


def _strings(value: Any, field: str) -> Iterator[tuple[str, str]]:
    """Every string in a parsed value (dict keys included), with the dotted field it sits in."""
    if isinstance(value, str):
        yield field, value
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{field}.{key}" if field else str(key)
            yield from _strings(key, inner)
            yield from _strings(item, inner)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{field}.{index}" if field else str(index))


def first_in(value: Any, field: str = "") -> tuple[str, str] | None:
    """The first field of ``value`` (a string, or JSON-like lists and dicts) that holds a
    forbidden character, and that character; None when all its text is clean."""
    for where, text in _strings(value, field):
        found = FORBIDDEN.search(text)
        if found:
            return where, found.group()
    return None


def first_in_text(text: str) -> tuple[int, str] | None:
    """For a file: the line (from 1) of the first forbidden character, and the character."""
    found = FORBIDDEN.search(text)
    if found is None:
        return None
    return text.count("\n", 0, found.start()) + 1, found.group()
