"""Allergy conflicts: recorded allergy text against a product's ingredients and allergy classes."""

from __future__ import annotations

import pytest

from careplane.kernel.errors import NotFound
from careplane.units.pharmacy import allergy_conflicts, drug
from careplane.units.pharmacy.catalog import shipped


def test_a_penicillin_allergy_conflicts_with_amoxicillin_in_any_spelling():
    assert allergy_conflicts("amoxicillin-500mg-cap", ["Penicillin"]) == [
        "Penicillin allergy: amoxicillin is a penicillin"
    ]
    for written in ("penicillin allergy", "PENICILLINS", "PCN (hives)", "allergic to penicillin"):
        assert allergy_conflicts("amoxicillin-500mg-cap", [written]) == [
            "Penicillin allergy: amoxicillin is a penicillin"
        ], written


def test_a_penicillin_allergy_does_not_conflict_with_azithromycin():
    assert allergy_conflicts("azithromycin-250mg-tab", ["Penicillin"]) == []


def test_a_sulfa_allergy_conflicts_with_sulfamethoxazole_trimethoprim():
    assert allergy_conflicts("sulfamethoxazole-trimethoprim-800mg-160mg-tab", ["Sulfa"]) == [
        "Sulfonamide antibiotic allergy: sulfamethoxazole / trimethoprim is a sulfonamide antibiotic"
    ]


def test_an_ingredient_allergy_names_the_ingredient_and_its_class():
    assert allergy_conflicts("amoxicillin-500mg-cap", ["amoxicillin"]) == [
        "Amoxicillin allergy: this product contains amoxicillin"
    ]
    assert allergy_conflicts("penicillin-v-potassium-500mg-tab", ["Amoxicillin"]) == [
        "Amoxicillin allergy: penicillin v potassium is a penicillin, like amoxicillin"
    ]


def test_cross_sensitivity_is_reported_with_its_risk():
    assert allergy_conflicts("cephalexin-500mg-cap", ["penicillin"]) == [
        "Penicillin allergy: cephalexin is a cephalosporin (low cross-sensitivity)"
    ]
    cat = shipped()
    cephalexin = drug("cephalexin-500mg-cap")
    links = cat.cross_sensitive(cephalexin, "Penicillin")
    assert [(x.target, x.risk) for x in links] == [("cephalosporins", "low")]
    assert cat.cross_sensitive(cephalexin, cat.allergy_classes["penicillins"]) == links
    assert cat.cross_sensitive(cephalexin, "Cephalosporins") == []  # its own class is a conflict, not a cross


def test_unknown_allergies_and_products():
    assert allergy_conflicts("amoxicillin-500mg-cap", ["peanuts", "latex", ""]) == []
    assert allergy_conflicts("ibuprofen-800mg-tab", ["NSAIDs", "aspirin"]) == ["NSAID allergy: ibuprofen is an NSAID"]
    with pytest.raises(NotFound):
        allergy_conflicts("nope", ["penicillin"])
