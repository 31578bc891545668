"""Vaccinations and allergies of the profile as FHIR, as the DMP export writes them."""

from __future__ import annotations

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.immunization import Immunization

from dossier.fhir import ALLERGY_CLINICAL, CRITICALITY
from dossier.fhir_api import validated
from dossier.models import Allergy, Vaccination


def _out(model, resource: dict) -> dict:
    return validated(model, resource)


def immunization(vaccination: Vaccination, patient_ref: str) -> dict:
    resource = {
        "resourceType": "Immunization",
        "id": str(vaccination.pk),
        "status": "completed",
        "vaccineCode": {"text": vaccination.vaccine},
        "patient": {"reference": patient_ref},
        "occurrenceDateTime": vaccination.date.isoformat(),
    }
    if vaccination.lot:
        resource["lotNumber"] = vaccination.lot
    if vaccination.given_by:
        resource["performer"] = [{"actor": {"display": vaccination.given_by}}]
    return _out(Immunization, resource)


def allergy_intolerance(allergy: Allergy, patient_ref: str) -> dict:
    resource = {
        "resourceType": "AllergyIntolerance",
        "id": str(allergy.pk),
        "clinicalStatus": {
            "coding": [{"system": ALLERGY_CLINICAL, "code": "active", "display": "Active"}]
        },
        "criticality": CRITICALITY.get(allergy.severity, "unable-to-assess"),
        "code": {"text": allergy.substance},
        "patient": {"reference": patient_ref},
    }
    if allergy.reaction:
        resource["reaction"] = [
            {"manifestation": [{"text": allergy.reaction}], "severity": allergy.severity}
        ]
    return _out(AllergyIntolerance, resource)
