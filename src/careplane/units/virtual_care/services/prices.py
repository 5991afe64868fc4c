"""The price list of the condition catalog: what a visit costs a patient in each state."""

from __future__ import annotations

from dataclasses import dataclass

from careplane.kernel.errors import NotFound, ValidationFailed
from careplane.kernel.money import Money
from careplane.kernel.patients.validation import US_STATES, check_state
from careplane.units.virtual_care.catalog import VISIT_TYPES, Condition, shipped


@dataclass(frozen=True)
class PricedCondition:
    """A condition with what a visit costs a patient located in ``state``."""

    condition: Condition
    state: str
    prices: dict[str, Money]  # per visit type


def checked_state_and_visit_type(state: str, visit_type: str | None) -> tuple[str, str | None]:
    """The state's USPS code and the visit type, or one :class:`ValidationFailed` naming both problems."""
    errors: dict[str, str] = {}
    code, problem = check_state(state)
    if problem or not code:
        errors["state"] = problem or "Give the two-letter code of the state you are in (such as NY)."
    if visit_type is not None and visit_type not in VISIT_TYPES:
        errors["visit_type"] = f"Choose one of {', '.join(VISIT_TYPES)}."
    if errors:
        raise ValidationFailed(errors)
    assert code is not None
    return code, visit_type


def price_list(state: str, visit_type: str | None = None) -> list[PricedCondition]:
    """Every condition of the catalog with its prices in ``state`` (only ``visit_type``'s, when given)."""
    code, kind = checked_state_and_visit_type(state, visit_type)
    kinds = (kind,) if kind else VISIT_TYPES
    return [
        PricedCondition(c, code, {k: Money(c.prices.for_visit(k, code)) for k in kinds}) for c in shipped().conditions
    ]


def condition(code: str) -> Condition:
    found = shipped().get(code)
    if found is None:
        raise NotFound(f"Virtual Care treats no condition with the code '{code}'.")
    return found


STATE_CHOICES: list[tuple[str, str]] = sorted(((c, f"{n} ({c})") for c, n in US_STATES.items()), key=lambda c: c[1])
