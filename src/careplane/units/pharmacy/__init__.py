"""Pharmacy: e-prescriptions, safety checks, pharmacist verification, prices, fulfilment, refills.

The unit's public face: its declaration (``UNIT``, how it plugs into the platform: see
:mod:`careplane.kernel.units`) and the read-only queries other units may call. So far those read
the drug catalog, which prescribers choose from:

- :func:`search_drugs` ``(query, limit=20) -> list[Product]``: ingredient, brand, strength, RxCUI
  or NDC, typos forgiven, best first;
- :func:`drug` ``(product_id) -> Product``, raising :class:`~careplane.kernel.errors.NotFound`;
- :func:`match_drug` ``(name, strength) -> Product | None``: the product a protocol's or a
  prescription's drug name and strength mean;
- :func:`allergy_conflicts` ``(product_id, allergies) -> list[str]``: why the product may be
  unsafe for someone with these recorded allergies ("Penicillin allergy: amoxicillin is a penicillin").

It receives the prescriptions Virtual Care signs (``PrescriptionSigned``, :mod:`.handlers`) and
its pharmacists verify them (:mod:`.services.verification`); see docs/units/pharmacy.md.
"""

from careplane.kernel.access import Permission
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.staff.service import PHARMACIST_LICENCE_KINDS
from careplane.kernel.units import NavEntry, QueueSpec, Unit
from careplane.units.pharmacy.catalog import AllergyClass, Product
from careplane.units.pharmacy.service import allergy_conflicts, drug, search_drugs
from careplane.units.pharmacy.service import match as match_drug

CODE = "pharmacy"
NAME = "Pharmacy"
_HERE = "careplane.units.pharmacy"

UNIT = Unit(
    code=CODE,
    name=NAME,
    package=__name__,
    order=30,
    # Dispensing finds and reads the patient, and corrects an address or phone.
    patient_permissions=frozenset({Permission.PATIENT_READ, Permission.PATIENT_SEARCH, Permission.PATIENT_UPDATE}),
    first_team="Verification",
    queues=(
        QueueSpec(
            "pharmacy.verify",
            "Verification queue",
            roles=(Role.PHARMACIST.value,),
            licence_kinds=PHARMACIST_LICENCE_KINDS,
            item_page="/pharmacy/prescriptions/{subject_id}",
        ),
    ),
    routers=(
        f"{_HERE}.api",
        f"{_HERE}.prescriptions_api",
        f"{_HERE}.pages",
        f"{_HERE}.prescription_pages",
    ),
    models=(f"{_HERE}.models",),
    handlers=(f"{_HERE}.handlers",),
    nav=(
        NavEntry("Verification queue", "/pharmacy/queue", role=Role.PHARMACIST, order=29),
        # The catalog is no patient data: any logged-in user may read it; pharmacists find it in their navigation.
        NavEntry("Drug catalog", "/pharmacy/drugs", role=Role.PHARMACIST, order=30),
    ),
    demo=f"{_HERE}.demo:seed",
)

__all__ = [
    "CODE",
    "NAME",
    "UNIT",
    "AllergyClass",
    "Product",
    "allergy_conflicts",
    "drug",
    "match_drug",
    "search_drugs",
]
