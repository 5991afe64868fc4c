from datetime import date, timedelta

import pytest

from careplane.kernel import clock
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.patients.validation import clean_patient, normalise_name

from .conftest import patient_data


def errors_for(**overrides: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        clean_patient(patient_data(**overrides))
    return caught.value.errors


def test_a_good_record_is_cleaned_and_normalised():
    cleaned = clean_patient(
        patient_data(
            phone="1-212-555-0123",
            email="Jon.Smith@Example.ORG",
            state="ny",
            postal_code="10001-1234",
            language="es_mx",
            given_name="  Jon   Paul ",
        )
    )
    assert cleaned["phone"] == "+12125550123"
    assert cleaned["email"] == "jon.smith@example.org"
    assert cleaned["state"] == "NY"
    assert cleaned["postal_code"] == "10001-1234"
    assert cleaned["language"] == "es-MX"
    assert cleaned["given_name"] == "Jon Paul"
    assert cleaned["birth_date"] == date(1984, 7, 21)


def test_names_are_required():
    errors = errors_for(given_name="  ", family_name=None)
    assert errors["given_name"] == "Enter the given name."
    assert errors["family_name"] == "Enter the family name."
    assert "letters" in errors_for(family_name="1234")["family_name"]
    assert "at most 100" in errors_for(given_name="a" * 101)["given_name"]


def test_birth_date_rules():
    assert "mm/dd/yyyy" in errors_for(birth_date="21/07/1984")["birth_date"]  # no 21st month
    assert "mm/dd/yyyy" in errors_for(birth_date="1984-02-30")["birth_date"]
    assert clean_patient(patient_data(birth_date="07/21/1984"))["birth_date"].isoformat() == "1984-07-21"
    assert errors_for(birth_date=clock.today() + timedelta(days=1))["birth_date"] == (
        "The date of birth cannot be in the future."
    )
    assert "more than 125 years" in errors_for(birth_date=date(clock.today().year - 126, 1, 1))["birth_date"]
    assert errors_for(birth_date="")["birth_date"] == "Enter the date of birth."
    assert clean_patient(patient_data(birth_date=clock.today().isoformat()))["birth_date"] == clock.today()


def test_sex_at_birth_must_be_known_value():
    assert errors_for(sex_at_birth="x")["sex_at_birth"] == "Choose female, male or unknown."


@pytest.mark.parametrize("state", ["NY", "dc", "PR", "GU", "VI", "AS", "MP", "WY"])
def test_states_dc_and_territories_accepted(state):
    assert clean_patient(patient_data(state=state))["state"] == state.upper()


@pytest.mark.parametrize("state", ["XX", "New York", "ZZ", "FM"])
def test_unknown_states_refused(state):
    assert "US state" in errors_for(state=state)["state"]


@pytest.mark.parametrize("zip_code", ["1000", "100011", "10001-12", "ABCDE", "10001 1234"])
def test_zip_shape(zip_code):
    assert "ZIP" in errors_for(postal_code=zip_code)["postal_code"]


@pytest.mark.parametrize("phone", ["555-0123", "(012) 555-0123", "(212) 155-0123", "+44 20 7946 0958", "call me"])
def test_bad_phones(phone):
    assert "phone" in errors_for(phone=phone)["phone"]


@pytest.mark.parametrize("email", ["nobody", "a@", "a@b", "a b@example.org"])
def test_bad_emails(email):
    assert "name@example.com" in errors_for(email=email)["email"]


@pytest.mark.parametrize("language", ["english!", "e", "en-", "1234"])
def test_bad_languages(language):
    assert "language code" in errors_for(language=language)["language"]


def test_all_problems_are_reported_together():
    errors = errors_for(given_name="", birth_date="soon", state="XX", phone="12", email="x", postal_code="1")
    assert set(errors) == {"given_name", "birth_date", "state", "phone", "email", "postal_code"}


def test_partial_only_checks_given_fields_and_keeps_required_ones():
    assert clean_patient({"city": "Albany"}, partial=True) == {"city": "Albany"}
    with pytest.raises(ValidationFailed) as caught:
        clean_patient({"family_name": ""}, partial=True)
    assert "family_name" in caught.value.errors


def test_normalised_names():
    assert normalise_name("  O’Brién  ") == "obrien"
    assert normalise_name("José  María") == "jose maria"
    assert normalise_name("ZOË") == "zoe"
