"""The field rules of an allergy entry, with a message per field (:class:`ValidationFailed`), shared
by the JSON API, the chart form and the portal form through the service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from careplane.kernel.errors import ValidationFailed
from careplane.kernel.patients.allergies.models import (
    REACTION_MAX,
    SUBSTANCE_MAX,
    AllergyCategory,
    AllergyCriticality,
    AllergySource,
    AllergyStatus,
)

NEW_FIELDS = frozenset({"substance", "category", "reaction", "criticality", "source"})
#: What changes after recording: the substance and category stay (a wrong one is entered in error).
CHANGEABLE_FIELDS = frozenset({"status", "reaction", "criticality"})

_CHOOSE = {
    "category": "Choose medication, food, environment or biologic.",
    "criticality": "Choose low, high or unable-to-assess.",
    "status": "Choose active, inactive or entered-in-error.",
    "source": "Choose patient-reported or clinician.",
}
_CODES: dict[str, frozenset[str]] = {
    "category": frozenset(AllergyCategory),
    "criticality": frozenset(AllergyCriticality),
    "status": frozenset(AllergyStatus),
    "source": frozenset(AllergySource),
}


def substance_key(substance: str) -> str:
    """The form two entries of one substance share: "penicillin" for " PENICILLIN " and "Penicillin"."""
    return " ".join(substance.split()).casefold()


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _code(name: str, value: Any, errors: dict[str, str]) -> str | None:
    text = _text(value).lower()
    if text not in _CODES[name]:
        errors[name] = _CHOOSE[name]
        return None
    return text


def _reaction(value: Any, errors: dict[str, str]) -> str | None:
    text = _text(value)
    if len(text) > REACTION_MAX:
        errors["reaction"] = f"Describe the reaction in at most {REACTION_MAX} characters."
    return text or None


def _unknown(data: Mapping[str, Any], known: frozenset[str]) -> dict[str, str]:
    return {name: "Unknown field." for name in data if name not in known}


def clean_new_allergy(data: Mapping[str, Any], *, by_patient: bool) -> dict[str, Any]:
    """The columns of a new entry, or every field's problem at once. A patient's own entries are
    patient-reported; staff record either, clinician by default."""
    errors = _unknown(data, NEW_FIELDS)
    substance = _text(data.get("substance"))
    if not substance:
        errors["substance"] = "Enter the substance, e.g. Penicillin."
    elif len(substance) > SUBSTANCE_MAX:
        errors["substance"] = f"Use at most {SUBSTANCE_MAX} characters."
    category = _code("category", data.get("category"), errors)
    criticality = _code("criticality", data.get("criticality") or AllergyCriticality.UNABLE_TO_ASSESS, errors)
    default_source = AllergySource.PATIENT_REPORTED if by_patient else AllergySource.CLINICIAN
    source = _code("source", data.get("source") or default_source, errors)
    if by_patient and source not in (None, AllergySource.PATIENT_REPORTED):
        errors["source"] = "What you add yourself is recorded as patient-reported."
    reaction = _reaction(data.get("reaction"), errors)
    if errors:
        raise ValidationFailed(errors)
    return {
        "substance": substance,
        "substance_key": substance_key(substance),
        "category": category,
        "reaction": reaction,
        "criticality": criticality,
        "source": source,
    }


def clean_allergy_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The columns a change sets (status, reaction, criticality), or every field's problem at once."""
    errors = _unknown(changes, CHANGEABLE_FIELDS)
    cleaned: dict[str, Any] = {}
    for name in ("status", "criticality"):
        if name in changes:
            cleaned[name] = _code(name, changes[name], errors)
    if "reaction" in changes:
        cleaned["reaction"] = _reaction(changes["reaction"], errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned
