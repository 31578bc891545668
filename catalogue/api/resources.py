"""The resource types the catalogue's API serves itself: the holder, the DMP's documents
and the profile's measurements, vaccinations and allergies.

Registered in `dossier.fhir_api` like those of other parts (the agenda's Appointment), so
that the routes, the paging, the policy and the CapabilityStatement treat all alike.
"""

from __future__ import annotations

import base64

from django.core.exceptions import ValidationError
from django.utils import timezone
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from acces.policy import Action, decide, documents_visible_to_app
from acces.targets import NewDocument
from catalogue.api import observations, profile
from dossier.fhir_api import (
    FhirCall,
    FhirError,
    ResourceType,
    SearchParam,
    business_rule,
    by_pk,
    by_public_id,
    filter_dates,
    parse,
    register,
    tokens,
    validated,
)
from dossier.models import DocumentType, Measurement
from dossier.profile_services import ProfileError, add_entry
from dossier.services import DocumentError, add_document, read_content

# --- Patient: the holder's identity only ---------------------------------------------------


def _patient(space, call: FhirCall) -> dict:
    holder = space.holder
    resource = {
        "resourceType": "Patient",
        "id": str(space.public_id),
        "name": [{"family": holder.last_name, "given": holder.first_names.split()}],
        "gender": {"F": "female", "M": "male"}.get(holder.sex, "unknown"),
        "birthDate": holder.birth_date.isoformat(),
    }
    return validated(Patient, resource)


PATIENT = ResourceType(
    name="Patient",
    read_action=Action.VIEW_SPACE,
    to_fhir=_patient,
    get=lambda call, resource_id: call.space if resource_id == str(call.space.public_id) else None,
    documentation="L'identité du titulaire de l'espace (nom, prénoms, sexe, date de naissance).",
)


# --- Observation: the profile's measurements, read and written -------------------------------


def _measurements(call: FhirCall):
    return call.space.profile_measurements.order_by("measured_on", "pk")


def _search_observations(call: FhirCall, params):
    rows = _measurements(call)
    if params.getlist("code"):
        kinds = [observations.BY_LOINC.get(c) for c in tokens(params.getlist("code"))]
        rows = rows.filter(kind__in=[k for k in kinds if k])
    return filter_dates(rows, params.getlist("date"), "measured_on")


def _create_observation(call: FhirCall, body: bytes) -> Measurement:
    resource = parse(body, Observation)
    try:
        values = observations.from_fhir(resource)
    except observations.Unreadable as error:
        raise business_rule(str(error)) from error
    try:
        return add_entry(space=call.space, part="measurement", values=values, by=call.actor)
    except ValidationError as error:
        raise business_rule(" ".join(m for ms in error.message_dict.values() for m in ms)) from None
    except ProfileError as error:
        raise business_rule(str(error)) from error


OBSERVATION = ResourceType(
    name="Observation",
    read_action=Action.VIEW_PROFILE,
    write_action=Action.MANAGE_DOCUMENT,
    to_fhir=lambda m, call: observations.to_fhir(m, call.patient_ref),
    get=lambda call, resource_id: by_pk(_measurements(call), resource_id),
    search=_search_observations,
    create=_create_observation,
    search_params=(
        SearchParam("code", "token", "LOINC : 29463-7, 8302-2, 85354-9, 2345-7"),
        SearchParam("date", "date", "Date de la mesure (eq, ge, le, gt, lt)"),
    ),
    documentation="Les mesures du profil médical : poids, taille, tension, glycémie.",
)


# --- Immunization, AllergyIntolerance: read only -------------------------------------------


IMMUNIZATION = ResourceType(
    name="Immunization",
    read_action=Action.VIEW_PROFILE,
    to_fhir=lambda v, call: profile.immunization(v, call.patient_ref),
    get=lambda call, resource_id: by_pk(call.space.profile_vaccinations.all(), resource_id),
    search=lambda call, params: filter_dates(
        call.space.profile_vaccinations.order_by("-date", "pk"), params.getlist("date"), "date"
    ),
    search_params=(SearchParam("date", "date", "Date de la vaccination"),),
    documentation="Les vaccinations du profil médical.",
)

ALLERGY_INTOLERANCE = ResourceType(
    name="AllergyIntolerance",
    read_action=Action.VIEW_PROFILE,
    to_fhir=lambda a, call: profile.allergy_intolerance(a, call.patient_ref),
    get=lambda call, resource_id: by_pk(call.space.profile_allergies.all(), resource_id),
    search=lambda call, params: call.space.profile_allergies.order_by("substance", "pk"),
    documentation="Les allergies du profil médical.",
)


# --- DocumentReference and Binary: the DMP's documents ---------------------------------------


def _documents(call: FhirCall):
    """The space's current documents this app may see, in SQL: what the holder sees, the
    masked ones only with the patient's leave, of the categories its scopes name."""
    decision = decide(call.principal, Action.VIEW_SPACE, call.space)
    return call.space.documents.filter(
        documents_visible_to_app(call.principal, decision), is_current=True
    ).select_related("type")


def _search_documents(call: FhirCall, params):
    rows = _documents(call).order_by("-act_date", "-created_at", "-pk")
    if params.get("category"):
        rows = rows.filter(category__in=params["category"].split(","))
    if params.getlist("type"):
        rows = rows.filter(type_code__in=tokens(params.getlist("type")))
    return filter_dates(rows, params.getlist("date"), "act_date")


def _visible_document(call: FhirCall, resource_id: str):
    """The document, if the policy lets this app see it (each one decided, as the pages do)."""
    document = by_public_id(call.space.documents.select_related("type"), resource_id)
    if document is None or not decide(call.principal, Action.VIEW_DOCUMENT, document):
        return None
    return document


def document_reference(document, call: FhirCall) -> dict:
    resource = {
        "resourceType": "DocumentReference",
        "id": str(document.public_id),
        "masterIdentifier": {
            "system": "urn:ietf:rfc:3986",
            "value": f"urn:uuid:{document.public_id}",
        },
        "status": "current" if document.is_current else "superseded",
        "type": {
            "coding": [{"system": observations.LOINC, "code": document.type_code}],
            "text": document.type.label,
        },
        "category": [
            {"coding": [{"code": document.category}], "text": document.get_category_display()}
        ],
        "subject": {"reference": call.patient_ref},
        "date": document.created_at.isoformat(),
        "description": document.title,
        "content": [
            {
                "attachment": {
                    "contentType": document.content_type,
                    "size": document.size,
                    "title": document.title,
                    "creation": document.act_date.isoformat(),
                    "url": f"{call.base}Binary/{document.public_id}",
                }
            }
        ],
    }
    return validated(DocumentReference, resource)


def _create_document(call: FhirCall, body: bytes):
    """A document the patient adds through the app: its content inline, checked by content."""
    resource = parse(body, DocumentReference)
    codes = [c.code for c in (resource.type.coding or [])] if resource.type else []
    doc_type = DocumentType.objects.filter(code__in=codes).first()
    attachment = resource.content[0].attachment if resource.content else None
    if doc_type is None:
        raise business_rule("Type de document inconnu.")
    if attachment is None or not attachment.data:
        raise business_rule("Joignez le contenu du document (attachment.data).")
    new = NewDocument(
        space=call.space,
        type_code=doc_type.code,
        category=doc_type.category,
        patient_may_add=doc_type.patient_may_add,
    )
    decision = decide(call.principal, Action.ADD_OWN_DOCUMENT, new)
    if not decision:
        if decision.reason == "scope_not_granted":
            raise FhirError(403, "forbidden", "Ce service n'a pas reçu cette autorisation.")
        raise business_rule(decision.message or "Ce document ne peut être ajouté.")
    data = attachment.data
    data = data if isinstance(data, bytes) else base64.b64decode(data)
    creation = attachment.creation
    act_date = creation.date() if hasattr(creation, "date") else (creation or timezone.localdate())
    try:
        return add_document(
            space=call.space,
            type_code=doc_type.code,
            title=resource.description or attachment.title or "",
            act_date=act_date,
            data=data,
            by=call.actor,
            basis=str(decision.basis),
        )
    except DocumentError as error:
        raise business_rule(str(error)) from error


DOCUMENT_REFERENCE = ResourceType(
    name="DocumentReference",
    read_action=Action.VIEW_DOCUMENT,
    write_action=Action.ADD_OWN_DOCUMENT,
    to_fhir=document_reference,
    get=_visible_document,
    search=_search_documents,
    create=_create_document,
    search_params=(
        SearchParam("category", "token", "Catégorie du document (biologie, imagerie...)"),
        SearchParam("type", "token", "Type du document, code LOINC"),
        SearchParam("date", "date", "Date de l'acte (eq, ge, le, gt, lt)"),
    ),
    documentation="Les documents du DMP que le patient voit ; le contenu par Binary.",
)


def _binary(document, call: FhirCall) -> dict:
    resource = {
        "resourceType": "Binary",
        "id": str(document.public_id),
        "contentType": document.content_type,
        "data": base64.b64encode(read_content(document)).decode("ascii"),
    }
    return validated(Binary, resource)


BINARY = ResourceType(
    name="Binary",
    read_action=Action.VIEW_DOCUMENT,
    to_fhir=_binary,
    get=_visible_document,
    documentation="Le contenu déchiffré d'un document (base64).",
)

# The policy's scopes for Binary are DocumentReference's: a Binary is a document's content.
SCOPE_RESOURCE = {"Binary": "DocumentReference"}


def register_all() -> None:
    for resource_type in (
        PATIENT,
        DOCUMENT_REFERENCE,
        BINARY,
        OBSERVATION,
        IMMUNIZATION,
        ALLERGY_INTOLERANCE,
    ):
        register(resource_type)
