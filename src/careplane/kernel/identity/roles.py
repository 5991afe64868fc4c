"""The roles people hold, and which of them are staff (and so must use MFA)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PATIENT = "patient"
    CLINICIAN = "clinician"
    PHARMACIST = "pharmacist"
    PHARMACY_TECHNICIAN = "pharmacy_technician"
    BILLER = "biller"
    EMPLOYER_ADMIN = "employer_admin"
    OPERATIONS_LEAD = "operations_lead"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_staff(self) -> bool:
        return self is not Role.PATIENT


STAFF_ROLES = frozenset(r for r in Role if r.is_staff)
