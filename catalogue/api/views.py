"""The FHIR R4 endpoints: Bearer token → `AppAccess` → the policy → one audit event.

Every endpoint goes through `fhir_endpoint`: the token (401 with `WWW-Authenticate`), the
service's rate (429 with `Retry-After`), then the handler inside one transaction, which
asks `acces.policy.decide` and traces the call naming the service. Errors are
`OperationOutcome`s in French; resources are validated by `fhir.resources.R4B` both ways.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError as FhirInvalid

from acces.policy import Action, decide
from acces.targets import SPACE_PART, NewDocument
from catalogue.actions import CatalogueAction
from catalogue.api import observations, profile
from catalogue.models import Connection
from catalogue.tokens import AppAccess, TokenRefused, access_for
from dossier.models import DocumentType, Measurement
from dossier.profile_services import ProfileError, add_entry
from dossier.services import DocumentError, add_document, read_content
from espace_sante.models import Space
from espace_sante.tracing import Actor, client_ip, trace

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json; charset=utf-8"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _response(resource: dict, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(
        json.dumps(resource, ensure_ascii=False), status=status, content_type=FHIR_JSON
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def outcome(status: int, code: str, message: str, headers: dict | None = None) -> HttpResponse:
    resource = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": message}],
        }
    )
    return _response(resource.model_dump(mode="json", exclude_none=True), status, headers)


def _bearer(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _within_rate(access: AppAccess) -> int:
    """0 if the service may call now, else the seconds until its window ends. Fixed window
    per service; an unreachable cache lets the call through (and says so in the log)."""
    limit = getattr(settings, "CATALOGUE_API_RATE_PER_MINUTE", 120)
    now = int(time.time())
    window = now // 60
    key = f"catalogue:fhir-rate:{access.service.pk}:{window}"
    try:
        cache.add(key, 0, timeout=90)
        count = cache.incr(key)
    except Exception:  # the cache down must not stop the API
        logger.warning("FHIR rate limit: cache unreachable, call let through", exc_info=True)
        return 0
    if count > limit:
        return 60 - now % 60 or 1
    return 0


def fhir_endpoint(handler):
    @csrf_exempt
    @wraps(handler)
    def view(request, **kwargs):
        try:
            access = access_for(_bearer(request))
        except TokenRefused as refused:
            error = "invalid_request" if refused.reason == "missing" else "invalid_token"
            return outcome(
                401,
                "login",
                str(refused),
                {"WWW-Authenticate": f'Bearer realm="fhir", error="{error}"'},
            )
        wait = _within_rate(access)
        if wait:
            return outcome(
                429,
                "throttled",
                "Trop de requêtes pour ce service : réessayez dans une minute.",
                {"Retry-After": str(wait)},
            )
        call = Call(request, access)
        with transaction.atomic():
            try:
                with transaction.atomic():  # what the handler wrote goes if it fails
                    return handler(request, call, **kwargs)
            except ApiError as error:
                # The refusal is traced too, in the call's transaction.
                call.refused(error)
                return outcome(error.status, error.code, error.message, error.headers)

    return view


@dataclass(frozen=True)
class ApiTarget:
    """A FHIR resource type of a space: the app's scopes for that resource only count."""

    space: Space
    fhir_resource: str
    part: str = SPACE_PART


class Call:
    """One call of a service: decides, traces and counts what it reads and writes."""

    def __init__(self, request, access: AppAccess):
        self.request, self.access = request, access
        self.space = access.space

    @property
    def actor(self) -> Actor:
        user = self.access.principal.user
        return Actor(user=user, role=user.kind, ip=client_ip(self.request))

    def detail(self, **more) -> dict:
        return {
            "via": self.access.service.name,
            "client_id": self.access.service.application.client_id,
            # As the connection's own events (`connections.services.detail_of`), so that
            # "Mes services connectés" shows the service's reads and writes.
            "service": self.access.service.slug,
            "connection": self.access.connection.pk,
            "method": self.request.method,
            "path": self.request.path,
            **more,
        }

    def require(self, action: Action, resource: str):
        """The policy's decision on `resource` of the space, or the 403/404 refusal."""
        decision = decide(self.access.principal, action, ApiTarget(self.space, resource))
        if not decision:
            if decision.reason == "scope_not_granted":
                raise ApiError(403, "forbidden", "Ce service n'a pas reçu cette autorisation.")
            raise ApiError(404, "not-found", "Ressource introuvable.")
        return decision

    def _trace(self, write: bool, *, outcome: str = "allowed", target=None, **more) -> None:
        action = CatalogueAction.API_WRITE if write else CatalogueAction.API_READ
        trace(
            actor=self.actor,
            action=action,
            space=self.space,
            target=target,
            outcome=outcome,
            detail=self.detail(**more),
        )

    def refused(self, error: ApiError) -> None:
        self._trace(
            self.request.method != "GET", outcome="denied", status=error.status, code=error.code
        )

    def read(self, target=None, **more) -> None:
        self._trace(False, target=target, **more)
        Connection.objects.filter(pk=self.access.connection.pk).update(last_read_at=timezone.now())

    def wrote(self, target=None, **more) -> None:
        self._trace(True, target=target, **more)
        Connection.objects.filter(pk=self.access.connection.pk).update(
            last_write_at=timezone.now(), pending_writes=F("pending_writes") + 1
        )

    @property
    def patient_ref(self) -> str:
        return f"Patient/{self.space.public_id}"


def _bundle(entries: list[dict], base: str) -> dict:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "entry": [
            {"fullUrl": f"{base}{e['resourceType']}/{e['id']}", "resource": e} for e in entries
        ],
    }
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)


def _base(request) -> str:
    return request.build_absolute_uri("/fhir/")


# --- CapabilityStatement --------------------------------------------------------------------


@csrf_exempt
def metadata(request):
    if request.method != "GET":
        return outcome(405, "not-supported", "Méthode non prise en charge.")
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date.today().isoformat(),
        "kind": "instance",
        "publisher": "Mon espace santé",
        "fhirVersion": "4.3.0",
        "format": ["application/fhir+json"],
        "implementation": {
            "description": "API FHIR des services référencés",
            "url": _base(request),
        },
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "Jeton OAuth2 (Bearer) lié à un espace connecté.",
                },
                "resource": [
                    {
                        "type": "Observation",
                        "interaction": [
                            {"code": "read"},
                            {"code": "search-type"},
                            {"code": "create"},
                        ],
                        "searchParam": [
                            {"name": "code", "type": "token"},
                            {"name": "date", "type": "date"},
                        ],
                    },
                    {"type": "Patient", "interaction": [{"code": "read"}]},
                    {"type": "Binary", "interaction": [{"code": "read"}]},
                    {"type": "Immunization", "interaction": [{"code": "search-type"}]},
                    {
                        "type": "DocumentReference",
                        "interaction": [{"code": "search-type"}, {"code": "create"}],
                        "searchParam": [
                            {"name": "category", "type": "token"},
                            {"name": "type", "type": "token"},
                            {"name": "date", "type": "date"},
                        ],
                    },
                    {"type": "AllergyIntolerance", "interaction": [{"code": "search-type"}]},
                ],
            }
        ],
    }
    resource = CapabilityStatement.model_validate(statement)
    return _response(resource.model_dump(mode="json", exclude_none=True))


# --- Patient --------------------------------------------------------------------------------


@fhir_endpoint
def patient(request, call: Call, resource_id: str):
    if request.method != "GET":
        raise ApiError(405, "not-supported", "Méthode non prise en charge.")
    call.require(Action.VIEW_SPACE, "Patient")
    if resource_id != str(call.space.public_id):
        raise ApiError(404, "not-found", "Ressource introuvable.")
    holder = call.space.holder
    resource = Patient.model_validate(
        {
            "resourceType": "Patient",
            "id": str(call.space.public_id),
            "name": [{"family": holder.last_name, "given": holder.first_names.split()}],
            "gender": {"F": "female", "M": "male"}.get(holder.sex, "unknown"),
            "birthDate": holder.birth_date.isoformat(),
        }
    )
    call.read(target=("Patient", str(call.space.public_id)), resource="Patient")
    return _response(resource.model_dump(mode="json", exclude_none=True))


# --- Observation ----------------------------------------------------------------------------

_DATE_PREFIXES = {"eq": "", "ge": "__gte", "le": "__lte", "gt": "__gt", "lt": "__lt"}


def _filter_observations(queryset, params):
    for raw in params.getlist("code"):
        codes = [c.rpartition("|")[2] for c in raw.split(",")]
        kinds = [observations.BY_LOINC[c] for c in codes if c in observations.BY_LOINC]
        queryset = queryset.filter(kind__in=kinds)
    for raw in params.getlist("date"):
        prefix, value = (raw[:2], raw[2:]) if raw[:2] in _DATE_PREFIXES else ("eq", raw)
        try:
            day = date.fromisoformat(value[:10])
        except ValueError as error:
            raise ApiError(400, "invalid", f"Date de recherche invalide : {raw}.") from error
        queryset = queryset.filter(**{f"measured_on{_DATE_PREFIXES[prefix]}": day})
    return queryset


@fhir_endpoint
def observations_view(request, call: Call):
    if request.method == "GET":
        call.require(Action.VIEW_PROFILE, "Observation")
        rows = _filter_observations(call.space.profile_measurements.all(), request.GET)
        entries = [observations.to_fhir(m, call.patient_ref) for m in rows]
        call.read(resource="Observation", count=len(entries))
        return _response(_bundle(entries, _base(request)))
    if request.method == "POST":
        return _create_observation(request, call)
    raise ApiError(405, "not-supported", "Méthode non prise en charge.")


def _parse(request, model):
    try:
        return model.model_validate_json(request.body or b"{}")
    except FhirInvalid as error:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ApiError(
            400, "invalid", f"Ressource FHIR invalide ({where}) : {first.get('msg', error)}"
        ) from error
    except ValueError as error:
        raise ApiError(400, "invalid", "Corps JSON invalide.") from error


def _create_observation(request, call: Call):
    call.require(Action.MANAGE_DOCUMENT, "Observation")
    resource = _parse(request, Observation)
    try:
        values = observations.from_fhir(resource)
    except observations.Unreadable as error:
        raise ApiError(422, "business-rule", str(error)) from error
    try:
        measurement = add_entry(space=call.space, part="measurement", values=values, by=call.actor)
    except ValidationError as error:
        messages = [m for ms in error.message_dict.values() for m in ms]
        raise ApiError(422, "business-rule", " ".join(messages)) from error
    except ProfileError as error:
        raise ApiError(422, "business-rule", str(error)) from error
    call.wrote(target=measurement, resource="Observation")
    body = observations.to_fhir(measurement, call.patient_ref)
    return _response(body, 201, {"Location": f"{_base(request)}Observation/{measurement.pk}"})


@fhir_endpoint
def observation(request, call: Call, resource_id: str):
    if request.method != "GET":
        raise ApiError(405, "not-supported", "Méthode non prise en charge.")
    call.require(Action.VIEW_PROFILE, "Observation")
    found = (
        Measurement.objects.filter(space=call.space, pk=resource_id).first()
        if resource_id.isdigit()
        else None
    )
    if found is None:
        raise ApiError(404, "not-found", "Ressource introuvable.")
    call.read(target=found, resource="Observation")
    return _response(observations.to_fhir(found, call.patient_ref))


# --- Immunization, AllergyIntolerance (read only) --------------------------------------------


def _profile_search(related: str, build, resource_type: str):
    @fhir_endpoint
    def view(request, call: Call):
        if request.method != "GET":
            raise ApiError(405, "not-supported", "Méthode non prise en charge.")
        call.require(Action.VIEW_PROFILE, resource_type)
        rows = getattr(call.space, related).all()
        entries = [build(row, call.patient_ref) for row in rows]
        call.read(resource=resource_type, count=len(entries))
        return _response(_bundle(entries, _base(request)))

    view.__name__ = f"{resource_type.lower()}_search"
    return view


immunizations = _profile_search("profile_vaccinations", profile.immunization, "Immunization")
allergies = _profile_search("profile_allergies", profile.allergy_intolerance, "AllergyIntolerance")


# --- DocumentReference (search) --------------------------------------------------------------


def _document_reference(document, patient_ref: str) -> dict:
    resource = {
        "resourceType": "DocumentReference",
        "id": str(document.public_id),
        "status": "current",
        "type": {
            "coding": [{"system": observations.LOINC, "code": document.type_code}],
            "text": document.type.label,
        },
        "category": [
            {"coding": [{"code": document.category}], "text": document.get_category_display()}
        ],
        "subject": {"reference": patient_ref},
        "date": document.created_at.isoformat(),
        "description": document.title,
        "content": [
            {
                "attachment": {
                    "contentType": document.content_type,
                    "size": document.size,
                    "title": document.title,
                    "creation": document.act_date.isoformat(),
                    "url": f"Binary/{document.public_id}",
                }
            }
        ],
    }
    return DocumentReference.model_validate(resource).model_dump(mode="json", exclude_none=True)


def _create_document(request, call: Call):
    """A document the patient adds through the app: its content inline, checked by content."""
    call.require(Action.ADD_OWN_DOCUMENT, "DocumentReference")
    resource = _parse(request, DocumentReference)
    codes = [c.code for c in (resource.type.coding or [])] if resource.type else []
    doc_type = DocumentType.objects.filter(code__in=codes).first()
    attachment = resource.content[0].attachment if resource.content else None
    if doc_type is None:
        raise ApiError(422, "business-rule", "Type de document inconnu.")
    if attachment is None or not attachment.data:
        raise ApiError(422, "business-rule", "Joignez le contenu du document (attachment.data).")
    new = NewDocument(
        space=call.space,
        type_code=doc_type.code,
        category=doc_type.category,
        patient_may_add=doc_type.patient_may_add,
    )
    decision = decide(call.access.principal, Action.ADD_OWN_DOCUMENT, new)
    if not decision:
        if decision.reason == "scope_not_granted":
            raise ApiError(403, "forbidden", "Ce service n'a pas reçu cette autorisation.")
        raise ApiError(422, "business-rule", decision.message or "Ce document ne peut être ajouté.")
    data = attachment.data
    data = data if isinstance(data, bytes) else base64.b64decode(data)
    creation = attachment.creation
    act_date = creation.date() if hasattr(creation, "date") else (creation or timezone.localdate())
    try:
        document = add_document(
            space=call.space,
            type_code=doc_type.code,
            title=resource.description or attachment.title or "",
            act_date=act_date,
            data=data,
            by=call.actor,
            basis=str(decision.basis),
        )
    except DocumentError as error:
        raise ApiError(422, "business-rule", str(error)) from error
    call.wrote(target=document, resource="DocumentReference")
    body = _document_reference(document, call.patient_ref)
    return _response(
        body, 201, {"Location": f"{_base(request)}DocumentReference/{document.public_id}"}
    )


@fhir_endpoint
def document_references(request, call: Call):
    if request.method == "POST":
        return _create_document(request, call)
    if request.method != "GET":
        raise ApiError(405, "not-supported", "Méthode non prise en charge.")
    call.require(Action.VIEW_DOCUMENT, "DocumentReference")
    rows = call.space.documents.filter(is_current=True).select_related("type")
    if request.GET.get("category"):
        rows = rows.filter(category__in=request.GET["category"].split(","))
    if request.GET.get("type"):
        codes = [c.rpartition("|")[2] for c in request.GET["type"].split(",")]
        rows = rows.filter(type_code__in=codes)
    for raw in request.GET.getlist("date"):
        prefix, value = (raw[:2], raw[2:]) if raw[:2] in _DATE_PREFIXES else ("eq", raw)
        try:
            day = date.fromisoformat(value[:10])
        except ValueError as error:
            raise ApiError(400, "invalid", f"Date de recherche invalide : {raw}.") from error
        rows = rows.filter(**{f"act_date{_DATE_PREFIXES[prefix]}": day})
    # Each document as the policy decides it for this app: invisible to the patient,
    # masked without the patient's leave, out of the scope's category: left out.
    principal = call.access.principal
    visible = [d for d in rows if decide(principal, Action.VIEW_DOCUMENT, d)]
    entries = [_document_reference(d, call.patient_ref) for d in visible]
    call.read(resource="DocumentReference", count=len(entries))
    return _response(_bundle(entries, _base(request)))


@fhir_endpoint
def binary(request, call: Call, resource_id: str):
    """A document's content, decrypted, as a FHIR Binary (base64)."""
    if request.method != "GET":
        raise ApiError(405, "not-supported", "Méthode non prise en charge.")
    call.require(Action.VIEW_DOCUMENT, "DocumentReference")
    try:
        document = call.space.documents.filter(public_id=uuid.UUID(resource_id)).first()
    except ValueError:
        document = None
    if document is None or not decide(call.access.principal, Action.VIEW_DOCUMENT, document):
        raise ApiError(404, "not-found", "Ressource introuvable.")
    resource = Binary.model_validate(
        {
            "resourceType": "Binary",
            "id": str(document.public_id),
            "contentType": document.content_type,
            "data": base64.b64encode(read_content(document)).decode("ascii"),
        }
    )
    call.read(target=document, resource="Binary")
    return _response(resource.model_dump(mode="json", exclude_none=True))
