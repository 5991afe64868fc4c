"""NPI (Luhn over the 80840 prefix) and DEA number (check digit, last-name letter) rules."""

from __future__ import annotations

import random

import pytest

from careplane.standards import dea, npi


def test_known_valid_npi():
    assert npi.is_valid_npi("1234567893")
    assert npi.check_digit("123456789") == 3


@pytest.mark.parametrize("value", ["1234567890", "1234567891", "1234567894", "1234567839"])
def test_wrong_check_digit_or_transposition_is_refused(value):
    assert "check digit" in npi.npi_problem(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter"),
        (None, "Enter"),
        ("123456789", "10 digits"),
        ("12345678931", "10 digits"),
        ("12345a7893", "10 digits"),
        ("１２３４５６７８９３", "10 digits"),
        ("3234567893", "starts with 1 or 2"),
    ],
)
def test_malformed_npis(value, message):
    assert message in npi.npi_problem(value)


def test_generated_npis_are_valid_and_differ():
    rng = random.Random(7)
    made = {npi.generate_npi(rng) for _ in range(200)}
    assert len(made) > 190
    assert all(npi.is_valid_npi(n) for n in made)
    # A single changed digit is always caught by the Luhn check.
    sample = next(iter(made))
    for i in range(10):
        changed = sample[:i] + str((int(sample[i]) + 1) % 10) + sample[i + 1 :]
        assert not npi.is_valid_npi(changed)


def test_dea_check_digit():
    # 1+3+5 + 2*(2+4+6) = 33 -> 3
    assert dea.check_digit("123456") == 3
    assert dea.check_dea("AB1234563").ok
    assert dea.check_dea(" ab-123 4563 ").number == "AB1234563"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("AB1234564", "check digit"),
        ("A11234563", "two letters"),
        ("AB123456", "two letters"),
        ("AB12345634", "two letters"),
        ("ZB1234563", "registrant type"),
    ],
)
def test_bad_dea_numbers(value, message):
    check = dea.check_dea(value)
    assert not check.ok and message in check.error


def test_dea_second_letter_is_checked_against_last_name_as_a_warning():
    assert dea.check_dea("AB1234563", "Brown").warning is None
    mismatch = dea.check_dea("AB1234563", dea.last_name_of("Jane Q. Smith, MD"))
    assert mismatch.ok and "(S)" in mismatch.warning
    made = dea.generate_dea("Okafor", random.Random(1))
    assert made[1] == "O" and dea.check_dea(made, "Okafor").warning is None and dea.check_dea(made).ok
