"""Observations ↔ the profile's measurements (weight, height, blood pressure, glycaemia):
LOINC codes and UCUM units, as the DMP export writes them (`dossier.fhir`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from fhir.resources.R4B.observation import Observation

from dossier.fhir import DIASTOLIC, MEASUREMENT_CODES, SYSTOLIC, VITAL_SIGNS, _number
from dossier.fhir_api import validated
from dossier.models import Measurement

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
BY_LOINC = {code.code: kind for kind, code in MEASUREMENT_CODES.items()}
# What each unit is worth in the unit the measurement is stored in.
CONVERSIONS = {
    Measurement.Kind.WEIGHT: {"kg": Decimal(1), "g": Decimal("0.001")},
    Measurement.Kind.HEIGHT: {"cm": Decimal(1), "m": Decimal(100)},
    Measurement.Kind.BLOOD_PRESSURE: {"mm[Hg]": Decimal(1)},
    Measurement.Kind.GLYCAEMIA: {
        "g/L": Decimal(1),
        "mg/dL": Decimal("0.01"),
        "mmol/L": Decimal("0.18016"),
    },
}


class Unreadable(ValueError):
    """The observation is valid FHIR but not a measurement this space keeps (422)."""


def to_fhir(measurement: Measurement, patient_ref: str) -> dict:
    code = MEASUREMENT_CODES[measurement.kind]
    category = "vital-signs" if measurement.kind in VITAL_SIGNS else "laboratory"
    resource = {
        "resourceType": "Observation",
        "id": str(measurement.pk),
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": category,
                    }
                ]
            }
        ],
        "code": code.concept(),
        "subject": {"reference": patient_ref},
        "effectiveDateTime": measurement.measured_on.isoformat(),
    }
    if measurement.kind == Measurement.Kind.BLOOD_PRESSURE:
        resource["component"] = [
            {"code": SYSTOLIC.concept(), "valueQuantity": SYSTOLIC.quantity(measurement.value)}
        ]
        if measurement.value2 is not None:
            resource["component"].append(
                {
                    "code": DIASTOLIC.concept(),
                    "valueQuantity": DIASTOLIC.quantity(measurement.value2),
                }
            )
    else:
        resource["valueQuantity"] = code.quantity(measurement.value)
    # Built, then validated by fhir.resources on the way out.
    return validated(Observation, resource)


def _loinc_codes(concept) -> list[str]:
    return [c.code for c in (concept.coding or []) if c.system in (LOINC, None) and c.code]


def _value(quantity, kind: str) -> Decimal:
    if quantity is None or quantity.value is None:
        raise Unreadable("L'observation n'a pas de valeur.")
    unit = quantity.code or quantity.unit
    factor = CONVERSIONS[kind].get(unit)
    if factor is None:
        raise Unreadable(f"Unité non prise en charge pour cette mesure : {unit or 'aucune'}.")
    try:
        return (Decimal(str(quantity.value)) * factor).quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise Unreadable("Valeur illisible.") from error


def _day(observation: Observation) -> date:
    effective = observation.effectiveDateTime
    if effective is None:
        raise Unreadable("Indiquez la date de la mesure (effectiveDateTime).")
    return effective if not hasattr(effective, "date") else effective.date()


def from_fhir(observation: Observation) -> dict:
    """The measurement's values (kind, value, value2, measured_on), or `Unreadable`."""
    kind = next((BY_LOINC[c] for c in _loinc_codes(observation.code) if c in BY_LOINC), None)
    if kind is None:
        raise Unreadable(
            "Code LOINC non pris en charge : poids (29463-7), taille (8302-2), "
            "tension (85354-9) ou glycémie (2345-7)."
        )
    values = {"kind": kind, "measured_on": _day(observation)}
    if kind == Measurement.Kind.BLOOD_PRESSURE:
        parts = {}
        for component in observation.component or []:
            for code in _loinc_codes(component.code):
                parts[code] = component.valueQuantity
        if SYSTOLIC.code not in parts:
            raise Unreadable("Indiquez la tension systolique (composant 8480-6).")
        values["value"] = _value(parts[SYSTOLIC.code], kind)
        if DIASTOLIC.code in parts:
            values["value2"] = _value(parts[DIASTOLIC.code], kind)
    else:
        values["value"] = _value(observation.valueQuantity, kind)
    return values


def number(value: Decimal) -> int | float:
    return _number(value)
