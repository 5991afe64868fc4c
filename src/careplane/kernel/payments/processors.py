"""Which processor takes payments: the ``payment_processor`` setting, made into one by :func:`processor`."""

from __future__ import annotations

from collections.abc import Callable

from careplane.kernel.payments.local_processor import LocalProcessor
from careplane.kernel.payments.port import PaymentProcessor
from careplane.settings import Settings, get_settings

#: Setting value -> how to make that processor. An adapter adds its name here and to
#: ``Settings.payment_processor`` (docs/payments.md).
PROCESSORS: dict[str, Callable[[Settings], PaymentProcessor]] = {
    "local": lambda _settings: LocalProcessor(),
}


def processor(name: str | None = None, settings: Settings | None = None) -> PaymentProcessor:
    """The processor called ``name`` (a payment's ``processor``: the one that holds it, even after the
    setting changed), or the configured one for new payments. The local one approves any well-formed
    card without taking money, so it is refused in production, where it would give visits away."""
    settings = settings or get_settings()
    name = name or settings.payment_processor
    if name not in PROCESSORS:
        raise RuntimeError(f"no payment processor is called {name!r}; there are: {', '.join(sorted(PROCESSORS))}")
    if name == "local" and settings.environment == "production":
        raise RuntimeError(
            "the 'local' payment processor takes only test cards and moves no money; production needs "
            "a real processor's adapter in CAREPLANE_PAYMENT_PROCESSOR (docs/payments.md)"
        )
    return PROCESSORS[name](settings)
