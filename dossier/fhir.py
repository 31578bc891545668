"""The DMP as a FHIR R4 Bundle: the machine-readable half of the space's download.

`build_bundle(space)` returns a Bundle of type "collection" that another system
(or `manage.py import_dmp`) can read back. `export_bundle` adds it to the ZIP as
`dmp.fhir.json`, beside the files of the documents it points at.

The mapping, and the choices it makes:

- Patient: the INS (NIR) as identifier, system `urn:oid:1.2.250.1.213.1.4.8`; birth
  name, first names, birth date, gender (F/M → female/male).
- AllergyIntolerance: the substance as `code.text`. Our three severities go to
  `reaction.severity` (mild/moderate/severe, the same three values) when a reaction is
  recorded, since FHIR only puts a severity on a reaction; `criticality` says "high"
  for a severe allergy and "low" otherwise (without a reaction, mild and moderate
  both read back as moderate).
- Condition, for both kinds of history. FHIR's own place for a relative's illness,
  FamilyMemberHistory, is not one of the resources of this export, so a family
  history is a Condition about the holder, told apart by its category: SNOMED CT
  416471007 "Family history of clinical finding" (text "Antécédent familial"); a
  personal one has 417662000 "History of clinical finding in subject" (text
  "Antécédent personnel"). No clinicalStatus: the profile does not say whether
  the illness is over. The year goes to `onsetDateTime` (a FHIR partial date),
  the notes to `note`.
- MedicationStatement (status "active"): the medicine as
  `medicationCodeableConcept.text`, the posology as `dosage.text`, "since" as
  `effectivePeriod.start`, the prescriber's name as `informationSource.display`
  (the profile holds a name, not a Practitioner).
- Immunization (status "completed"): vaccine as `vaccineCode.text`,
  `occurrenceDateTime`, `lotNumber`, who gave it as `performer.actor.display`.
- Observation: weight 29463-7 (kg), height 8302-2 (cm), blood pressure 85354-9
  with components 8480-6 / 8462-4 (mm[Hg]), glycaemia 2345-7 (g/L), UCUM units.
  The BMI, 39156-5 (kg/m2), is derived from the latest weight and the latest height
  (as the profile page shows it) and points at them with `derivedFrom`; an import
  leaves it out, it is computed again.
- DocumentReference, one per document of the download (those the export decision,
  `acces.policy.export_decision`, lets the requester see): masterIdentifier `urn:uuid:<public_id>`,
  status current/superseded, `relatesTo` "replaces" for versions, type = the LOINC
  code and label, `date` when it was added, `context.period.start` the date of the
  act, description = title, author by name (and RPPS as an identifier when a
  professional of this service wrote it), `securityLabel` R (restricted) when the
  holder masked it from professionals, N otherwise. `content.attachment.url` is the
  relative path of its file in the ZIP; `hash` is the SHA-1 of the content in base64,
  as FHIR defines it.

Every resource has an `id`, its entry's fullUrl is `urn:uuid:<id>`, and every
reference to the holder is the Patient's urn. Ids are derived from the space's and
rows' identifiers, so two downloads of the same space name the same things alike.
Other parts add their resources through `register_resources` (messaging: one
Communication per message, `messagerie.export.communications`), so the download holds
one Bundle whose resources all refer to the same Patient.
The medical profile's single-valued parts (blood group, trusted person, directives,
organ donation) and the emergency contacts are not in this Bundle yet.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from acces.policy import Decision, export_decision
from dossier.models import Allergy, Document, HistoryEntry, Measurement
from dossier.profile import bmi, latest_by_kind
from dossier.services import exported_documents, read_content
from espace_sante.models import Patient, Space

FILENAME = "dmp.fhir.json"

INS_NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"  # idNat_PS: "8" + RPPS
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
URI_SYSTEM = "urn:ietf:rfc:3986"

GENDERS = {Patient.Sex.FEMALE: "female", Patient.Sex.MALE: "male"}

PERSONAL_HISTORY = ("417662000", "History of clinical finding in subject", "Antécédent personnel")
FAMILY_HISTORY = ("416471007", "Family history of clinical finding", "Antécédent familial")
HISTORY_CATEGORIES = {
    HistoryEntry.Kind.PERSONAL: PERSONAL_HISTORY,
    HistoryEntry.Kind.FAMILY: FAMILY_HISTORY,
}

CRITICALITY = {
    Allergy.Severity.MILD: "low",
    Allergy.Severity.MODERATE: "low",
    Allergy.Severity.SEVERE: "high",
}


@dataclass(frozen=True)
class Code:
    """A LOINC code of the measurements, with its display and UCUM unit."""

    code: str
    display: str
    text: str
    unit: str = ""  # UCUM code
    symbol: str = ""  # how the unit is written for people, when not as its code

    def concept(self) -> dict:
        return {
            "coding": [{"system": LOINC, "code": self.code, "display": self.display}],
            "text": self.text,
        }

    def quantity(self, value: Decimal) -> dict:
        unit = self.symbol or self.unit
        return {"value": _number(value), "unit": unit, "system": UCUM, "code": self.unit}


MEASUREMENT_CODES = {
    Measurement.Kind.WEIGHT: Code("29463-7", "Body weight", "Poids", "kg"),
    Measurement.Kind.HEIGHT: Code("8302-2", "Body height", "Taille", "cm"),
    Measurement.Kind.BLOOD_PRESSURE: Code(
        "85354-9", "Blood pressure panel with all children optional", "Tension artérielle"
    ),
    Measurement.Kind.GLYCAEMIA: Code(
        "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "Glycémie", "g/L"
    ),
}
SYSTOLIC = Code("8480-6", "Systolic blood pressure", "Tension systolique", "mm[Hg]", "mmHg")
DIASTOLIC = Code("8462-4", "Diastolic blood pressure", "Tension diastolique", "mm[Hg]", "mmHg")
BMI = Code("39156-5", "Body mass index (BMI) [Ratio]", "Indice de masse corporelle", "kg/m2")
# Laboratory for glycaemia, vital signs for the others.
VITAL_SIGNS = {Measurement.Kind.WEIGHT, Measurement.Kind.HEIGHT, Measurement.Kind.BLOOD_PRESSURE}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _instant(value: datetime) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def _day(value: date) -> str:
    return value.isoformat()


def _id(space: Space, name: str) -> str:
    return str(uuid.uuid5(space.public_id, name))


def _urn(resource_id: str) -> str:
    return f"urn:uuid:{resource_id}"


def _text(text: str) -> dict:
    return {"text": text}


def _category(system: str, code: str, display: str, text: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": text}


class _Bundle:
    def __init__(self, space: Space, decision: Decision):
        self.space = space
        self.decision = decision
        self.entries: list[dict] = []
        self.patient_ref = {"reference": _urn(_id(space, "patient"))}

    def add(self, resource_id: str, resource: dict) -> str:
        resource_type = resource.pop("resourceType")
        self.entries.append(
            {
                "fullUrl": _urn(resource_id),
                "resource": {"resourceType": resource_type, "id": resource_id, **resource},
            }
        )
        return _urn(resource_id)

    def row_id(self, obj: Any) -> str:
        return _id(self.space, f"{type(obj).__name__.lower()}/{obj.pk}")


def _patient(bundle: _Bundle) -> None:
    holder = bundle.space.holder
    resource = {
        "resourceType": "Patient",
        "identifier": [{"use": "official", "system": INS_NIR_SYSTEM, "value": holder.nir}],
        "name": [
            {"use": "official", "family": holder.last_name, "given": holder.first_names.split()}
        ],
        "birthDate": _day(holder.birth_date),
    }
    if holder.sex in GENDERS:
        resource["gender"] = GENDERS[holder.sex]
    if holder.death_date:
        resource["deceasedDateTime"] = _day(holder.death_date)
    bundle.add(_id(bundle.space, "patient"), resource)


def _allergies(bundle: _Bundle) -> None:
    for allergy in bundle.space.profile_allergies.all():
        resource = {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": {
                "coding": [{"system": ALLERGY_CLINICAL, "code": "active", "display": "Active"}]
            },
            "criticality": CRITICALITY.get(allergy.severity, "unable-to-assess"),
            "code": _text(allergy.substance),
            "patient": bundle.patient_ref,
        }
        if allergy.reaction:
            resource["reaction"] = [
                {"manifestation": [_text(allergy.reaction)], "severity": allergy.severity}
            ]
        bundle.add(bundle.row_id(allergy), resource)


def _history(bundle: _Bundle) -> None:
    for entry in bundle.space.profile_history.all():
        code, display, text = HISTORY_CATEGORIES[entry.kind]
        resource = {
            "resourceType": "Condition",
            "category": [_category(SNOMED, code, display, text)],
            "code": _text(entry.condition),
            "subject": bundle.patient_ref,
        }
        if entry.year:
            resource["onsetDateTime"] = f"{entry.year:04d}"
        if entry.notes:
            resource["note"] = [_text(entry.notes)]
        bundle.add(bundle.row_id(entry), resource)


def _treatments(bundle: _Bundle) -> None:
    for treatment in bundle.space.profile_treatments.all():
        resource = {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": _text(treatment.medicine),
            "subject": bundle.patient_ref,
        }
        if treatment.since:
            resource["effectivePeriod"] = {"start": _day(treatment.since)}
        if treatment.prescriber:
            resource["informationSource"] = {"display": treatment.prescriber}
        if treatment.dosage:
            resource["dosage"] = [_text(treatment.dosage)]
        bundle.add(bundle.row_id(treatment), resource)


def _vaccinations(bundle: _Bundle) -> None:
    for vaccination in bundle.space.profile_vaccinations.all():
        resource = {
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": _text(vaccination.vaccine),
            "patient": bundle.patient_ref,
            "occurrenceDateTime": _day(vaccination.date),
        }
        if vaccination.lot:
            resource["lotNumber"] = vaccination.lot
        if vaccination.given_by:
            resource["performer"] = [{"actor": {"display": vaccination.given_by}}]
        bundle.add(bundle.row_id(vaccination), resource)


def _observation(bundle: _Bundle, code: Code, on: date, *, vital_sign: bool) -> dict:
    category = (
        _category(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs", "Signes vitaux")
        if vital_sign
        else _category(OBSERVATION_CATEGORY, "laboratory", "Laboratory", "Biologie")
    )
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [category],
        "code": code.concept(),
        "subject": bundle.patient_ref,
        "effectiveDateTime": _day(on),
    }


def _measurements(bundle: _Bundle) -> None:
    measurements = list(bundle.space.profile_measurements.all())
    urns: dict[int, str] = {}
    for measurement in measurements:
        code = MEASUREMENT_CODES[measurement.kind]
        resource = _observation(
            bundle, code, measurement.measured_on, vital_sign=measurement.kind in VITAL_SIGNS
        )
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
        urns[measurement.pk] = bundle.add(bundle.row_id(measurement), resource)

    latest = latest_by_kind(measurements)
    weight, height = latest.get(Measurement.Kind.WEIGHT), latest.get(Measurement.Kind.HEIGHT)
    if weight is None or height is None:
        return
    value = bmi(weight.value, height.value)
    if value is None:
        return
    on = max(weight.measured_on, height.measured_on)
    resource = _observation(bundle, BMI, on, vital_sign=True)
    resource["valueQuantity"] = BMI.quantity(value)
    resource["derivedFrom"] = [{"reference": urns[weight.pk]}, {"reference": urns[height.pk]}]
    bundle.add(_id(bundle.space, f"bmi/{weight.pk}/{height.pk}"), resource)


def _author(document: Document) -> dict:
    author: dict[str, Any] = {"display": document.author_label}
    professional = document.author_professional
    if professional is not None:
        author["identifier"] = {"system": RPPS_SYSTEM, "value": f"8{professional.rpps}"}
    return author


def _documents(bundle: _Bundle) -> None:
    exported = exported_documents(bundle.space, bundle.decision)
    in_bundle = {document.pk: document for document, _path in exported}
    replaced = {
        d.pk: d.public_id
        for d in Document.objects.filter(
            pk__in=[doc.replaces_id for doc, _path in exported if doc.replaces_id]
        ).only("pk", "public_id")
    }
    for document, path in exported:
        data = read_content(document)
        digest = hashlib.sha1(data, usedforsecurity=False).digest()
        resource: dict[str, Any] = {
            "resourceType": "DocumentReference",
            "masterIdentifier": {"system": URI_SYSTEM, "value": _urn(str(document.public_id))},
            "status": "current" if document.is_current else "superseded",
            "docStatus": "final",
            "type": {
                "coding": [
                    {"system": LOINC, "code": document.type.code, "display": document.type.label}
                ],
                "text": document.type.label,
            },
            "category": [_text(str(document.get_category_display()))],
            "subject": bundle.patient_ref,
            "date": _instant(document.created_at),
            "author": [_author(document)],
            "description": document.title,
            "securityLabel": [
                {"coding": [{"system": CONFIDENTIALITY, "code": "R" if document.masked else "N"}]}
            ],
            "content": [
                {
                    "attachment": {
                        "contentType": document.content_type,
                        "url": path,
                        "size": len(data),
                        "hash": base64.b64encode(digest).decode("ascii"),
                        "title": document.title,
                    }
                }
            ],
            "context": {"period": {"start": _day(document.act_date)}},
        }
        if document.replaces_id:
            target_id = str(replaced[document.replaces_id])
            # A version the holder may not see is named, not linked: it is not in the Bundle.
            target = (
                {"reference": _urn(target_id)}
                if document.replaces_id in in_bundle
                else {"identifier": {"system": URI_SYSTEM, "value": _urn(target_id)}}
            )
            resource["relatesTo"] = [{"code": "replaces", "target": target}]
        bundle.add(str(document.public_id), resource)


# Resources other parts of the space add to this Bundle (messaging's Communications):
# `provider(space, decision, patient_ref)` yields (id, resource) pairs, holding only what
# `decision` lets its reader see, and refers to the holder by `patient_ref`.
ResourceProvider = Callable[[Space, Decision, dict], Iterable[tuple[str, dict]]]
_providers: list[ResourceProvider] = []


def register_resources(provider: ResourceProvider) -> None:
    """Add `provider`'s resources to every Bundle, after the DMP's (from an `AppConfig.ready`)."""
    if provider not in _providers:
        _providers.append(provider)


# Taking other parts' resources back (`manage.py import_dmp`, `dossier.importer`): the part
# that adds a resource type to the Bundle registers how to read it back. `take_back(context,
# entries)` gets every resource of that type of one Bundle (`dossier.importer.ImportContext`
# and `ImportEntry`: the space, the actor, the archive's files, the report) and reports
# each one imported, already there or skipped with its reason.
ResourceTakeBack = Callable[[Any, list], None]


@dataclass(frozen=True)
class ResourceImporter:
    resource_type: str
    label: str  # how the import's report names them ("Messages")
    take_back: ResourceTakeBack


_importers: dict[str, ResourceImporter] = {}


def register_importer(resource_type: str, take_back: ResourceTakeBack, *, label: str) -> None:
    """Have `manage.py import_dmp` hand the resources of `resource_type` to `take_back`
    (from an `AppConfig.ready`, as `register_resources`)."""
    _importers[resource_type] = ResourceImporter(resource_type, str(label), take_back)


def importers() -> dict[str, ResourceImporter]:
    """The registered importers, by resource type."""
    return dict(_importers)


def build_bundle(
    space: Space, *, decision: Decision | None = None, now: datetime | None = None
) -> dict:
    """The space's DMP as a FHIR R4 Bundle ("collection"), ready for `json.dumps`.

    Holds only what `decision` (by default the policy's export decision for the space) lets
    its reader take away: the same documents as the download's files.
    """
    bundle = _Bundle(space, decision or export_decision(space, None))
    _patient(bundle)
    _allergies(bundle)
    _history(bundle)
    _treatments(bundle)
    _vaccinations(bundle)
    _measurements(bundle)
    _documents(bundle)
    for provider in _providers:
        for resource_id, resource in provider(space, bundle.decision, bundle.patient_ref):
            bundle.add(resource_id, resource)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": _instant(now or timezone.now()),
        "entry": bundle.entries,
    }


def export_bundle(space: Space, decision: Decision) -> Iterator[tuple[str, bytes]]:
    """The Bundle as a file of the space's download (the "documents" part, `dossier.parts`)."""
    bundle = build_bundle(space, decision=decision)
    yield FILENAME, json.dumps(bundle, ensure_ascii=False, indent=2).encode("utf-8")
