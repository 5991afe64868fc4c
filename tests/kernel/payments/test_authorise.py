"""Authorising: the test cards approve or decline as documented, a decline stores nothing, and a
retried request with the same idempotency key acts once."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from careplane.kernel.errors import Conflict, ValidationFailed
from careplane.kernel.money import Money
from careplane.kernel.payments import (
    Payment,
    PaymentDeclined,
    PaymentOperation,
    PaymentStatus,
    authorise,
    history,
    payment_for,
)
from careplane.kernel.payments.local_processor import APPROVING_CARDS, DECLINING_CARDS
from careplane.kernel.web import attempt, form_errors
from tests.kernel.payments.builders import SUBJECT, VISA, authorised, card
from tests.kernel.work.builders import patient


def rows(db, table) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def ask(session, **overrides):  # noqa: ANN001, ANN003, ANN201
    request = {
        "amount": Money(4900),
        "card": card(),
        "idempotency_key": "visit-1-authorise",
        "patient_id": None,
        "subject_type": SUBJECT,
        "subject_id": "visit-1",
        "description": "Async visit: sore throat",
    }
    return authorise(session, **{**request, **overrides})


@pytest.mark.parametrize(("number", "brand"), sorted(APPROVING_CARDS.items()))
def test_the_approving_test_cards_authorise(db, number: str, brand: str) -> None:
    pid = patient(db)
    with db.unit_of_work() as s:
        payment = ask(s, card=card(number, cvc="1234" if brand == "amex" else "123"), patient_id=pid)
        payment_id = payment.id
    with db.unit_of_work() as s:
        stored = s.get(Payment, payment_id)
        assert stored is not None
        assert (stored.status, stored.amount, stored.captured, stored.refunded) == (
            PaymentStatus.AUTHORISED,
            Money(4900),
            Money(0),
            Money(0),
        )
        assert (stored.card_brand, stored.card_last4, stored.card_expiry) == (brand, number[-4:], "12/2040")
        assert (stored.processor, stored.patient_id, stored.description) == ("local", pid, "Async visit: sore throat")
        assert stored.processor_ref.startswith("loc_auth_") and stored.authorised_at is not None
        assert stored.captured_at is None and stored.voided_at is None and stored.refunded_at is None
        (operation,) = history(s, payment_id)
        assert (operation.kind, operation.amount, operation.processor_ref) == (
            "authorise",
            Money(4900),
            stored.processor_ref,
        )


def test_any_other_well_formed_card_approves(db) -> None:
    with db.unit_of_work() as s:
        assert ask(s, card=card("4111 1111 1111 1111")).card_brand == "visa"
        assert ask(s, card=card("3530111333300000"), idempotency_key="jcb").card_brand == "other"


@pytest.mark.parametrize(
    ("number", "code", "field", "words"),
    [
        ("4000000000000002", "card_declined", "card_number", "Your card was declined."),
        ("4000000000009995", "insufficient_funds", "card_number", "declined (insufficient funds)"),
        ("4000000000000069", "expired_card", "card_expiry", "Your card has expired"),
        ("4000000000000127", "incorrect_cvc", "card_cvc", "security code"),
    ],
)
def test_the_declining_test_cards_are_declined_and_leave_nothing(db, number, code, field, words) -> None:  # noqa: ANN001
    assert DECLINING_CARDS[number] == code
    with pytest.raises(PaymentDeclined) as declined, db.unit_of_work() as s:
        ask(s, card=card(number))
    assert declined.value.code == code and declined.value.extensions == {"code": code}
    assert list(declined.value.errors) == [field] and words in declined.value.errors[field]
    assert isinstance(declined.value, ValidationFailed) and declined.value.status == 422
    assert rows(db, Payment) == 0 and rows(db, PaymentOperation) == 0


def test_a_caught_decline_leaves_no_row_while_the_rest_commits(db) -> None:
    """A page catches the decline (``web.attempt``) and commits its own work: no payment is kept,
    and the key is free for the patient's next card."""
    with db.unit_of_work() as s:
        payment, problem = attempt(s, lambda: ask(s, card=card("4000 0000 0000 9995")))
        assert payment is None and "insufficient funds" in form_errors(problem)["card_number"]
        assert s.scalar(select(func.count()).select_from(Payment)) == 0
        again = ask(s)  # the same key, another card
    assert again.card_last4 == "4242" and rows(db, Payment) == 1


def test_a_wrong_card_is_refused_before_the_processor_with_every_field_and_nothing_stored(db) -> None:
    with pytest.raises(ValidationFailed) as refused, db.unit_of_work() as s:
        ask(s, card=card("4000 0000 0000 0003", expiry="02/20", cvc="1"), amount=Money(0), subject_id=" ")
    assert not isinstance(refused.value, PaymentDeclined)
    assert set(refused.value.errors) == {"card_number", "card_expiry", "card_cvc", "amount", "subject_id"}
    assert rows(db, Payment) == 0


def test_amounts_are_money_and_above_zero(db) -> None:
    with pytest.raises(ValidationFailed) as refused, db.unit_of_work() as s:
        ask(s, amount=Money(-100))
    assert "more than $0.00" in refused.value.errors["amount"]
    with pytest.raises(TypeError), db.unit_of_work() as s:
        ask(s, amount=49)


def test_the_same_request_again_returns_the_first_payment_without_acting(db) -> None:
    with db.unit_of_work() as s:
        first = ask(s).id
    for _ in range(2):
        with db.unit_of_work() as s:
            assert ask(s).id == first
    # Spaces in the number make no other card.
    with db.unit_of_work() as s:
        assert ask(s, card=card("4242-4242-4242-4242"), description="a new label").id == first
    assert rows(db, Payment) == 1 and rows(db, PaymentOperation) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"amount": Money(5000)},
        {"subject_id": "visit-2"},
        {"subject_type": "pharmacy.order"},
        {"card": card("5555 5555 5555 4444")},
        {"card": card(expiry="11/40")},
    ],
)
def test_the_key_used_for_another_request_is_a_conflict(db, change) -> None:  # noqa: ANN001
    with db.unit_of_work() as s:
        ask(s)
    with pytest.raises(Conflict, match="already used for another authorise request"), db.unit_of_work() as s:
        ask(s, **change)
    assert rows(db, Payment) == 1


def test_the_key_is_checked(db) -> None:
    for bad in ["", "x" * 201, "tab\there"]:
        with pytest.raises(ValidationFailed) as refused, db.unit_of_work() as s:
            ask(s, idempotency_key=bad)
        assert "printable characters" in refused.value.errors["idempotency_key"]


def test_an_unknown_patient_is_refused_by_the_database_not_taken_for_a_replay(db) -> None:
    with pytest.raises(Exception) as refused, db.unit_of_work() as s:  # noqa: PT011, B017
        ask(s, patient_id=uuid.uuid4())
    assert "foreign key" in str(refused.value).lower()
    assert rows(db, Payment) == 0


def test_payment_for_finds_the_latest_payment_of_a_subject(db) -> None:
    subject = str(uuid.uuid4())
    with db.unit_of_work() as s:
        assert payment_for(s, SUBJECT, subject) is None
    first = authorised(db, subject_id=subject)
    second = authorised(db, subject_id=subject, number=VISA)
    authorised(db)  # another subject
    with db.unit_of_work() as s:
        latest = payment_for(s, SUBJECT, subject)
        assert latest is not None and latest.id == second.id != first.id
        assert payment_for(s, "pharmacy.order", subject) is None
