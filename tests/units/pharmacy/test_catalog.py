"""The drug catalog: the shipped files load, and a broken one is refused naming every bad entry and field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from careplane.units.pharmacy import catalog
from careplane.units.pharmacy.catalog import CatalogError, parse, shipped


def _raw() -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        json.loads((catalog.DATA / "drugs.json").read_text(encoding="utf-8")),
        json.loads((catalog.DATA / "allergy_classes.json").read_text(encoding="utf-8")),
    )


def test_the_shipped_catalog_loads_with_at_least_300_products_and_named_sources():
    cat = shipped()
    assert len(cat.products) >= 300
    assert len(cat.by_id) == len(cat.products)
    assert any("FDA National Drug Code Directory" in s for s in cat.sources)
    assert any("illustrative" in s for s in cat.sources)
    assert any("practice parameter" in s for s in cat.allergy_sources)
    with_ndc = [p for p in cat.products if p.ndc]
    assert len(with_ndc) >= 400 and all(len(p.ndc) == 11 and p.ndc.isdigit() for p in with_ndc)
    assert {p.dea_schedule for p in cat.products} == {"", "CII", "CIII", "CIV", "CV"}
    amoxicillin = cat.get("amoxicillin-500mg-cap")
    assert amoxicillin is not None and amoxicillin.allergy_classes == ("penicillins",)
    assert [c.name for c in cat.allergy_classes_of(amoxicillin)] == ["Penicillin"]
    assert amoxicillin.cash_price.cents == amoxicillin.cash_price_cents >= amoxicillin.acquisition_cents
    assert cat.get("nitrofurantoin-macrocrystals-100mg-cap") is not None
    assert cat.get("oxycodone-hydrochloride-5mg-tab").controlled  # type: ignore[union-attr]


def test_a_bad_file_is_refused_naming_each_bad_entry_and_field():
    drugs, classes = _raw()
    drugs, classes = copy.deepcopy(drugs), copy.deepcopy(classes)
    first = drugs["products"][0]
    first["ndc"] = "0009331090"
    first["dea_schedule"] = "C2"
    drugs["products"][1]["acquisition_cents"] = 0
    drugs["products"][2]["allergy_classes"] = ["penicilins"]
    del drugs["products"][3]["route"]
    drugs["products"][4]["id"] = first["id"]
    drugs["products"][5]["colour"] = "pink"
    classes["classes"][0]["cross_sensitivity"][0]["risk"] = "maybe"
    with pytest.raises(CatalogError) as refused:
        parse(drugs, classes)
    problems = "\n".join(refused.value.problems)
    amox = first["id"]
    assert f"products[0] ({amox}).ndc: '0009331090' is not an 11-digit NDC" in problems
    assert f"products[0] ({amox}).dea_schedule: must be '' or one of CII" in problems
    assert "products[1] (amoxicillin-500mg-cap).acquisition_cents: must be a positive whole number" in problems
    assert "products[2] (amoxicillin-500mg-tab).allergy_classes[0]: 'penicilins' is not an allergy class" in problems
    assert "products[2] (amoxicillin-500mg-tab).allergy_classes: must include 'penicillins'" in problems
    assert "products[3] (amoxicillin-875mg-tab): missing field 'route'" in problems
    assert f"products[4] ({amox}).id: '{amox}' is already the id of products[0]" in problems
    assert "unknown field 'colour'" in problems
    assert "classes[0] (penicillins).cross_sensitivity[0].risk: must be one of low" in problems
    assert len(refused.value.problems) == 9
    assert "has 9 problems" in str(refused.value)


def test_a_file_that_is_not_json_names_the_line():
    _, classes = _raw()
    with pytest.raises(CatalogError, match=r"drugs: line 1 column 2: not JSON"):
        catalog.loads("{oops", json.dumps(classes))
