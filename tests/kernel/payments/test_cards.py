"""The card checks that run before any processor is asked: every wrong field named at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from careplane.kernel import clock
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.payments import Card, check_card
from careplane.kernel.payments.cards import brand_of, luhn_valid
from careplane.kernel.payments.local_processor import APPROVING_CARDS, DECLINING_CARDS


@pytest.fixture(autouse=True)
def _june_2026():  # noqa: ANN202
    clock.travel(datetime(2026, 6, 15, 12, tzinfo=UTC))
    yield
    clock.travel(None)


def errors_of(card: Card) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        check_card(card)
    return refused.value.errors


@pytest.mark.parametrize(("number", "brand"), sorted(APPROVING_CARDS.items()))
def test_the_test_cards_pass_with_their_brand(number: str, brand: str) -> None:
    details = check_card(Card(number=number, expiry="12/30", cvc="1234" if brand == "amex" else "123"))
    assert (details.brand, details.last4, details.expiry) == (brand, number[-4:], "12/2030")


def test_every_test_card_is_luhn_valid() -> None:
    assert all(luhn_valid(n) for n in [*APPROVING_CARDS, *DECLINING_CARDS])


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", "visa"),
        ("5105105105105100", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("371449635398431", "amex"),
        ("6011000990139424", "discover"),
        ("6445644564456445", "discover"),
        ("6500000000000002", "discover"),
        ("3530111333300000", "other"),  # JCB
        ("36227206271667", "other"),  # Diners Club
    ],
)
def test_brand_from_the_leading_digits(number: str, brand: str) -> None:
    assert brand_of(number) == brand


def test_spaces_and_dashes_are_fine_and_the_expiry_may_have_four_digits() -> None:
    details = check_card(Card(number="5555-5555-5555-4444", expiry=" 7 / 2026 ", cvc=" 321 "))
    assert (details.brand, details.last4, details.expiry) == ("mastercard", "4444", "07/2026")


def test_every_wrong_field_is_reported_together() -> None:
    errors = errors_of(Card(number="4242 4242 4242 4241", expiry="13/27", cvc="12"))
    assert set(errors) == {"card_number", "card_expiry", "card_cvc"}
    assert "mistyped digit" in errors["card_number"]
    assert errors["card_expiry"] == "Enter a real month, 01 to 12."
    assert "3 or 4 digits" in errors["card_cvc"]  # the number is wrong, so the brand is unknown


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("", "Enter the card number."),
        ("4242 4242 4242 424x", "digits only"),
        ("４２４２４２４２４２４２４２４２", "digits only"),  # full-width digits are not card digits
        ("42424242424", "12 to 19 digits; this one has 11"),
        ("4" * 20, "12 to 19 digits; this one has 20"),
        ("4242424242424241", "mistyped digit"),
    ],
)
def test_card_number_messages(number: str, message: str) -> None:
    assert message in errors_of(Card(number=number, expiry="12/30", cvc="123"))["card_number"]


@pytest.mark.parametrize(
    ("expiry", "message"),
    [
        ("1230", "MM/YY"),
        ("12-30", "MM/YY"),
        ("00/30", "real month"),
        ("05/26", "expired at the end of 05/2026"),
        ("12/2025", "expired at the end of 12/2025"),
        ("01/2050", "check the year"),
    ],
)
def test_expiry_messages(expiry: str, message: str) -> None:
    assert message in errors_of(Card(number="4242424242424242", expiry=expiry, cvc="123"))["card_expiry"]


def test_a_card_is_good_to_the_end_of_its_expiry_month() -> None:
    assert check_card(Card(number="4242424242424242", expiry="06/26", cvc="123")).expiry == "06/2026"


def test_the_security_code_length_follows_the_brand() -> None:
    amex = "378282246310005"
    assert "4-digit" in errors_of(Card(number=amex, expiry="12/30", cvc="123"))["card_cvc"]
    assert check_card(Card(number=amex, expiry="12/30", cvc="1234")).brand == "amex"
    assert "3-digit" in errors_of(Card(number="4242424242424242", expiry="12/30", cvc="1234"))["card_cvc"]
    assert "3-digit" in errors_of(Card(number="4242424242424242", expiry="12/30", cvc="12a"))["card_cvc"]


def test_the_number_and_security_code_stay_out_of_the_repr() -> None:
    shown = repr(Card(number="4242424242424242", expiry="12/30", cvc="987", name="Pat"))
    assert "4242" not in shown and "987" not in shown and "12/30" in shown
