"""Card payments every unit takes through one port: authorise when something is booked, capture when
it is delivered, void when it ends with no charge, refund later. See docs/payments.md.

A unit calls :func:`authorise`, :func:`capture`, :func:`void` and :func:`refund` with an idempotency
key of its own, and finds a subject's payment with :func:`payment_for`; the money moves through the
configured :class:`PaymentProcessor` (``CAREPLANE_PAYMENT_PROCESSOR``; ``local`` takes the test cards
with no network). Of a card only its brand, last four digits and expiry are kept.
"""

from careplane.kernel.payments.cards import Card, CardDetails, check_card
from careplane.kernel.payments.declines import PaymentDeclined
from careplane.kernel.payments.lifecycle import authorise, capture, history, payment_for, refund, void
from careplane.kernel.payments.local_processor import LocalProcessor
from careplane.kernel.payments.models import OperationKind, Payment, PaymentOperation, PaymentStatus
from careplane.kernel.payments.port import PaymentProcessor, ProcessorResult
from careplane.kernel.payments.processors import processor

__all__ = [
    "Card",
    "CardDetails",
    "LocalProcessor",
    "OperationKind",
    "Payment",
    "PaymentDeclined",
    "PaymentOperation",
    "PaymentProcessor",
    "PaymentStatus",
    "ProcessorResult",
    "authorise",
    "capture",
    "check_card",
    "history",
    "payment_for",
    "processor",
    "refund",
    "void",
]
