"""The life of a payment: authorised (held on the card), then captured (taken, all or part) or voided
(released), then refunded in one or more parts. Units call these; a processor only moves the money
(:mod:`careplane.kernel.payments.port`), the rules are here.

**Acting once.** Each call takes the caller's idempotency key, unique per kind of operation. The
operation row (``payment_operations``) is inserted before the processor is asked, inside a
savepoint: a concurrent request with the same key waits on the unique key (PostgreSQL) or behind
the one writer (SQLite), then finds the row and is answered from it. The same request again with a
used key returns the payment as it is now, doing nothing; another request with it (another
amount, subject, payment or card) is a :class:`~careplane.kernel.errors.Conflict`.

**Nothing of a refusal stays.** When the processor raises (a declined card), the savepoint is
undone: a declined authorisation leaves no payment row, even when the caller catches the error and
commits the rest of its work (``web.attempt`` does).

**One change at a time.** Capture, void and refund lock the payment's row first (``SELECT ... FOR
UPDATE``), so two of them on one payment never decide on the same stale amounts.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.db import new_id
from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.money import ZERO, Money
from careplane.kernel.payments.cards import Card, check_card
from careplane.kernel.payments.models import MAX_KEY_LENGTH, OperationKind, Payment, PaymentOperation, PaymentStatus
from careplane.kernel.payments.port import ProcessorResult
from careplane.kernel.payments.processors import processor

AUTHORISED, CAPTURED, VOIDED = PaymentStatus.AUTHORISED, PaymentStatus.CAPTURED, PaymentStatus.VOIDED
REFUNDED, PARTLY_REFUNDED = PaymentStatus.REFUNDED, PaymentStatus.PARTLY_REFUNDED


def authorise(
    session: Session,
    *,
    amount: Money,
    card: Card,
    idempotency_key: str,
    patient_id: uuid.UUID | None,
    subject_type: str,
    subject_id: str,
    description: str,
) -> Payment:
    """Hold ``amount`` on the card for a subject (e.g. ``("virtual_care.visit", "<uuid>")``).

    The card is checked first, every field at once (:class:`ValidationFailed` keyed ``card_number``,
    ``card_expiry``, ``card_cvc``); a refusal by the processor is
    :class:`~careplane.kernel.payments.declines.PaymentDeclined` and stores nothing. "The same
    request" for the key is the same amount, patient, subject and card (brand, last four, expiry)."""
    errors: dict[str, str] = {}
    _check_amount(amount, errors)
    _check_key(idempotency_key, errors)
    _check_text(subject_type, "subject_type", 60, errors, required=True)
    _check_text(subject_id, "subject_id", 80, errors, required=True)
    _check_text(description, "description", 200, errors, required=False)
    try:
        details = check_card(card)
    except ValidationFailed as wrong:
        errors.update(wrong.errors)
    if errors:
        raise ValidationFailed(errors)
    kind = OperationKind.AUTHORISE
    digest = _request_hash(
        kind, amount.cents, patient_id, subject_type, subject_id, details.brand, details.last4, details.expiry
    )
    if earlier := _earlier(session, kind, idempotency_key):
        return _replayed(session, earlier, digest)

    chosen = processor()
    now = clock.now()
    payment = Payment(
        id=new_id(),
        patient_id=patient_id,
        subject_type=subject_type,
        subject_id=subject_id,
        amount=amount,
        captured=ZERO,
        refunded=ZERO,
        status=AUTHORISED.value,
        processor=chosen.name,
        processor_ref="",
        card_brand=details.brand,
        card_last4=details.last4,
        card_expiry=details.expiry,
        description=description.strip(),
        authorised_at=now,
    )
    operation = _operation(payment, kind, idempotency_key, digest, amount)

    def ask() -> ProcessorResult:
        return chosen.authorise(
            amount=amount,
            card=card,
            details=details,
            idempotency_key=_processor_key(kind, idempotency_key),
            description=payment.description,
        )

    if earlier := _act_once(session, operation, ask, new_payment=payment):
        return _replayed(session, earlier, digest)
    payment.processor_ref = operation.processor_ref
    session.flush()
    return payment


def capture(session: Session, payment_id: uuid.UUID, *, amount: Money | None = None, idempotency_key: str) -> Payment:
    """Take ``amount`` of an authorised payment (None: all of it) and release the rest of the hold.
    A payment is captured once."""
    _check_inputs(idempotency_key, amount)
    kind = OperationKind.CAPTURE
    payment = _locked(session, payment_id)
    digest = _request_hash(kind, payment.id, _requested(amount))
    if earlier := _earlier(session, kind, idempotency_key):
        return _replayed(session, earlier, digest)
    _refuse_unless(payment, kind)
    taking = payment.amount if amount is None else amount
    if taking > payment.amount:
        raise ValidationFailed({"amount": f"Capture at most {payment.amount}, the amount authorised."})

    chosen = processor(payment.processor)
    operation = _operation(payment, kind, idempotency_key, digest, taking)
    if earlier := _act_once(
        session,
        operation,
        lambda: chosen.capture(
            payment.processor_ref, amount=taking, idempotency_key=_processor_key(kind, idempotency_key)
        ),
    ):
        return _replayed(session, earlier, digest)
    payment.captured, payment.status, payment.captured_at = taking, CAPTURED.value, clock.now()
    session.flush()
    return payment


def void(session: Session, payment_id: uuid.UUID, *, idempotency_key: str) -> Payment:
    """Release the whole hold of an authorised payment that was not captured; nothing is taken."""
    _check_inputs(idempotency_key, None)
    kind = OperationKind.VOID
    payment = _locked(session, payment_id)
    digest = _request_hash(kind, payment.id)
    if earlier := _earlier(session, kind, idempotency_key):
        return _replayed(session, earlier, digest)
    _refuse_unless(payment, kind)

    chosen = processor(payment.processor)
    operation = _operation(payment, kind, idempotency_key, digest, payment.amount)
    if earlier := _act_once(
        session,
        operation,
        lambda: chosen.void(payment.processor_ref, idempotency_key=_processor_key(kind, idempotency_key)),
    ):
        return _replayed(session, earlier, digest)
    payment.status, payment.voided_at = VOIDED.value, clock.now()
    session.flush()
    return payment


def refund(
    session: Session,
    payment_id: uuid.UUID,
    *,
    amount: Money | None = None,
    idempotency_key: str,
    reason: str = "",
) -> Payment:
    """Give back ``amount`` of a captured payment (None: all that is left), in as many refunds as
    needed, up to what was captured. ``reason`` is kept with the refund (:func:`history`)."""
    errors: dict[str, str] = {}
    if amount is not None:
        _check_amount(amount, errors)
    _check_key(idempotency_key, errors)
    _check_text(reason, "reason", 200, errors, required=False)
    if errors:
        raise ValidationFailed(errors)
    kind = OperationKind.REFUND
    payment = _locked(session, payment_id)
    digest = _request_hash(kind, payment.id, _requested(amount))
    if earlier := _earlier(session, kind, idempotency_key):
        return _replayed(session, earlier, digest)
    _refuse_unless(payment, kind)
    left = payment.refundable
    giving = left if amount is None else amount
    if giving > left:
        raise ValidationFailed(
            {
                "amount": f"Refund at most {left}: {payment.captured} was captured and "
                f"{payment.refunded} of it has been refunded."
            }
        )

    chosen = processor(payment.processor)
    operation = _operation(payment, kind, idempotency_key, digest, giving, reason=reason.strip())
    if earlier := _act_once(
        session,
        operation,
        lambda: chosen.refund(
            payment.processor_ref, amount=giving, idempotency_key=_processor_key(kind, idempotency_key)
        ),
    ):
        return _replayed(session, earlier, digest)
    payment.refunded = payment.refunded + giving
    payment.status = (REFUNDED if payment.refunded == payment.captured else PARTLY_REFUNDED).value
    payment.refunded_at = clock.now()
    session.flush()
    return payment


def payment_for(session: Session, subject_type: str, subject_id: str) -> Payment | None:
    """The latest payment of a subject (a visit paid again after a void has two), or None."""
    return session.scalar(
        select(Payment)
        .where(Payment.subject_type == subject_type, Payment.subject_id == subject_id)
        .order_by(Payment.created_at.desc())
        .limit(1)
    )


def history(session: Session, payment_id: uuid.UUID) -> list[PaymentOperation]:
    """What was done to a payment, oldest first: its authorisation, then its capture or void, then
    its refunds."""
    return list(
        session.scalars(
            select(PaymentOperation)
            .where(PaymentOperation.payment_id == payment_id)
            .order_by(PaymentOperation.created_at)
        )
    )


# ---------------------------------------------------------------- acting once


def _earlier(session: Session, kind: OperationKind, key: str) -> PaymentOperation | None:
    return session.scalar(
        select(PaymentOperation)
        .where(PaymentOperation.kind == kind.value, PaymentOperation.idempotency_key == key)
        .execution_options(populate_existing=True)
    )


def _replayed(session: Session, earlier: PaymentOperation, digest: str) -> Payment:
    """The payment of an operation already done with this key, if it was this same request."""
    if earlier.request_hash != digest:
        raise Conflict(
            f"This idempotency key was already used for another {earlier.kind} request. "
            "Use a new key for a new request."
        )
    payment = session.get(Payment, earlier.payment_id, populate_existing=True)
    if payment is None:  # pragma: no cover - the foreign key keeps an operation's payment
        raise NotFound("There is no such payment.")
    return payment


def _act_once(
    session: Session,
    operation: PaymentOperation,
    ask: Callable[[], ProcessorResult],
    *,
    new_payment: Payment | None = None,
) -> PaymentOperation | None:
    """Claim the key (insert the operation, and a new payment), then ``ask`` the processor and keep
    its reference on the operation: None when done. The operation already done with the key when a
    concurrent request claimed it first. If the processor raises, nothing of this stays."""
    savepoint = session.begin_nested()
    try:
        session.add_all([*([new_payment] if new_payment else []), operation])
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        earlier = _earlier(session, OperationKind(operation.kind), operation.idempotency_key)
        if earlier is None:  # not the key: another constraint (e.g. an unknown patient id)
            raise
        return earlier
    try:
        result = ask()
    except BaseException:
        savepoint.rollback()
        raise
    operation.processor_ref = result.reference
    session.flush()
    savepoint.commit()
    return None


def _operation(
    payment: Payment, kind: OperationKind, key: str, digest: str, amount: Money, *, reason: str = ""
) -> PaymentOperation:
    return PaymentOperation(
        payment_id=payment.id,
        kind=kind.value,
        idempotency_key=key,
        request_hash=digest,
        amount=amount,
        processor_ref="",
        reason=reason,
        created_at=clock.now(),
    )


def _request_hash(*parts: object) -> str:
    return hashlib.sha256("\n".join(str(part) for part in parts).encode()).hexdigest()


def _requested(amount: Money | None) -> str:
    """An amount as a request gives it: "all" is not the same request as its figure today."""
    return "all" if amount is None else str(amount.cents)


def _processor_key(kind: OperationKind, key: str) -> str:
    """The key sent to the processor, whose keys are one space for every kind of request."""
    return f"careplane:{kind.value}:{key}"


# ---------------------------------------------------------------- rules


def _locked(session: Session, payment_id: uuid.UUID) -> Payment:
    payment = session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    if payment is None:
        raise NotFound("There is no such payment.")
    return payment


#: The statuses each operation starts from.
_ALLOWED_FROM = {
    OperationKind.CAPTURE: {AUTHORISED},
    OperationKind.VOID: {AUTHORISED},
    OperationKind.REFUND: {CAPTURED, PARTLY_REFUNDED},
}

#: Why an operation cannot follow a status (status, operation) -> the reason.
_REFUSALS = {
    (VOIDED, OperationKind.CAPTURE): "This payment was voided; it cannot be captured.",
    (VOIDED, OperationKind.VOID): "This payment was already voided.",
    (VOIDED, OperationKind.REFUND): "This payment was voided, so nothing was taken; it cannot be refunded.",
    (AUTHORISED, OperationKind.REFUND): "This payment has not been captured; it cannot be refunded. Void it instead.",
    (REFUNDED, OperationKind.REFUND): "This payment was refunded in full; nothing is left to refund.",
}


def _refuse_unless(payment: Payment, kind: OperationKind) -> None:
    status = PaymentStatus(payment.status)
    if status in _ALLOWED_FROM[kind]:
        return
    if reason := _REFUSALS.get((status, kind)):
        raise Conflict(reason)
    # Captured, and perhaps refunded since: it cannot be captured again or voided.
    if kind is OperationKind.CAPTURE:
        raise Conflict("This payment was already captured; it cannot be captured again.")
    raise Conflict("This payment was captured; it cannot be voided. Refund it instead.")


# ---------------------------------------------------------------- input


def _check_inputs(key: str, amount: Money | None) -> None:
    errors: dict[str, str] = {}
    if amount is not None:
        _check_amount(amount, errors)
    _check_key(key, errors)
    if errors:
        raise ValidationFailed(errors)


def _check_amount(amount: Money, errors: dict[str, str]) -> None:
    if not isinstance(amount, Money):
        raise TypeError(f"A payment's amount is Money, not {type(amount).__name__}: {amount!r}")
    if amount <= ZERO:
        errors["amount"] = f"The amount must be more than {ZERO}; {amount} is not."


def _check_key(key: str, errors: dict[str, str]) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        errors["idempotency_key"] = f"Use 1 to {MAX_KEY_LENGTH} printable characters, e.g. a UUID."


def _check_text(value: str, name: str, limit: int, errors: dict[str, str], *, required: bool) -> None:
    if required and not value.strip():
        errors[name] = f"Give the {name.replace('_', ' ')}."
    elif len(value) > limit:
        errors[name] = f"Use at most {limit} characters for the {name.replace('_', ' ')}."
