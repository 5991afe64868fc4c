"""The allergy list as FHIR R4 AllergyIntolerance resources (plain dicts), for the units that speak
FHIR (Health Technology's API, a referral's summary). Checked with fhir.resources in the tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from careplane.kernel.patients.allergies.models import AllergySource, AllergyStatus, PatientAllergy
from careplane.kernel.patients.models import Patient

CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
SNOMED = "http://snomed.info/sct"
#: SNOMED CT "No known allergy": FHIR's way to say that someone asked and there is none.
NO_KNOWN_ALLERGY = ("716186003", "No known allergy")


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _patient_reference(patient: Patient) -> dict[str, str]:
    return {"reference": f"Patient/{patient.id}", "display": patient.display_name}


def as_fhir(allergy: PatientAllergy, patient: Patient) -> dict[str, Any]:
    """One entry as an R4 AllergyIntolerance. What the patient reported is ``unconfirmed`` until a
    clinician records it; an entry entered in error has no clinical status (FHIR rule ait-2)."""
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": str(allergy.id),
        "meta": {"lastUpdated": _instant(allergy.updated_at)},
    }
    if allergy.status == AllergyStatus.ENTERED_IN_ERROR:
        resource["verificationStatus"] = _coded(VERIFICATION, "entered-in-error")
    else:
        resource["clinicalStatus"] = _coded(CLINICAL, allergy.status)
        confirmed = allergy.source == AllergySource.CLINICIAN
        resource["verificationStatus"] = _coded(VERIFICATION, "confirmed" if confirmed else "unconfirmed")
    resource.update(
        category=[allergy.category],
        criticality=allergy.criticality,
        code={"text": allergy.substance},
        patient=_patient_reference(patient),
        recordedDate=_instant(allergy.recorded_at),
        recorder={"display": allergy.recorded_by},
    )
    if allergy.source == AllergySource.PATIENT_REPORTED:
        resource["asserter"] = _patient_reference(patient)
    if allergy.reaction:
        resource["reaction"] = [{"manifestation": [{"text": allergy.reaction}]}]
    return resource


def no_known_allergies_fhir(patient: Patient) -> dict[str, Any] | None:
    """The patient's "no known allergies" statement as the AllergyIntolerance FHIR uses for it
    (SNOMED CT 716186003), or None when no one has said so."""
    if patient.no_known_allergies_at is None:
        return None
    code, display = NO_KNOWN_ALLERGY
    return {
        "resourceType": "AllergyIntolerance",
        "id": f"{patient.id}-nka",
        "clinicalStatus": _coded(CLINICAL, "active"),
        "verificationStatus": _coded(VERIFICATION, "confirmed"),
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display},
        "patient": _patient_reference(patient),
        "recordedDate": _instant(patient.no_known_allergies_at),
        "recorder": {"display": patient.no_known_allergies_by or "unknown"},
    }
