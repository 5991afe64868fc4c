"""A condition's intake, answered: which questions are asked (``enableWhen``), whether each answer is
of the right type, whether the required ones are there, and whether an answer is a red flag.

Two kinds of callers: the JSON API sends typed values (``true``, ``3``, ``"never"``), the pages
send text from a form (``"true"``, ``"3"``); ``from_form`` says which, so the API refuses
``"three"`` for a number and a string for a yes/no instead of guessing. Answers are kept by
``linkId``; dates as ISO text. Nothing here touches the database.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from careplane.kernel.form_dates import parse_form_date
from careplane.units.virtual_care.catalog import Answer, Condition, EnableWhen, Item, RedFlag

MAX_TEXT = 2000
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}
#: Emergency advice outranks in-person advice when several answers are red flags.
_LEVEL_ORDER = {"emergency": 0, "in_person": 1}


def _holds(value: Answer | None, op: str, expected: Answer) -> bool:
    if value is None:
        return False
    try:
        return _COMPARE[op](value, expected)
    except TypeError:
        return False


def _when_holds(when: EnableWhen, answers: Mapping[str, Answer]) -> bool:
    return _holds(answers.get(when.question), when.operator, when.answer)


def is_enabled(item: Item, answers: Mapping[str, Answer]) -> bool:
    """Whether the questionnaire asks ``item`` given the other answers (FHIR ``enableWhen``)."""
    if not item.enable_when:
        return True
    results = [_when_holds(w, answers) for w in item.enable_when]
    return all(results) if item.enable_behavior == "all" else any(results)


def _typed(item: Item, raw: Any, from_form: bool) -> Answer:
    """The answer as its item's type, or ValueError with words for the patient."""
    kind = item.type
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        if from_form and isinstance(raw, str) and raw.strip().lower() in {"true", "yes", "false", "no"}:
            return raw.strip().lower() in {"true", "yes"}
        raise ValueError("Answer yes or no.")
    if kind == "choice":
        codes = [o.code for o in item.options]
        if isinstance(raw, str) and raw in codes:
            return raw
        raise ValueError(f"Choose one of: {', '.join(o.display for o in item.options)}.")
    if kind == "integer":
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if from_form and isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw.strip())
        raise ValueError("Answer with a whole number.")
    if kind == "decimal":
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
            return float(raw)
        if from_form and isinstance(raw, str):
            try:
                value = float(raw.strip())
            except ValueError:
                pass
            else:
                if math.isfinite(value):
                    return value
        raise ValueError("Answer with a number, such as 100.4.")
    if kind == "date":
        if isinstance(raw, str):
            return parse_form_date(raw).isoformat()
        raise ValueError("Answer with a date.")
    # string
    if isinstance(raw, str) and raw.strip():
        text = raw.strip()
        if len(text) > MAX_TEXT:
            raise ValueError(f"Keep this answer under {MAX_TEXT} characters.")
        return text
    raise ValueError("Answer in words.")


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def check_answers(
    condition: Condition, raw: Mapping[str, Any], *, from_form: bool, complete: bool
) -> tuple[dict[str, Answer], dict[str, str]]:
    """``(answers, errors)``: the answers as their types, only those the questionnaire asks given
    the others, and a message per bad ``linkId``. With ``complete``, every asked required question
    must be answered; otherwise (a saved draft) blanks are simply left out.

    Answers are read in the questionnaire's order, so an item's ``enableWhen`` sees the typed
    answers of the earlier items it depends on."""
    answers: dict[str, Answer] = {}
    errors: dict[str, str] = {}
    known = {i.link_id for i in condition.questionnaire}
    for link_id in raw:
        if link_id not in known:
            errors[link_id] = f"The {condition.name} questions have no question '{link_id}'."
    for item in condition.questionnaire:
        if not is_enabled(item, answers):
            continue
        value = raw.get(item.link_id)
        if _blank(value):
            if complete and item.required:
                errors[item.link_id] = "Please answer this question."
            continue
        try:
            answers[item.link_id] = _typed(item, value, from_form)
        except ValueError as bad:
            errors[item.link_id] = str(bad)
    return answers, errors


def red_flag(condition: Condition, answers: Mapping[str, Answer]) -> RedFlag | None:
    """The most serious red flag the answers raise, or None."""
    raised = [f for f in condition.red_flags if _holds(answers.get(f.link_id), f.operator, f.answer)]
    return min(raised, key=lambda f: _LEVEL_ORDER.get(f.level, 9)) if raised else None


def asked(condition: Condition, answers: Mapping[str, Answer]) -> list[tuple[Item, Answer | None]]:
    """The questions asked given the answers, in order, each with its answer (None: not yet)."""
    return [(i, answers.get(i.link_id)) for i in condition.questionnaire if is_enabled(i, answers)]


def display(item: Item, answer: Answer | None) -> str:
    """An answer as a person reads it."""
    if answer is None:
        return "(not answered)"
    if item.type == "boolean":
        return "Yes" if answer else "No"
    if item.type == "choice":
        return next((o.display for o in item.options if o.code == answer), str(answer))
    if item.type == "decimal" and isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return str(answer)
