"""A card processor with no network, for the demo and the tests: :class:`LocalProcessor`.

It answers the well-known test card numbers (the ones Stripe documents) as a real processor would:
some approve, some decline with a given reason; any other number that passed the card checks
approves. It keeps no state (no state lives in a process): the references it hands out are random,
and the rules about what may follow what are careplane's, in
:mod:`careplane.kernel.payments.lifecycle`. It takes no real card, so it is refused in production
(:func:`careplane.kernel.payments.processors.processor`).
"""

from __future__ import annotations

import uuid

from careplane.kernel.money import Money
from careplane.kernel.payments.cards import Card, CardDetails
from careplane.kernel.payments.declines import PaymentDeclined
from careplane.kernel.payments.port import ProcessorResult

#: Test numbers that approve, with the brand they are.
APPROVING_CARDS = {
    "4242424242424242": "visa",
    "5555555555554444": "mastercard",
    "378282246310005": "amex",
    "6011111111111117": "discover",
}

#: Test numbers that are declined, with the decline code.
DECLINING_CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
}


class LocalProcessor:
    """The ``local`` processor: approves or declines by the test card number, moves no money."""

    name = "local"

    def authorise(
        self, *, amount: Money, card: Card, details: CardDetails, idempotency_key: str, description: str
    ) -> ProcessorResult:
        code = DECLINING_CARDS.get(card.digits)
        if code is not None:
            raise PaymentDeclined(code)
        return _result("auth")

    def capture(self, reference: str, *, amount: Money, idempotency_key: str) -> ProcessorResult:
        return _result("capture")

    def void(self, reference: str, *, idempotency_key: str) -> ProcessorResult:
        return _result("void")

    def refund(self, reference: str, *, amount: Money, idempotency_key: str) -> ProcessorResult:
        return _result("refund")


def _result(kind: str) -> ProcessorResult:
    return ProcessorResult(f"loc_{kind}_{uuid.uuid4().hex}")
