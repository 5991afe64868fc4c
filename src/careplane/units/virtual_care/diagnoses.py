"""Finding ICD-10-CM diagnoses to code a visit with: billable codes only, searched by code or words.

The tabular list comes from ``simple-icd-10-cm`` (CMS's ICD-10-CM release); it is read once per
process, on the first search (a few seconds), and kept as (code, description) pairs."""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Sequence

_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{0,4})?$")
_WORD = re.compile(r"[a-z0-9]+")


@functools.cache
def _billable() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(code with dot, description, its lower-cased words) of every billable code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as icd

    rows = []
    for raw in icd.get_all_codes(False):
        if icd.is_category_or_subcategory(raw) and icd.is_leaf(raw):
            code = f"{raw[:3]}.{raw[3:]}" if len(raw) > 3 else raw  # icd.add_dot costs ~0.1 ms a code
            text = icd.get_description(raw)
            rows.append((code, text, tuple(_WORD.findall(text.lower()))))
    return tuple(rows)


@functools.cache
def _descriptions() -> dict[str, str]:
    return {code: text for code, text, _ in _billable()}


def describe(code: str) -> str:
    """The code's description ('' for a code that is not billable)."""
    return _descriptions().get(code, "")


def search(query: str, *, first: Sequence[str] = (), limit: int = 20) -> list[tuple[str, str]]:
    """Billable codes whose description has a word starting with each word of ``query`` (or whose
    code starts with it, for a code), the codes
    in ``first`` (e.g. the condition's own) ahead of the rest."""
    words = _WORD.findall(query.lower())
    if not words:
        return [(c, describe(c)) for c in first][:limit]
    as_code = query.strip().upper()
    if _CODE.match(as_code):
        matches = [(c, t) for c, t, _ in _billable() if c.startswith(as_code) or c.replace(".", "").startswith(as_code)]
    else:
        matches = [
            (c, t) for c, t, tokens in _billable() if all(any(tok.startswith(w) for tok in tokens) for w in words)
        ]
    preferred = set(first)
    matches.sort(key=lambda m: (m[0] not in preferred, len(m[0]), m[0]))
    return matches[:limit]
