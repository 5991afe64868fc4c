"""A processor's refusal to authorise, as the patient reads it: :class:`PaymentDeclined`.

It is a :class:`~careplane.kernel.errors.ValidationFailed` keyed by the card field the patient can
act on, so a payment form shows it where it shows a mistyped number (``web.attempt`` catches it),
and the JSON API answers it as a problem with the field and the decline ``code``.
"""

from __future__ import annotations

from careplane.kernel.errors import ValidationFailed

#: Decline code -> (the card field it concerns, what the patient is told). The codes are the ones
#: processors commonly use (Stripe's among them), so an adapter passes its processor's code through.
DECLINES: dict[str, tuple[str, str]] = {
    "card_declined": (
        "card_number",
        "Your card was declined. Try another card, or ask your bank why.",
    ),
    "insufficient_funds": (
        "card_number",
        "Your card was declined (insufficient funds). Try another card.",
    ),
    "expired_card": (
        "card_expiry",
        "Your card has expired, says your bank. Check the expiry date, or try another card.",
    ),
    "incorrect_cvc": (
        "card_cvc",
        "The security code is not the one your bank has. Check it on your card and try again.",
    ),
    "incorrect_number": (
        "card_number",
        "Your bank does not know this card number. Check it and try again.",
    ),
}


class PaymentDeclined(ValidationFailed):
    """The processor refused the card; nothing was charged or held and nothing was stored.

    ``code`` is the reason (a key of :data:`DECLINES`; an unknown code reads as ``card_declined``)."""

    title = "Payment declined"
    type_slug = "payment-declined"

    def __init__(self, code: str) -> None:
        field, message = DECLINES.get(code, DECLINES["card_declined"])
        super().__init__({field: message})
        self.code = code if code in DECLINES else "card_declined"
        self.extensions = {"code": self.code}
