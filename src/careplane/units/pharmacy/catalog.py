"""The drug catalog: the products the Pharmacy unit dispenses, and the allergy classes they belong to.

It ships as ``data/drugs.json`` and ``data/allergy_classes.json`` (their headers name the sources;
``data/build_drugs.py`` regenerates the first from ``data/formulary.txt`` and the FDA NDC Directory).
:func:`parse` turns both into frozen dataclasses and checks the whole of them, raising one
:class:`CatalogError` that names every bad entry and field (``products[12] (amoxicillin-500mg-cap).ndc:
'0009331090' is not an 11-digit NDC``), so a bad edit is found in one pass. :func:`shipped` loads
the shipped files once per process; the API module calls it when it is imported, so the app does
not start with a broken catalog.

Finding products lives in :mod:`careplane.units.pharmacy.drug_search` and the allergy rules in
:mod:`careplane.units.pharmacy.allergies`; here is only what the catalog says and whether it is
well formed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from types import MappingProxyType
from typing import Any

from careplane.kernel.data_files import Checker, DataFileError
from careplane.kernel.data_files import kind_of as _kind
from careplane.kernel.money import Money

DRUGS_FORMAT = "careplane.pharmacy.drugs/1"
CLASSES_FORMAT = "careplane.pharmacy.allergy_classes/1"
DEA_SCHEDULES: tuple[str, ...] = ("", "CII", "CIII", "CIV", "CV")
RISKS: tuple[str, ...] = ("low", "moderate", "high")
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_CLASS_CODE = re.compile(r"[a-z][a-z0-9_]*")
_NDC11 = re.compile(r"[0-9]{11}")
_RXCUI = re.compile(r"[1-9][0-9]{0,8}")


class CatalogError(DataFileError):
    """The catalog is not well formed: ``problems`` lists each bad entry and field."""

    def __init__(self, problems: list[str], source: str = "the drug catalog") -> None:
        super().__init__(problems, source)


@dataclass(frozen=True)
class Product:
    """One dispensable product: an ingredient (or combination) in one strength, form and route.

    ``brand`` is the product's own brand, or for a generic (``generic``) the reference brand it
    is equivalent to. Costs are integer US cents per ``unit``. ``rxcui`` and ``ndc`` (11 digits)
    are empty where no named source gave them."""

    id: str
    name: str
    ingredients: tuple[str, ...]
    brand: str
    strength: str
    dose_form: str
    route: str
    dea_schedule: str
    therapeutic_class: str
    generic: bool
    allergy_classes: tuple[str, ...]
    unit: str
    acquisition_cents: int
    cash_price_cents: int
    rxcui: str
    ndc: str

    @property
    def controlled(self) -> bool:
        return bool(self.dea_schedule)

    @property
    def cash_price(self) -> Money:
        return Money(self.cash_price_cents)

    @property
    def acquisition_cost(self) -> Money:
        return Money(self.acquisition_cents)


@dataclass(frozen=True)
class CrossSensitivity:
    """People allergic to one class may react to ``target`` too, with this ``risk``."""

    target: str
    risk: str
    note: str


@dataclass(frozen=True)
class AllergyClass:
    """Drugs a person allergic to one of them should be warned about: ``member_noun`` reads "a penicillin"."""

    code: str
    name: str
    member_noun: str
    aliases: tuple[str, ...]
    ingredients: tuple[str, ...]
    cross_sensitivity: tuple[CrossSensitivity, ...]


@dataclass(frozen=True, eq=False)
class Catalog:
    """Both files, checked. Compared and hashed by identity: the search index is kept per catalog."""

    sources: tuple[str, ...]
    products: tuple[Product, ...]
    allergy_classes: Mapping[str, AllergyClass]
    allergy_sources: tuple[str, ...] = ()

    @functools.cached_property
    def by_id(self) -> Mapping[str, Product]:
        return MappingProxyType({p.id: p for p in self.products})

    def get(self, product_id: str) -> Product | None:
        return self.by_id.get(product_id)

    def allergy_classes_of(self, product: Product) -> tuple[AllergyClass, ...]:
        return tuple(self.allergy_classes[c] for c in product.allergy_classes)

    # The rules live in their own modules, which read this class: imported when called.

    def search(self, query: str, limit: int = 20) -> list[Product]:
        """Products fitting ``query`` (ingredient, brand, strength, RxCUI, NDC; typos forgiven), best first."""
        from careplane.units.pharmacy.drug_search import search

        return search(self, query, limit)

    def match(self, name: str, strength: str) -> Product | None:
        """The one product a prescription's drug name and strength mean, or None."""
        from careplane.units.pharmacy.drug_search import match

        return match(self, name, strength)

    def cross_sensitive(self, product: Product, allergy: str | AllergyClass) -> list[CrossSensitivity]:
        """How an allergy (text, or a class) may extend to the product's classes."""
        from careplane.units.pharmacy.allergies import cross_sensitive

        return cross_sensitive(self, product, allergy)


# ---------------------------------------------------------------- loading

DATA = files("careplane.units.pharmacy") / "data"


@functools.cache
def shipped() -> Catalog:
    """The shipped catalog, read and checked once per process (raises :class:`CatalogError`)."""
    return loads(
        (DATA / "drugs.json").read_text(encoding="utf-8"),
        (DATA / "allergy_classes.json").read_text(encoding="utf-8"),
        source="data/drugs.json and data/allergy_classes.json",
    )


def loads(drugs: str, allergy_classes: str, source: str = "the drug catalog") -> Catalog:
    decoded: list[Any] = []
    for name, text in (("drugs", drugs), ("allergy_classes", allergy_classes)):
        try:
            decoded.append(json.loads(text))
        except json.JSONDecodeError as e:
            raise CatalogError([f"{name}: line {e.lineno} column {e.colno}: not JSON ({e.msg})"], source) from e
    return parse(decoded[0], decoded[1], source)


def parse(drugs: Any, allergy_classes: Any, source: str = "the drug catalog") -> Catalog:
    """The catalog from the decoded JSON of both files, every problem found before any is raised."""
    return _Reader(source).catalog(drugs, allergy_classes)


_DRUGS = {"format": True, "sources": True, "currency": True, "products": True}
_CLASSES = {"format": True, "sources": True, "classes": True}
_CLASS = {
    "code": True,
    "name": True,
    "member_noun": True,
    "aliases": True,
    "ingredients": True,
    "cross_sensitivity": True,
}
_CROSS = {"class": True, "risk": True, "note": True}
_PRODUCT = {
    "id": True,
    "name": True,
    "ingredients": True,
    "brand": True,
    "strength": True,
    "dose_form": True,
    "route": True,
    "dea_schedule": True,
    "therapeutic_class": True,
    "generic": True,
    "allergy_classes": True,
    "unit": True,
    "acquisition_cents": True,
    "cash_price_cents": True,
    "rxcui": True,
    "ndc": True,
}


class _Reader(Checker):
    """The catalog's own parts, on the shared checks of a data file."""

    def text(self, obj: dict[str, Any], name: str, where: str, *, empty_ok: bool = False) -> str:
        value = obj.get(name)
        if name in obj and (not isinstance(value, str) or (not empty_ok and not value.strip())):
            self.bad(f"{where}.{name}", f"must be {'' if empty_ok else 'non-empty '}text, not {_kind(value)}")
        return value.strip() if isinstance(value, str) else ""

    def texts(self, obj: dict[str, Any], name: str, where: str, *, empty_ok: bool = False) -> tuple[str, ...]:
        value = obj.get(name, [])
        if not isinstance(value, list):
            self.bad(f"{where}.{name}", f"must be a list, not {_kind(value)}")
            return ()
        if not value and not empty_ok and name in obj:
            self.bad(f"{where}.{name}", "must not be empty")
        out: list[str] = []
        for n, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.bad(f"{where}.{name}[{n}]", f"must be non-empty text, not {_kind(item)}")
            elif item in out:
                self.bad(f"{where}.{name}[{n}]", f"'{item}' is listed twice")
            else:
                out.append(item.strip())
        return tuple(out)

    def header(self, raw: Any, where: str, spec: Mapping[str, bool], expected: str) -> dict[str, Any]:
        head = self.fields(raw, where, spec) or {}
        if "format" in head and head["format"] != expected:
            self.bad(f"{where}.format", f"must be '{expected}', not {head['format']!r}")
        self.texts(head, "sources", where)
        return head

    # -------------------------------------------------------------- the parts

    def catalog(self, drugs: Any, allergy_classes: Any) -> Catalog:
        classes_head = self.header(allergy_classes, "allergy_classes", _CLASSES, CLASSES_FORMAT)
        classes = self.classes(classes_head.get("classes", []))
        head = self.header(drugs, "drugs", _DRUGS, DRUGS_FORMAT)
        if "currency" in head and head["currency"] != "USD":
            self.bad("drugs.currency", f"must be 'USD', not {head['currency']!r}")
        raw_products = head.get("products", [])
        if not isinstance(raw_products, list) or not raw_products:
            self.bad("drugs.products", f"must be a non-empty list, not {_kind(raw_products)}")
            raw_products = []
        members: dict[str, set[str]] = {code: set(c.ingredients) for code, c in classes.items()}
        products: list[Product] = []
        seen: dict[str, int] = {}
        for n, entry in enumerate(raw_products):
            pid = entry.get("id") if isinstance(entry, dict) else None
            where = f"products[{n}]" + (f" ({pid})" if isinstance(pid, str) and pid else "")
            if isinstance(pid, str) and pid:
                if pid in seen:
                    self.bad(f"{where}.id", f"'{pid}' is already the id of products[{seen[pid]}]")
                seen.setdefault(pid, n)
            product = self.product(entry, where, members)
            if product is not None:
                products.append(product)
        if self.problems:
            raise CatalogError(self.problems, self.source)
        return Catalog(
            sources=tuple(head["sources"]),
            products=tuple(products),
            allergy_classes=MappingProxyType(classes),
            allergy_sources=tuple(classes_head["sources"]),
        )

    def classes(self, raw: Any) -> dict[str, AllergyClass]:
        if not isinstance(raw, list) or not raw:
            self.bad("allergy_classes.classes", f"must be a non-empty list, not {_kind(raw)}")
            return {}
        found: dict[str, AllergyClass] = {}
        targets: list[tuple[str, str]] = []
        for n, entry in enumerate(raw):
            code = entry.get("code") if isinstance(entry, dict) else None
            where = f"classes[{n}]" + (f" ({code})" if isinstance(code, str) and code else "")
            obj = self.fields(entry, where, _CLASS)
            if obj is None:
                continue
            code = self.text(obj, "code", where)
            if code and not _CLASS_CODE.fullmatch(code):
                self.bad(f"{where}.code", f"'{code}' must be lower-case letters, digits and '_'")
            if code in found:
                self.bad(f"{where}.code", f"'{code}' is already the code of an earlier class")
            cross: list[CrossSensitivity] = []
            raw_cross = obj.get("cross_sensitivity", [])
            for m, item in enumerate(raw_cross if isinstance(raw_cross, list) else []):
                here = f"{where}.cross_sensitivity[{m}]"
                link = self.fields(item, here, _CROSS)
                if link is None:
                    continue
                target, risk, note = (self.text(link, f, here) for f in ("class", "risk", "note"))
                if "risk" in link and risk not in RISKS:
                    self.bad(f"{here}.risk", f"must be one of {', '.join(RISKS)}, not {link['risk']!r}")
                targets.append((f"{here}.class", target))
                cross.append(CrossSensitivity(target=target, risk=risk, note=note))
            if not isinstance(raw_cross, list):
                self.bad(f"{where}.cross_sensitivity", f"must be a list, not {_kind(raw_cross)}")
            found[code] = AllergyClass(
                code=code,
                name=self.text(obj, "name", where),
                member_noun=self.text(obj, "member_noun", where),
                aliases=tuple(a.lower() for a in self.texts(obj, "aliases", where)),
                ingredients=tuple(i.lower() for i in self.texts(obj, "ingredients", where)),
                cross_sensitivity=tuple(cross),
            )
        for where, target in targets:
            if target and target not in found:
                self.bad(where, f"'{target}' is not the code of an allergy class")
        return found

    def product(self, raw: Any, where: str, members: Mapping[str, set[str]]) -> Product | None:
        obj = self.fields(raw, where, _PRODUCT)
        if obj is None:
            return None
        pid = self.text(obj, "id", where)
        if pid and not _SLUG.fullmatch(pid):
            self.bad(f"{where}.id", f"'{pid}' must be a slug: lower-case letters and digits joined by '-'")
        name, strength, form, route, cls, unit = (
            self.text(obj, f, where) for f in ("name", "strength", "dose_form", "route", "therapeutic_class", "unit")
        )
        brand, rxcui, ndc, dea = (
            self.text(obj, f, where, empty_ok=True) for f in ("brand", "rxcui", "ndc", "dea_schedule")
        )
        ingredients = tuple(i.lower() for i in self.texts(obj, "ingredients", where))
        classes = self.texts(obj, "allergy_classes", where, empty_ok=True)
        if "dea_schedule" in obj and dea not in DEA_SCHEDULES:
            self.bad(f"{where}.dea_schedule", f"must be '' or one of {', '.join(DEA_SCHEDULES[1:])}, not {dea!r}")
        if rxcui and not _RXCUI.fullmatch(rxcui):
            self.bad(f"{where}.rxcui", f"{rxcui!r} is not an RxNorm RxCUI (digits), nor empty")
        if ndc and not _NDC11.fullmatch(ndc):
            self.bad(f"{where}.ndc", f"{ndc!r} is not an 11-digit NDC (5-4-2, digits only), nor empty")
        generic = obj.get("generic")
        if "generic" in obj and not isinstance(generic, bool):
            self.bad(f"{where}.generic", f"must be true or false, not {_kind(generic)}")
        for n, code in enumerate(classes):
            if code not in members:
                self.bad(f"{where}.allergy_classes[{n}]", f"'{code}' is not an allergy class")
            elif not members[code] & set(ingredients):
                self.bad(f"{where}.allergy_classes[{n}]", f"none of its ingredients is a member of '{code}'")
        for code, ingredients_of_class in sorted(members.items()):
            if ingredients_of_class & set(ingredients) and code not in classes:
                self.bad(f"{where}.allergy_classes", f"must include '{code}': an ingredient is a member of it")
        costs = [self.cents(obj, f, where) for f in ("acquisition_cents", "cash_price_cents")]
        if costs[0] is not None and costs[1] is not None and costs[1] < costs[0]:
            self.bad(f"{where}.cash_price_cents", f"{costs[1]} is below the acquisition cost {costs[0]}")
        if any(f not in obj for f in _PRODUCT) or None in costs or not isinstance(generic, bool):
            return None
        return Product(
            id=pid,
            name=name,
            ingredients=ingredients,
            brand=brand,
            strength=strength,
            dose_form=form,
            route=route,
            dea_schedule=dea,
            therapeutic_class=cls,
            generic=generic,
            allergy_classes=classes,
            unit=unit,
            acquisition_cents=costs[0] or 0,
            cash_price_cents=costs[1] or 0,
            rxcui=rxcui,
            ndc=ndc,
        )

    def cents(self, obj: dict[str, Any], name: str, where: str) -> int | None:
        value = obj.get(name)
        if name not in obj:
            return None
        if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            self.bad(f"{where}.{name}", f"must be a positive whole number of cents, not {value!r}")
            return None
        return value
