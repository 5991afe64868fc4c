"""Pharmacy's use cases. So far: reading the drug catalog (search, one product, allergy conflicts).

The catalog holds no patient data, so these take no actor: the API and the pages decide who may
call them (any logged-in user), and other units call them through the package face."""

from __future__ import annotations

from careplane.kernel.errors import NotFound, ValidationFailed
from careplane.units.pharmacy import allergies, drug_search
from careplane.units.pharmacy.catalog import Product, shipped

MAX_LIMIT = 100
MAX_QUERY = 100


def search_drugs(query: str, limit: int = 20) -> list[Product]:
    """Products that fit ``query`` (ingredient, brand, strength, RxCUI or NDC; typos forgiven), best first."""
    errors: dict[str, str] = {}
    if len(query) > MAX_QUERY:
        errors["q"] = f"Type at most {MAX_QUERY} characters."
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = f"Ask for 1 to {MAX_LIMIT} products."
    if errors:
        raise ValidationFailed(errors)
    return drug_search.search(shipped(), query, limit)


def drug(product_id: str) -> Product:
    found = shipped().get(product_id)
    if found is None:
        raise NotFound(f"The drug catalog has no product with the id '{product_id}'.")
    return found


def match(name: str, strength: str) -> Product | None:
    """The product a prescription's drug name and strength mean (``"Amoxicillin"``, ``"500 mg capsule"``)."""
    return drug_search.match(shipped(), name, strength)


def allergy_conflicts(product_id: str, recorded: list[str]) -> list[str]:
    """Why ``product_id`` may be unsafe for someone with the ``recorded`` allergies; empty when nothing is known."""
    return allergies.conflicts(shipped(), drug(product_id), recorded)
