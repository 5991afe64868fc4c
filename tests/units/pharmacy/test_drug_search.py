"""Finding products: the search box (brand, ingredient, typos, RxCUI, NDC), its speed, and protocol matching."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

from careplane.units.pharmacy import match_drug, search_drugs
from careplane.units.pharmacy.catalog import Catalog, shipped
from careplane.units.virtual_care import catalog as vc_catalog


def _ids(query: str, limit: int = 20) -> list[str]:
    return [p.id for p in search_drugs(query, limit)]


def test_search_finds_by_ingredient_brand_strength_and_despite_typos():
    assert _ids("amoxicillin")[0].startswith("amoxicillin-")
    assert _ids("amoxicilin")[:2] == ["amoxicillin-250mg-cap", "amoxicillin-400mg-5ml-powder-for-oral-suspension"]
    assert "sulfamethoxazole-trimethoprim-800mg-160mg-tab" in _ids("Bactrim")
    assert _ids("zithromax", 3) == [
        "azithromycin-200mg-5ml-powder-for-oral-suspension",
        "azithromycin-250mg-tab",
        "azithromycin-500mg-tab",
    ]
    assert _ids("lisinopril 10") == ["lisinopril-10mg-tab"]
    assert _ids("ibuprofn 800") == ["ibuprofen-800mg-tab"]
    assert _ids("SERTRALIN", 1) == ["sertraline-hydrochloride-25mg-tab"]
    assert _ids("") == [] and _ids("qqqqzzzz") == [] and _ids("mg") == []
    assert len(_ids("a", 5)) <= 5


def test_search_finds_by_ndc_in_any_of_its_forms():
    product = shipped().get("amoxicillin-500mg-cap")
    assert product is not None and product.ndc == "00093310905"
    for written in ("00093310905", "00093-3109-05", "0093-3109-05", "0093310905"):
        assert _ids(written) == ["amoxicillin-500mg-cap"], written


def test_search_finds_by_rxcui_where_the_catalog_has_one():
    # The shipped file has no RxCUIs (no source named one reliably); a catalog that has one finds by it.
    cat = shipped()
    tagged = replace(cat.products[0], rxcui="308182")
    with_code = Catalog(sources=cat.sources, products=(tagged, *cat.products[1:]), allergy_classes=cat.allergy_classes)
    assert [p.id for p in with_code.search("308182")] == [tagged.id]
    assert with_code.search("308183") == []


def _protocol_drugs() -> set[tuple[str, str]]:
    raw = json.loads(vc_catalog.DATA.read_text(encoding="utf-8"))
    return {(d["name"], d["strength"]) for c in raw["conditions"] for p in c["protocols"] for d in p["drugs"]}


def test_every_virtual_care_protocol_drug_resolves_to_a_catalog_product():
    unresolved = [f"{n} {s}" for n, s in sorted(_protocol_drugs()) if match_drug(n, s) is None]
    assert unresolved == []


def test_matching_tells_apart_strengths_forms_routes_and_combinations():
    def matched(name: str, strength: str) -> str | None:
        found = match_drug(name, strength)
        return found.id if found else None

    assert matched("Amoxicillin", "500 mg capsule") == "amoxicillin-500mg-cap"
    assert matched("Amoxicillin", "500 mg tablet") == "amoxicillin-500mg-tab"
    assert matched("Amoxicillin-clavulanate potassium", "875 mg-125 mg tablet") == (
        "amoxicillin-clavulanate-potassium-875mg-125mg-tab"
    )
    assert matched("Metronidazole gel", "0.75%") == "metronidazole-0p75pct-gel"
    assert matched("Metronidazole vaginal gel", "0.75%") == "metronidazole-0p75pct-vaginal-gel"
    assert matched("Nitrofurantoin monohydrate/macrocrystals", "100 mg capsule") == (
        "nitrofurantoin-monohydrate-macrocrystals-100mg-cap"
    )
    assert matched("Nitrofurantoin macrocrystals", "100 mg capsule") == "nitrofurantoin-macrocrystals-100mg-cap"
    assert matched("Rizatriptan", "10 mg orally disintegrating tablet") == (
        "rizatriptan-benzoate-10mg-orally-disintegrating-tab"
    )
    assert matched("Amoxicillin", "300 mg capsule") is None
    assert matched("Amoxicilin", "500 mg capsule") is None  # a prescription is matched exactly, not guessed


def test_the_protocol_list_is_read_from_the_real_file():
    drugs = _protocol_drugs()
    assert len(drugs) >= 60 and ("Amoxicillin", "500 mg capsule") in drugs
    assert copy.copy(drugs) == drugs
