"""The condition catalog: what Virtual Care treats online, its intake, its limits and its prices.

The catalog ships as ``data/conditions.json`` (its header names the sources). :func:`parse` turns
the file into frozen dataclasses and checks the whole of it, raising one :class:`CatalogError`
that names every bad entry and field (``conditions[4] (pink_eye).icd10[1]: 'H10.9Z' is not a
billable ICD-10-CM code``), so a bad edit is found in one pass. :func:`shipped` loads the shipped
file once per process; the API module calls it when it is imported, so the app does not start
with a broken catalog.

Prices are integer cents in the file; the service hands them out as
:class:`~careplane.kernel.money.Money`. No rules about visits live here: only what the catalog
says and whether it is well formed.
"""

from __future__ import annotations

import functools
import json
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from types import MappingProxyType
from typing import Any, Literal

from careplane.kernel.data_files import Checker, DataFileError
from careplane.kernel.data_files import kind_of as _kind
from careplane.kernel.patients.validation import US_STATES

FORMAT = "careplane.virtual_care.conditions/1"
VISIT_TYPES: tuple[str, ...] = ("message", "video")
ITEM_TYPES: frozenset[str] = frozenset({"boolean", "choice", "string", "integer", "decimal", "date"})
SEXES: tuple[str, ...] = ("female", "male")
OPERATORS: frozenset[str] = frozenset({"=", "!=", ">", "<", ">=", "<="})
ORDERED_TYPES: frozenset[str] = frozenset({"integer", "decimal", "date"})
LEVELS: tuple[str, ...] = ("emergency", "in_person")
#: The response-time promise when a condition names none: the first reply within an hour.
DEFAULT_REPLY_MINUTES = 60
#: The FHIR ``answer[x]`` name for each item type, in ``enableWhen``.
ANSWER_KEY: Mapping[str, str] = MappingProxyType(
    {
        "boolean": "answerBoolean",
        "choice": "answerCoding",
        "string": "answerString",
        "integer": "answerInteger",
        "decimal": "answerDecimal",
        "date": "answerDate",
    }
)

VisitType = Literal["message", "video"]
Answer = bool | int | float | str


class CatalogError(DataFileError):
    """The catalog is not well formed: ``problems`` lists each bad entry and field."""

    def __init__(self, problems: list[str], source: str = "the condition catalog") -> None:
        super().__init__(problems, source)


# ---------------------------------------------------------------- the catalog as code sees it


@dataclass(frozen=True)
class Option:
    code: str
    display: str


@dataclass(frozen=True)
class EnableWhen:
    """Show an item when an earlier item's answer compares so with ``answer`` (a choice: its code)."""

    question: str
    operator: str
    answer: Answer


@dataclass(frozen=True)
class Item:
    link_id: str
    text: str
    type: str
    required: bool
    options: tuple[Option, ...] = ()
    enable_when: tuple[EnableWhen, ...] = ()
    #: With several ``enable_when``: "all" must hold, or "any".
    enable_behavior: str = "all"


@dataclass(frozen=True)
class RedFlag:
    """An answer that ends the visit with ``advice`` (seek emergency or in-person care), at no charge."""

    link_id: str
    operator: str
    answer: Answer
    level: str
    advice: str


@dataclass(frozen=True)
class Eligibility:
    min_age: int
    max_age: int | None
    sexes: tuple[str, ...]
    pregnancy_allowed: bool


@dataclass(frozen=True)
class Drug:
    name: str
    strength: str
    sig: str
    quantity: int | float
    refills: int


@dataclass(frozen=True)
class Protocol:
    name: str
    drugs: tuple[Drug, ...]


@dataclass(frozen=True)
class Prices:
    """Cents per visit type; ``states`` overrides some of them for patients located in a state."""

    message: int
    video: int
    states: Mapping[str, Mapping[str, int]] = field(default_factory=lambda: MappingProxyType({}))

    def for_visit(self, visit_type: str, state: str | None = None) -> int:
        override = self.states.get(state or "", {})
        return override.get(visit_type, getattr(self, visit_type))


@dataclass(frozen=True)
class Condition:
    code: str
    name: str
    description: str
    eligibility: Eligibility
    questionnaire: tuple[Item, ...]
    red_flags: tuple[RedFlag, ...]
    icd10: tuple[str, ...]
    protocols: tuple[Protocol, ...]
    prices: Prices
    #: The response-time promise of a message visit: the first clinician reply within this many
    #: minutes of service hours (see careplane.units.virtual_care.promise).
    reply_within_minutes: int = DEFAULT_REPLY_MINUTES

    def item(self, link_id: str) -> Item | None:
        return next((i for i in self.questionnaire if i.link_id == link_id), None)


@dataclass(frozen=True)
class Catalog:
    sources: tuple[str, ...]
    currency: str
    conditions: tuple[Condition, ...]

    def get(self, code: str) -> Condition | None:
        return next((c for c in self.conditions if c.code == code), None)


# ---------------------------------------------------------------- loading


DATA = files("careplane.units.virtual_care") / "data" / "conditions.json"


@functools.cache
def shipped() -> Catalog:
    """The shipped catalog, read and checked once per process (raises :class:`CatalogError`)."""
    return loads(DATA.read_text(encoding="utf-8"), source="data/conditions.json")


def loads(text: str, source: str = "the condition catalog") -> Catalog:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise CatalogError([f"line {e.lineno} column {e.colno}: not JSON ({e.msg})"], source) from e
    return parse(raw, source)


def parse(raw: Any, source: str = "the condition catalog") -> Catalog:
    """The catalog from its decoded JSON, every problem found before any is raised."""
    return _Reader(source).catalog(raw)


_HEADER = {"format": True, "sources": True, "currency": True, "conditions": True}
_CONDITION = {
    "code": True,
    "name": True,
    "description": True,
    "eligibility": True,
    "questionnaire": True,
    "red_flags": True,
    "icd10": True,
    "protocols": True,
    "prices": True,
    "reply_within_minutes": False,
}
_ELIGIBILITY = {"min_age": True, "max_age": True, "sexes": True, "pregnancy_allowed": True}
_ITEM = {
    "linkId": True,
    "text": True,
    "type": True,
    "required": True,
    "answerOption": False,
    "enableWhen": False,
    "enableBehavior": False,
}
_RED_FLAG = {"linkId": True, "operator": False, "answer": True, "level": True, "advice": True}
_PROTOCOL = {"name": True, "drugs": True}
_DRUG = {"name": True, "strength": True, "sig": True, "quantity": True, "refills": True}
_PRICES = {"message": True, "video": True, "states": False}
_ICD10_SHAPE = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
_SLUG = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


class _Reader(Checker):
    """The catalog's own parts, on the shared checks of a data file."""

    def text(self, obj: dict[str, Any], name: str, where: str) -> str:
        value = obj.get(name)
        if name in obj and (not isinstance(value, str) or not value.strip()):
            self.bad(f"{where}.{name}", f"must be non-empty text, not {_kind(value)}")
        return value if isinstance(value, str) else ""

    def listed(self, obj: dict[str, Any], name: str, where: str, *, empty_ok: bool = False) -> list[Any]:
        value = obj.get(name, [] if name not in obj else None)
        if not isinstance(value, list):
            self.bad(f"{where}.{name}", f"must be a list, not {_kind(value)}")
            return []
        if not value and not empty_ok and name in obj:
            self.bad(f"{where}.{name}", "must not be empty")
        return value

    # -------------------------------------------------------------- the parts

    def catalog(self, raw: Any) -> Catalog:
        head = self.fields(raw, "catalog", _HEADER) or {}
        if "format" in head and head["format"] != FORMAT:
            self.bad("catalog.format", f"must be '{FORMAT}', not {head['format']!r}")
        sources = self.listed(head, "sources", "catalog")
        for n, s in enumerate(sources):
            if not isinstance(s, str) or not s.strip():
                self.bad(f"catalog.sources[{n}]", "must be non-empty text")
        if "currency" in head and head["currency"] != "USD":
            self.bad("catalog.currency", f"must be 'USD', not {head['currency']!r}")
        conditions: list[Condition] = []
        seen: dict[str, int] = {}
        for n, entry in enumerate(self.listed(head, "conditions", "catalog")):
            code = entry.get("code") if isinstance(entry, dict) else None
            where = f"conditions[{n}]" + (f" ({code})" if isinstance(code, str) and code else "")
            if isinstance(code, str) and code:
                if code in seen:
                    self.bad(f"{where}.code", f"'{code}' is already the code of conditions[{seen[code]}]")
                seen.setdefault(code, n)
            condition = self.condition(entry, where)
            if condition is not None:
                conditions.append(condition)
        if self.problems:
            raise CatalogError(self.problems, self.source)
        return Catalog(sources=tuple(sources), currency=head["currency"], conditions=tuple(conditions))

    def condition(self, raw: Any, where: str) -> Condition | None:
        obj = self.fields(raw, where, _CONDITION)
        if obj is None:
            return None
        code = self.text(obj, "code", where)
        if code and (not set(code) <= _SLUG or not code[0].isalpha()):
            self.bad(
                f"{where}.code", f"'{code}' must be a slug: lower-case letters, digits and '_', starting with a letter"
            )
        name, description = self.text(obj, "name", where), self.text(obj, "description", where)
        eligibility = self.eligibility(obj.get("eligibility"), f"{where}.eligibility") if "eligibility" in obj else None
        items: list[Item] = []
        for n, raw_item in enumerate(self.listed(obj, "questionnaire", where)):
            item = self.item(raw_item, f"{where}.questionnaire[{n}]", items)
            if item is not None:
                items.append(item)
        by_id = {i.link_id: i for i in items}
        flags = [
            f
            for n, raw_flag in enumerate(self.listed(obj, "red_flags", where, empty_ok=True))
            if (f := self.red_flag(raw_flag, f"{where}.red_flags[{n}]", by_id)) is not None
        ]
        icd10 = [c for n, c in enumerate(self.listed(obj, "icd10", where)) if self.icd10(c, f"{where}.icd10[{n}]")]
        protocols = [
            p
            for n, raw_p in enumerate(self.listed(obj, "protocols", where))
            if (p := self.protocol(raw_p, f"{where}.protocols[{n}]")) is not None
        ]
        prices = self.prices(obj.get("prices"), f"{where}.prices") if "prices" in obj else None
        reply = obj.get("reply_within_minutes", DEFAULT_REPLY_MINUTES)
        if not _is_int(reply) or not 5 <= reply <= 24 * 60:
            self.bad(f"{where}.reply_within_minutes", f"must be whole minutes from 5 to 1440, not {reply!r}")
            reply = DEFAULT_REPLY_MINUTES
        if eligibility is None or prices is None:
            return None
        return Condition(
            code=code,
            name=name,
            description=description,
            eligibility=eligibility,
            questionnaire=tuple(items),
            red_flags=tuple(flags),
            icd10=tuple(icd10),
            protocols=tuple(protocols),
            prices=prices,
            reply_within_minutes=reply,
        )

    def eligibility(self, raw: Any, where: str) -> Eligibility | None:
        obj = self.fields(raw, where, _ELIGIBILITY)
        if obj is None:
            return None
        low: Any = obj.get("min_age")
        high: Any = obj.get("max_age")
        if "min_age" in obj and not (_is_int(low) and 0 <= low <= 125):
            self.bad(f"{where}.min_age", f"must be a whole number of years from 0 to 125, not {low!r}")
            low = 0
        if high is not None and not (_is_int(high) and 0 <= high <= 125):
            self.bad(f"{where}.max_age", f"must be a whole number of years from 0 to 125 or null, not {high!r}")
            high = None
        if _is_int(low) and _is_int(high) and high < low:
            self.bad(f"{where}.max_age", f"{high} is below min_age {low}")
        sexes = obj.get("sexes")
        if "sexes" in obj and not (
            isinstance(sexes, list) and sexes and all(s in SEXES for s in sexes) and len(set(sexes)) == len(sexes)
        ):
            self.bad(f"{where}.sexes", f"must list one or both of {', '.join(SEXES)}, not {sexes!r}")
            sexes = list(SEXES)
        pregnancy = obj.get("pregnancy_allowed")
        if "pregnancy_allowed" in obj and not isinstance(pregnancy, bool):
            self.bad(f"{where}.pregnancy_allowed", f"must be true or false, not {_kind(pregnancy)}")
        if pregnancy is True and isinstance(sexes, list) and "female" not in sexes:
            self.bad(f"{where}.pregnancy_allowed", "must be false when female patients are not eligible")
        if any(name not in obj for name in ("min_age", "sexes", "pregnancy_allowed")):
            return None
        return Eligibility(
            min_age=low if _is_int(low) else 0,
            max_age=high,
            sexes=tuple(sexes or SEXES),
            pregnancy_allowed=pregnancy is True,
        )

    def item(self, raw: Any, where: str, earlier: list[Item]) -> Item | None:
        obj = self.fields(raw, where, _ITEM)
        if obj is None:
            return None
        link_id, text = self.text(obj, "linkId", where), self.text(obj, "text", where)
        if link_id and any(i.link_id == link_id for i in earlier):
            self.bad(f"{where}.linkId", f"'{link_id}' is already used by an earlier item")
        kind = obj.get("type")
        if "type" in obj and kind not in ITEM_TYPES:
            self.bad(f"{where}.type", f"must be one of {', '.join(sorted(ITEM_TYPES))}, not {kind!r}")
        required = obj.get("required")
        if "required" in obj and not isinstance(required, bool):
            self.bad(f"{where}.required", f"must be true or false, not {_kind(required)}")
        options: list[Option] = []
        if kind == "choice":
            for n, raw_option in enumerate(self.listed(obj, "answerOption", where) if "answerOption" in obj else []):
                option = self.option(raw_option, f"{where}.answerOption[{n}]")
                if option is not None:
                    if any(o.code == option.code for o in options):
                        self.bad(f"{where}.answerOption[{n}]", f"code '{option.code}' is listed twice")
                    options.append(option)
            if "answerOption" not in obj:
                self.bad(where, "a choice item needs 'answerOption'")
        elif "answerOption" in obj:
            self.bad(f"{where}.answerOption", f"only a choice item has options, and this one is {kind!r}")
        by_id = {i.link_id: i for i in earlier}
        conditions = []
        if "enableWhen" in obj:
            for n, raw_when in enumerate(self.listed(obj, "enableWhen", where)):
                when = self.enable_when(raw_when, f"{where}.enableWhen[{n}]", by_id, link_id)
                if when is not None:
                    conditions.append(when)
        behavior = obj.get("enableBehavior", "all")
        if behavior not in ("all", "any"):
            self.bad(f"{where}.enableBehavior", f"must be 'all' or 'any', not {behavior!r}")
        if not (link_id and text and kind in ITEM_TYPES and isinstance(required, bool)):
            return None
        return Item(
            link_id=link_id,
            text=text,
            type=kind,
            required=required,
            options=tuple(options),
            enable_when=tuple(conditions),
            enable_behavior=behavior if behavior in ("all", "any") else "all",
        )

    def option(self, raw: Any, where: str) -> Option | None:
        obj = self.fields(raw, where, {"valueCoding": True})
        coding = (
            self.fields(obj.get("valueCoding"), f"{where}.valueCoding", {"code": True, "display": True})
            if obj and "valueCoding" in obj
            else None
        )
        if coding is None:
            return None
        code, display = (
            self.text(coding, "code", f"{where}.valueCoding"),
            self.text(coding, "display", f"{where}.valueCoding"),
        )
        return Option(code, display) if code and display else None

    def enable_when(self, raw: Any, where: str, earlier: dict[str, Item], own_id: str) -> EnableWhen | None:
        answer_keys = set(ANSWER_KEY.values())
        obj = self.fields(raw, where, {"question": True, "operator": True, **dict.fromkeys(sorted(answer_keys), False)})
        if obj is None:
            return None
        question = self.text(obj, "question", where)
        target = earlier.get(question)
        if question and target is None:
            later = "itself" if question == own_id else "a later or unknown item"
            self.bad(f"{where}.question", f"'{question}' is {later}: enableWhen may only refer to an earlier item")
        operator = obj.get("operator")
        if "operator" in obj and operator not in OPERATORS:
            self.bad(f"{where}.operator", f"must be one of {' '.join(sorted(OPERATORS))}, not {operator!r}")
        given = [k for k in obj if k in answer_keys]
        if len(given) != 1:
            self.bad(where, f"needs exactly one answer[x] field, not {len(given)}")
            return None
        if target is None or operator not in OPERATORS:
            return None
        expected = ANSWER_KEY[target.type]
        if given[0] != expected:
            self.bad(f"{where}.{given[0]}", f"'{question}' is a {target.type} item: compare with {expected}")
            return None
        raw_answer = obj[expected]
        if target.type == "choice":
            coding = self.fields(raw_answer, f"{where}.{expected}", {"code": True, "display": False})
            raw_answer = coding.get("code") if coding else None
        answer = self.answer(target, operator, raw_answer, f"{where}.{expected}")
        return None if answer is None else EnableWhen(question, operator, answer)

    def answer(self, target: Item, operator: str, value: Any, where: str) -> Answer | None:
        """``value`` checked as an answer to ``target`` (a choice: one of its option codes)."""
        if operator not in ("=", "!=") and target.type not in ORDERED_TYPES:
            self.bad(where, f"'{operator}' compares numbers or dates, and '{target.link_id}' is a {target.type} item")
            return None
        ok = {
            "boolean": isinstance(value, bool),
            "choice": isinstance(value, str) and any(o.code == value for o in target.options),
            "string": isinstance(value, str),
            "integer": _is_int(value),
            "decimal": _is_number(value),
            "date": isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-",
        }[target.type]
        if not ok:
            allowed = (
                f"one of its options ({', '.join(o.code for o in target.options)})"
                if target.type == "choice"
                else f"a {target.type} answer"
            )
            self.bad(where, f"{value!r} is not {allowed} for '{target.link_id}'")
            return None
        return value

    def red_flag(self, raw: Any, where: str, items: dict[str, Item]) -> RedFlag | None:
        obj = self.fields(raw, where, _RED_FLAG)
        if obj is None:
            return None
        link_id, advice = self.text(obj, "linkId", where), self.text(obj, "advice", where)
        target = items.get(link_id)
        if link_id and target is None:
            self.bad(f"{where}.linkId", f"'{link_id}' is not an item of this questionnaire")
        operator = obj.get("operator", "=")
        if operator not in OPERATORS:
            self.bad(f"{where}.operator", f"must be one of {' '.join(sorted(OPERATORS))}, not {operator!r}")
        level = obj.get("level")
        if "level" in obj and level not in LEVELS:
            self.bad(f"{where}.level", f"must be one of {', '.join(LEVELS)}, not {level!r}")
        if target is None or operator not in OPERATORS or "answer" not in obj:
            return None
        answer = self.answer(target, operator, obj["answer"], f"{where}.answer")
        if answer is None or level not in LEVELS or not advice:
            return None
        return RedFlag(link_id=link_id, operator=operator, answer=answer, level=level, advice=advice)

    def icd10(self, code: Any, where: str) -> bool:
        if not isinstance(code, str):
            self.bad(where, f"must be an ICD-10-CM code as text, not {_kind(code)}")
            return False
        if not is_billable_icd10(code):
            self.bad(where, f"{code!r} is not a billable ICD-10-CM code")
            return False
        return True

    def protocol(self, raw: Any, where: str) -> Protocol | None:
        obj = self.fields(raw, where, _PROTOCOL)
        if obj is None:
            return None
        name = self.text(obj, "name", where)
        drugs = [
            d
            for n, raw_drug in enumerate(self.listed(obj, "drugs", where))
            if (d := self.drug(raw_drug, f"{where}.drugs[{n}]")) is not None
        ]
        return Protocol(name, tuple(drugs)) if name and drugs else None

    def drug(self, raw: Any, where: str) -> Drug | None:
        obj = self.fields(raw, where, _DRUG)
        if obj is None:
            return None
        name, strength, sig = (self.text(obj, f, where) for f in ("name", "strength", "sig"))
        quantity: Any = obj.get("quantity")
        refills: Any = obj.get("refills")
        if "quantity" in obj and not (_is_number(quantity) and quantity > 0):
            self.bad(f"{where}.quantity", f"must be a positive number, not {quantity!r}")
            return None
        if "refills" in obj and not (_is_int(refills) and 0 <= refills <= 11):
            self.bad(f"{where}.refills", f"must be a whole number from 0 to 11, not {refills!r}")
            return None
        if not (name and strength and sig and "quantity" in obj and "refills" in obj):
            return None
        return Drug(name=name, strength=strength, sig=sig, quantity=quantity, refills=refills)

    def cents(self, value: Any, where: str) -> int | None:
        if not (_is_int(value) and value > 0):
            self.bad(where, f"must be a positive whole number of cents, not {value!r}")
            return None
        return int(value)

    def prices(self, raw: Any, where: str) -> Prices | None:
        obj = self.fields(raw, where, _PRICES)
        if obj is None:
            return None
        base = {v: self.cents(obj[v], f"{where}.{v}") for v in VISIT_TYPES if v in obj}
        states: dict[str, Mapping[str, int]] = {}
        raw_states = obj.get("states", {})
        if not isinstance(raw_states, dict):
            self.bad(f"{where}.states", f"must be an object of state codes, not {_kind(raw_states)}")
            raw_states = {}
        for state, raw_override in raw_states.items():
            here = f"{where}.states.{state}"
            if state not in US_STATES:
                self.bad(f"{where}.states", f"'{state}' is not a US state, DC or territory code")
            override = self.fields(raw_override, here, dict.fromkeys(VISIT_TYPES, False))
            if override is None:
                continue
            if not override:
                self.bad(here, f"must give at least one of {', '.join(VISIT_TYPES)}")
            checked = {v: self.cents(override[v], f"{here}.{v}") for v in VISIT_TYPES if v in override}
            states[state] = MappingProxyType({v: c for v, c in checked.items() if c is not None})
        message, video = base.get("message"), base.get("video")
        if message is None or video is None:
            return None
        return Prices(message=message, video=video, states=MappingProxyType(states))


def is_billable_icd10(code: str) -> bool:
    """Whether ``code`` (with its dot) is an ICD-10-CM code a claim may carry: a leaf of the tabular
    list (a category with no subcategories, or a full subcategory), per ``simple-icd-10-cm``."""
    with warnings.catch_warnings():  # it reads its data with importlib.resources' deprecated read_text
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as icd  # loads the whole tabular list (seconds): only when a catalog is checked

    if not _ICD10_SHAPE.fullmatch(code):
        return False
    return bool(icd.is_valid_item(code) and icd.is_category_or_subcategory(code) and icd.is_leaf(code))


# ---------------------------------------------------------------- FHIR rendering


def fhir_questionnaire(condition: Condition) -> dict[str, Any]:
    """The condition's intake as an HL7 FHIR R4 Questionnaire resource (JSON)."""
    items = []
    for item in condition.questionnaire:
        out: dict[str, Any] = {"linkId": item.link_id, "text": item.text, "type": item.type, "required": item.required}
        if item.options:
            out["answerOption"] = [{"valueCoding": {"code": o.code, "display": o.display}} for o in item.options]
        if item.enable_when:
            out["enableWhen"] = [_fhir_enable_when(condition, w) for w in item.enable_when]
            if len(item.enable_when) > 1:
                out["enableBehavior"] = item.enable_behavior
        items.append(out)
    return {
        "resourceType": "Questionnaire",
        "id": condition.code.replace("_", "-"),
        "name": "".join(part.capitalize() for part in condition.code.split("_")) + "Intake",
        "title": f"{condition.name}: intake",
        "status": "active",
        "subjectType": ["Patient"],
        "description": condition.description,
        "item": items,
    }


def _fhir_enable_when(condition: Condition, when: EnableWhen) -> dict[str, Any]:
    target = condition.item(when.question)
    kind = target.type if target else "string"
    answer: Any = {"code": when.answer} if kind == "choice" else when.answer
    return {"question": when.question, "operator": when.operator, ANSWER_KEY[kind]: answer}
