"""The processor port: what careplane asks of a card processor (:class:`PaymentProcessor`).

careplane keeps the payment's state and the rules about it (:mod:`careplane.kernel.payments.lifecycle`);
a processor only moves money: it holds an amount on a card, takes some or all of it, releases the
hold, gives money back. An adapter for a real processor (Stripe-like) implements these four calls
over its API; :class:`~careplane.kernel.payments.local_processor.LocalProcessor` implements them with
no network for the demo and the tests. docs/payments.md says how to add one.

Every call carries an idempotency key made from the caller's (the kind of operation and the key),
for the adapter to send with its request: if careplane's transaction fails after the processor
acted, the retry with the same key is answered from the processor's memory instead of acting twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from careplane.kernel.money import Money
from careplane.kernel.payments.cards import Card, CardDetails


@dataclass(frozen=True)
class ProcessorResult:
    """What the processor answered: its id for what it did (an authorisation, a capture, a refund)."""

    reference: str


class PaymentProcessor(Protocol):
    """A card processor. Amounts are positive and already checked against the payment (a capture is
    at most what was authorised, a refund at most what is left); ``reference`` is the processor's own
    id of the authorisation, as :meth:`authorise` returned it. A refusal is raised as
    :class:`~careplane.kernel.payments.declines.PaymentDeclined`; anything else that goes wrong (the
    processor cannot be reached) is raised as it is, and the caller's transaction rolls back."""

    #: Stored on every payment it holds (``Payment.processor``, up to 30 characters).
    name: str

    def authorise(
        self, *, amount: Money, card: Card, details: CardDetails, idempotency_key: str, description: str
    ) -> ProcessorResult:
        """Hold ``amount`` on the card (``details`` are its checked brand, last four and expiry)."""
        ...

    def capture(self, reference: str, *, amount: Money, idempotency_key: str) -> ProcessorResult:
        """Take ``amount`` of the hold and release the rest."""
        ...

    def void(self, reference: str, *, idempotency_key: str) -> ProcessorResult:
        """Release the whole hold, taking nothing."""
        ...

    def refund(self, reference: str, *, amount: Money, idempotency_key: str) -> ProcessorResult:
        """Give back ``amount`` of what was taken."""
        ...
