"""Which processor takes payments: the setting, the one that holds a payment, and none in production
that takes only test cards."""

from __future__ import annotations

import pytest

from careplane.kernel.payments import LocalProcessor, PaymentProcessor, processor
from careplane.settings import Settings


def test_the_local_processor_is_the_default_and_fits_the_port() -> None:
    chosen = processor(settings=Settings(_env_file=None))
    assert isinstance(chosen, LocalProcessor) and chosen.name == "local"
    port: PaymentProcessor = chosen  # mypy checks the structure; this checks the import
    assert port is chosen


def test_the_local_processor_is_refused_in_production() -> None:
    with pytest.raises(RuntimeError, match="takes only test cards"):
        processor(settings=Settings(environment="production", _env_file=None))


def test_an_unknown_processor_name_is_refused() -> None:
    with pytest.raises(RuntimeError, match="no payment processor is called 'stripe'"):
        processor("stripe", settings=Settings(_env_file=None))
