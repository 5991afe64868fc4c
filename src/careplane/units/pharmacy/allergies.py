"""Allergies against the drug catalog: which allergy classes a recorded allergy names, and what it means for a product.

A recorded allergy is free text ("Penicillin", "sulfa drugs", "PCN (hives)", "amoxicillin allergy").
It is read case-insensitively: it names an allergy class when it holds one of the class's names
or aliases as whole words (``penicillin``, ``penicillins``, ``pcn``), and an ingredient when it holds
the ingredient's name. A product then conflicts with it when:

* the product contains the ingredient named ("Amoxicillin allergy: this product contains amoxicillin");
* the product belongs to a class named, or to the class of the ingredient named ("Penicillin
  allergy: amoxicillin is a penicillin");
* the product belongs to a class the named class is cross-sensitive with ("Penicillin allergy:
  cephalexin is a cephalosporin (low cross-sensitivity)"); :func:`cross_sensitive` gives the note.

The rules only read the catalog; they are the same for the API, the pages and other units (through
:func:`careplane.units.pharmacy.allergy_conflicts`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from careplane.units.pharmacy.catalog import AllergyClass, Catalog, CrossSensitivity, Product

#: Words around an allergy that say nothing about what it is to.
_NOISE = re.compile(r"\b(allerg(y|ies|ic)( to)?|intolerance|sensitivity|reaction)\b")


def _normal(text: str) -> str:
    return " " + " ".join(re.sub(r"[^a-z0-9/]+", " ", _NOISE.sub(" ", text.lower())).split()) + " "


def _holds(text: str, phrase: str) -> bool:
    """Whether the normalised ``text`` holds ``phrase`` as whole words."""
    return _normal(phrase) in text


@dataclass(frozen=True)
class Named:
    """What one allergy text names: classes outright, and ingredients (each with its own classes)."""

    text: str
    classes: tuple[AllergyClass, ...]
    ingredients: tuple[str, ...]


def named_by(catalog: Catalog, allergy: str) -> Named:
    text = _normal(allergy)
    classes = tuple(
        c
        for c in catalog.allergy_classes.values()
        if any(_holds(text, a) for a in (c.name.lower(), c.code, *c.aliases))
    )
    known = {i for c in catalog.allergy_classes.values() for i in c.ingredients}
    known |= {i for p in catalog.products for i in p.ingredients}
    ingredients = tuple(sorted(i for i in known if _holds(text, i)))
    return Named(text=allergy.strip(), classes=classes, ingredients=ingredients)


def classes_of_ingredient(catalog: Catalog, ingredient: str) -> tuple[AllergyClass, ...]:
    return tuple(c for c in catalog.allergy_classes.values() if ingredient in c.ingredients)


def cross_sensitive(catalog: Catalog, product: Product, allergy: str | AllergyClass) -> list[CrossSensitivity]:
    """The cross-sensitivities between what ``allergy`` names (a class, or allergy text) and the product's
    classes; the product's own classes are not cross-sensitivity but a direct conflict."""
    named = (allergy,) if isinstance(allergy, AllergyClass) else _classes_meant(catalog, named_by(catalog, allergy))
    own = set(product.allergy_classes)
    return [link for c in named if c.code not in own for link in c.cross_sensitivity if link.target in own]


def _classes_meant(catalog: Catalog, named: Named) -> tuple[AllergyClass, ...]:
    """The classes named outright, then those of the ingredients named, each once."""
    found = {c.code: c for c in named.classes}
    for ingredient in named.ingredients:
        for c in classes_of_ingredient(catalog, ingredient):
            found.setdefault(c.code, c)
    return tuple(found.values())


def _subject(named: Named, fallback: str) -> str:
    """How a message names the allergy: "Penicillin allergy", "Amoxicillin allergy"."""
    label = named.classes[0].name if named.classes else (named.ingredients[0] if named.ingredients else fallback)
    return f"{label[0].upper()}{label[1:]} allergy"


def conflicts(catalog: Catalog, product: Product, allergies: list[str]) -> list[str]:
    """One message for each way each allergy in ``allergies`` touches ``product``; none when it is safe
    as far as the catalog knows. Unrecognised allergy text gives no message."""
    messages: list[str] = []
    drug = " / ".join(product.ingredients)
    for allergy in allergies:
        named = named_by(catalog, allergy)
        if not named.classes and not named.ingredients:
            continue
        subject = _subject(named, allergy)
        for ingredient in named.ingredients:
            if ingredient in product.ingredients:
                messages.append(
                    f"{_subject(Named(allergy, (), (ingredient,)), allergy)}: this product contains {ingredient}"
                )
        direct = {c.code for c in named.classes}
        for c in named.classes:
            if c.code in product.allergy_classes:
                messages.append(f"{subject}: {drug} is {c.member_noun}")
        for ingredient in named.ingredients:
            if ingredient in product.ingredients:
                continue
            for c in classes_of_ingredient(catalog, ingredient):
                if c.code in product.allergy_classes and c.code not in direct:
                    direct.add(c.code)
                    messages.append(
                        f"{_subject(Named(allergy, (), (ingredient,)), allergy)}: {drug} is {c.member_noun}, "
                        f"like {ingredient}"
                    )
        for link in cross_sensitive(catalog, product, allergy):
            target = catalog.allergy_classes[link.target]
            messages.append(f"{subject}: {drug} is {target.member_noun} ({link.risk} cross-sensitivity)")
    return list(dict.fromkeys(messages))
