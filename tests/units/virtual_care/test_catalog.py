"""The condition catalog: the shipped file loads, and a broken one is refused naming every problem."""

from __future__ import annotations

import copy
import json

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from careplane.units.virtual_care import catalog
from careplane.units.virtual_care.catalog import (
    CatalogError,
    fhir_questionnaire,
    is_billable_icd10,
    parse,
    shipped,
)


def _raw() -> dict:
    return json.loads(catalog.DATA.read_text(encoding="utf-8"))


def test_the_shipped_catalog_loads_with_at_least_30_conditions_and_billable_codes():
    cat = shipped()
    assert len(cat.conditions) >= 30
    assert len({c.code for c in cat.conditions}) == len(cat.conditions)
    assert any("CDC" in s and "simple-icd-10-cm" in s for s in cat.sources)
    assert any("careplane's own list prices" in s for s in cat.sources)
    for wanted in (
        "uti",
        "pink_eye",
        "sinus_infection",
        "seasonal_allergies",
        "acne",
        "hair_loss",
        "cold_sores",
        "genital_herpes",
        "erectile_dysfunction",
        "birth_control",
        "smoking_cessation",
        "acid_reflux",
        "eczema",
        "rosacea",
        "vaginal_yeast_infection",
        "motion_sickness",
        "head_lice",
        "covid19",
        "influenza",
    ):
        assert cat.get(wanted) is not None, wanted
    for c in cat.conditions:
        assert c.icd10 and all(is_billable_icd10(code) for code in c.icd10), c.code
        assert c.protocols and all(p.drugs for p in c.protocols), c.code
        assert c.prices.message > 0 and c.prices.video > c.prices.message, c.code
        assert any(i.enable_when for i in c.questionnaire) or c.red_flags, c.code


def test_billable_means_a_leaf_code_written_with_its_dot():
    assert is_billable_icd10("N39.0") and is_billable_icd10("T75.3XXA") and is_billable_icd10("B86")
    assert not is_billable_icd10("N30.0")  # a subcategory with children
    assert not is_billable_icd10("H10.9Z") and not is_billable_icd10("N390") and not is_billable_icd10("A00-B99")


def test_prices_fall_back_to_the_list_price_outside_the_states_that_override_them():
    uti = shipped().get("uti")
    assert uti is not None
    assert uti.prices.for_visit("message", "NY") == 4900 and uti.prices.for_visit("video", "NY") == 8900
    assert uti.prices.for_visit("message", "CA") == 4500 and uti.prices.for_visit("video", "CA") == uti.prices.video
    assert uti.prices.for_visit("message", "TX") == uti.prices.message == 3900


def test_a_broken_catalog_is_refused_naming_every_bad_entry_and_field():
    raw = _raw()
    conditions = raw["conditions"]
    pink = next(n for n, c in enumerate(conditions) if c["code"] == "pink_eye")
    conditions[pink]["icd10"][1] = "H10.9Z"
    uti = conditions[0]
    assert uti["code"] == "uti"
    uti["colour"] = "red"  # unknown field
    del uti["description"]  # missing field
    uti["eligibility"]["min_age"] = "eighteen"  # bad type
    uti["questionnaire"][0]["enableWhen"] = [
        {"question": "fever", "operator": "=", "answerBoolean": True}
    ]  # later item
    uti["questionnaire"][1]["type"] = "yes-no"
    uti["red_flags"][0]["linkId"] = "no_such_item"
    uti["red_flags"][1]["answer"] = "maybe"  # a boolean item
    uti["prices"]["message"] = 39.5
    uti["prices"]["states"]["ZZ"] = {"video": 0}
    conditions[2]["code"] = "uti"  # duplicate code
    conditions[3]["protocols"][0]["drugs"][0]["refills"] = -1
    conditions[4]["reply_within_minutes"] = 2
    with pytest.raises(CatalogError) as refused:
        parse(raw)
    problems = refused.value.problems
    expected = [
        f"conditions[{pink}] (pink_eye).icd10[1]: 'H10.9Z' is not a billable ICD-10-CM code",
        "conditions[0] (uti): unknown field 'colour'",
        "conditions[0] (uti): missing field 'description'",
        "conditions[0] (uti).eligibility.min_age: must be a whole number of years from 0 to 125, not 'eighteen'",
        "conditions[0] (uti).questionnaire[0].enableWhen[0].question: 'fever' is a later or unknown item",
        "conditions[0] (uti).questionnaire[1].type: must be one of",
        "conditions[0] (uti).red_flags[0].linkId: 'no_such_item' is not an item of this questionnaire",
        "conditions[0] (uti).red_flags[1].answer: 'maybe' is not a boolean answer for 'vomiting'",
        "conditions[0] (uti).prices.message: must be a positive whole number of cents, not 39.5",
        "conditions[0] (uti).prices.states: 'ZZ' is not a US state",
        "conditions[0] (uti).prices.states.ZZ.video: must be a positive whole number of cents, not 0",
        "conditions[2] (uti).code: 'uti' is already the code of conditions[0]",
        "conditions[3] (seasonal_allergies).protocols[0].drugs[0].refills: must be a whole number from 0 to 11, not -1",
        "conditions[4] (acne).reply_within_minutes: must be whole minutes from 5 to 1440, not 2",
    ]
    for wanted in expected:
        assert any(p.startswith(wanted) for p in problems), (wanted, problems)
    assert str(refused.value).count("\n") == len(problems)


def test_enable_when_and_choices_are_checked_against_the_items_they_name():
    raw = {
        "format": catalog.FORMAT,
        "sources": ["x"],
        "currency": "USD",
        "conditions": [copy.deepcopy(_raw()["conditions"][0])],
    }
    items = raw["conditions"][0]["questionnaire"]
    items.append(
        {
            "linkId": "colour",
            "text": "Colour?",
            "type": "choice",
            "required": True,
            "answerOption": [{"valueCoding": {"code": "red", "display": "Red"}}],
        }
    )
    items.append(
        {
            "linkId": "shade",
            "text": "Shade?",
            "type": "string",
            "required": False,
            "enableWhen": [
                {"question": "colour", "operator": "=", "answerCoding": {"code": "blue"}},
                {"question": "colour", "operator": "=", "answerBoolean": True},
                {"question": "shade", "operator": "=", "answerString": "x"},
                {"question": "colour", "operator": ">", "answerCoding": {"code": "red"}},
            ],
        }
    )
    with pytest.raises(CatalogError) as refused:
        parse(raw)
    text = str(refused.value)
    assert "enableWhen[0].answerCoding: 'blue' is not one of its options (red) for 'colour'" in text
    assert "enableWhen[1].answerBoolean: 'colour' is a choice item: compare with answerCoding" in text
    assert "enableWhen[2].question: 'shade' is itself" in text
    assert "enableWhen[3].answerCoding: '>' compares numbers or dates" in text
    assert len(refused.value.problems) == 4


def test_not_json_and_not_an_object_are_refused_plainly():
    with pytest.raises(CatalogError, match="line 1 column 2: not JSON"):
        catalog.loads("{oops")
    with pytest.raises(CatalogError, match="catalog: must be an object, not a list"):
        parse([])


def test_every_intake_renders_as_a_valid_fhir_r4_questionnaire():
    for condition in shipped().conditions:
        resource = fhir_questionnaire(condition)
        assert resource["resourceType"] == "Questionnaire" and resource["status"] == "active"
        Questionnaire.model_validate(resource)  # raises on anything FHIR does not allow
