"""The safety checks a received prescription goes through before a pharmacist sees it.

Two checks so far, each finding an :class:`Alert` with a severity and a message the pharmacist reads:

* **allergy** (``high``): the patient's active allergies against the product, by the catalog's
  allergy classes and cross-sensitivities (:func:`careplane.units.pharmacy.allergies.conflicts`);
* **duplicate therapy** (``moderate``): another active prescription of the patient (received, held,
  or verified) of the same therapeutic class, e.g. two penicillin antibiotics at once.

:func:`findings` is pure (the catalog's products and the allergy texts in, alerts out); :func:`check`
reads what it needs from the database: the allergy list through the kernel, as the platform (the
check is the unit's own, run on receipt, and the read is audited like any other).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel.access import Actor
from careplane.kernel.patients.allergies.service import active_allergy_substances
from careplane.units.pharmacy import allergies
from careplane.units.pharmacy.catalog import Product, shipped
from careplane.units.pharmacy.models import Prescription
from careplane.units.pharmacy.prescription_states import RxStatus

HIGH = "high"
MODERATE = "moderate"
#: Prescriptions a patient is taking or about to: the ones a new one may duplicate.
ACTIVE = (RxStatus.RECEIVED.value, RxStatus.CONTACT_PRESCRIBER.value, RxStatus.VERIFIED.value)
SYSTEM = Actor.for_system("pharmacy")


@dataclass(frozen=True)
class Alert:
    kind: str  # allergy or duplicate_therapy
    severity: str  # high or moderate
    message: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def findings(product: Product, allergy_list: list[str], others: list[tuple[str, Product]]) -> list[Alert]:
    """The alerts for ``product`` given the patient's active allergy texts and their other active
    prescriptions (``(rx_number, product)``): allergy alerts first, as the more severe."""
    found = [Alert("allergy", HIGH, message) for message in allergies.conflicts(shipped(), product, allergy_list)]
    for rx_number, other in others:
        if other.therapeutic_class == product.therapeutic_class:
            found.append(
                Alert(
                    "duplicate_therapy",
                    MODERATE,
                    f"Duplicate therapy: {rx_number} ({other.name}) is also a {product.therapeutic_class.lower()}",
                )
            )
    return found


def check(session: Session, prescription: Prescription) -> list[Alert]:
    """Run every check for ``prescription`` against the patient's record as it is now."""
    product = shipped().get(prescription.drug_id)
    if product is None:  # the catalog lost a product that a signed prescription names
        return [Alert("catalog", HIGH, f"The drug catalog has no product '{prescription.drug_id}' any more")]
    others = session.execute(
        select(Prescription.rx_number, Prescription.drug_id).where(
            Prescription.patient_id == prescription.patient_id,
            Prescription.status.in_(ACTIVE),
            Prescription.id != prescription.id,
        )
    ).all()
    active = [(rx, p) for rx, drug_id in others if (p := shipped().get(drug_id)) is not None]
    substances = active_allergy_substances(session, SYSTEM, prescription.patient_id)
    return findings(product, substances, active)


def has_high(alerts: list[dict[str, Any]]) -> bool:
    """Whether any stored alert is high severity (approving it then needs an override reason)."""
    return any(a.get("severity") == HIGH for a in alerts)
