"""The payment tables: a card payment of a subject (``payments``) and what was done to it, in order
(``payment_operations``, also its history: the authorisation, the capture, each refund).

Amounts are :class:`~careplane.kernel.money.Money`. The table checks what the services keep true, so
that no bug and no hand-written SQL can break it: an amount above zero, and
``0 <= refunded <= captured <= amount``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from careplane.kernel import clock
from careplane.kernel.db import Base, IdMixin, TimestampMixin
from careplane.kernel.money import ZERO, Money

#: The longest idempotency key (as :mod:`careplane.kernel.idempotency` takes for the API's header).
MAX_KEY_LENGTH = 200


class PaymentStatus(StrEnum):
    #: The money is held on the card, not taken: capture it, or void the hold.
    AUTHORISED = "authorised"
    #: Taken (all or part of what was held; the rest was released).
    CAPTURED = "captured"
    #: The hold was released; nothing was taken.
    VOIDED = "voided"
    #: Everything taken has been given back.
    REFUNDED = "refunded"
    #: Some of what was taken has been given back.
    PARTLY_REFUNDED = "partly_refunded"


class OperationKind(StrEnum):
    AUTHORISE = "authorise"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"


class Payment(IdMixin, TimestampMixin, Base):
    """A card payment for something a unit sells (``subject_type``/``subject_id``, e.g.
    ``("virtual_care.visit", "<uuid>")``), from authorisation to capture, void or refunds."""

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_subject", "subject_type", "subject_id", "created_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("captured >= 0 AND captured <= amount", name="captured_within_amount"),
        CheckConstraint("refunded >= 0 AND refunded <= captured", name="refunded_within_captured"),
    )

    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[str] = mapped_column(String(80))
    #: What was authorised (held on the card).
    amount: Mapped[Money]
    captured: Mapped[Money] = mapped_column(default=ZERO)
    refunded: Mapped[Money] = mapped_column(default=ZERO)
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.AUTHORISED.value)
    #: Which processor holds it (``local``), and its id for the authorisation there.
    processor: Mapped[str] = mapped_column(String(30))
    processor_ref: Mapped[str] = mapped_column(String(80))
    #: All that is kept of the card: e.g. ``visa``, ``4242``, ``12/2030``.
    card_brand: Mapped[str] = mapped_column(String(20))
    card_last4: Mapped[str] = mapped_column(String(4))
    card_expiry: Mapped[str] = mapped_column(String(7))
    description: Mapped[str] = mapped_column(String(200))
    authorised_at: Mapped[datetime | None]
    captured_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    #: When the latest refund was made.
    refunded_at: Mapped[datetime | None]

    @property
    def refundable(self) -> Money:
        """What is left to refund: captured less refunded."""
        return self.captured - self.refunded


class PaymentOperation(IdMixin, Base):
    """One thing done to a payment at the processor, under the caller's idempotency key.

    A key is unique per kind of operation: the same request again with it finds this row and acts no
    more; another request with it is refused. ``request_hash`` is what "the same request" means
    (e.g. for a capture: this payment and this amount)."""

    __tablename__ = "payment_operations"
    __table_args__ = (UniqueConstraint("kind", "idempotency_key"),)

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    #: The money it moved (for a void, the amount released).
    amount: Mapped[Money]
    #: The processor's id for this operation (for the authorisation, the payment's ``processor_ref``).
    processor_ref: Mapped[str] = mapped_column(String(80))
    #: Why, for a refund (what the person refunding gave); empty otherwise.
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
