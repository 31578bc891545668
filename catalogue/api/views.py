"""The FHIR R4 endpoints: Bearer token → `AppAccess` → the policy → one audit event.

Every endpoint goes through `fhir_endpoint`: the token (401 with `WWW-Authenticate`), the
service's rate (429 with `Retry-After`), then the handler inside one transaction, which
asks `acces.policy.decide` and traces the call naming the service. Errors are
`OperationOutcome`s in French; resources are validated by `fhir.resources.R4B` both ways.

The resource types are those registered in `dossier.fhir_api` (the catalogue's own,
`catalogue.api.resources`, and the other parts', such as the agenda's Appointment): one
type view (search, create) and one instance view (read, update) serve them all.

One call, one audit event naming the service: a read is traced here
(`catalogue_api_read`); a write is traced by the part's service that makes it (its own
action, `profile_measurement_added`, `appointment_added`...), with the call's actor,
whose `via` puts the service in the event's detail; a refusal is traced here
(`catalogue_api_read` / `catalogue_api_write`, outcome denied).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from functools import cached_property, wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from acces.policy import Action, decide
from acces.targets import SPACE_PART
from catalogue.actions import CatalogueAction
from catalogue.api.resources import SCOPE_RESOURCE
from catalogue.models import Connection
from catalogue.tokens import AppAccess, SoftwareAccess, TokenRefused, access_for
from dossier.fhir_api import FhirCall, FhirError, ResourceType, not_found
from espace_sante.models import Space
from espace_sante.tracing import Actor, client_ip, trace

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json; charset=utf-8"
JSON_TYPES = ("application/fhir+json", "application/json")
# Bundle paging: `_count` entries a page (at most MAX_COUNT), from `_offset`.
DEFAULT_COUNT, MAX_COUNT = 50, 200

ApiError = FhirError  # the name the catalogue's code and tests use


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


def _within_rate(access: AppAccess | SoftwareAccess) -> int:
    """0 if the service may call now, else the seconds until its window ends. Fixed window
    per service (per software and professional); an unreachable cache lets the call through
    (and says so in the log)."""
    limit = getattr(settings, "CATALOGUE_API_RATE_PER_MINUTE", 120)
    now = int(time.time())
    window = now // 60
    key = f"catalogue:fhir-rate:{access.rate_key}:{window}"
    try:
        cache.add(key, 0, timeout=90)
        count = cache.incr(key)
    except Exception:  # the cache down must not stop the API
        logger.warning("FHIR rate limit: cache unreachable, call let through", exc_info=True)
        return 0
    if count > limit:
        return 60 - now % 60 or 1
    return 0


SOFTWARE_ONLY = "Cette interaction est réservée aux logiciels de professionnels de santé."
APPS_ONLY = (
    "Cette ressource n'est pas ouverte aux logiciels de professionnels : voir /fhir/metadata."
)


def fhir_endpoint(handler=None, software=None):
    """The view of `handler(request, call, **kwargs)` for a connected service's tokens and
    of `software(request, call, **kwargs)` for a professional's software's (either may be
    None: that kind of token is then answered 404)."""
    if handler is None and software is None:
        raise ValueError("a FHIR endpoint needs a handler")

    @csrf_exempt
    @wraps(handler or software)
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
        if isinstance(access, SoftwareAccess):
            call, run, closed = SoftwareCall(request, access), software, APPS_ONLY
        else:
            call, run, closed = Call(request, access), handler, SOFTWARE_ONLY
        if run is None:
            refused = FhirError(404, "not-supported", closed)
            with transaction.atomic():
                call.refused(refused)
            return outcome(refused.status, refused.code, refused.message)
        with transaction.atomic():
            try:
                with transaction.atomic():  # what the handler wrote goes if it fails
                    return run(request, call, **kwargs)
            except FhirError as error:
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

    def via(self) -> dict:
        """What every event of this call says of the service."""
        return {
            "via": self.access.service.name,
            "client_id": self.access.service.application.client_id,
            # As the connection's own events (`connections.services.detail_of`), so that
            # "Mes services connectés" shows the service's reads and writes.
            "service": self.access.service.slug,
            "connection": self.access.connection.pk,
        }

    @cached_property
    def actor(self) -> Actor:
        user = self.access.principal.user
        return Actor(user=user, role=user.kind, ip=client_ip(self.request), via=self.via())

    @cached_property
    def fhir(self) -> FhirCall:
        return FhirCall(
            space=self.space,
            principal=self.access.principal,
            actor=self.actor,
            patient_ref=f"Patient/{self.space.public_id}",
            base=self.request.build_absolute_uri("/fhir/"),
        )

    def require(self, action: Action, resource: str):
        """The policy's decision on `resource` of the space, or the 403/404 refusal."""
        resource = SCOPE_RESOURCE.get(resource, resource)
        decision = decide(self.access.principal, action, ApiTarget(self.space, resource))
        if not decision:
            if decision.reason == "scope_not_granted":
                raise FhirError(403, "forbidden", "Ce service n'a pas reçu cette autorisation.")
            raise not_found()
        return decision

    def _trace(self, write: bool, *, outcome: str = "allowed", target=None, **more) -> None:
        action = CatalogueAction.API_WRITE if write else CatalogueAction.API_READ
        trace(
            actor=self.actor,
            action=action,
            space=self.space,
            target=target,
            outcome=outcome,
            detail={"method": self.request.method, "path": self.request.path, **more},
        )

    def refused(self, error: FhirError) -> None:
        self._trace(
            self.request.method not in ("GET", "HEAD"),
            outcome="denied",
            status=error.status,
            code=error.code,
        )

    def read(self, target=None, **more) -> None:
        self._trace(False, target=target, **more)
        Connection.objects.filter(pk=self.access.connection.pk).update(last_read_at=timezone.now())

    def wrote(self) -> None:
        """Count a write for the connection's page and the day's notice (the part's
        service traced it, naming the service through the actor)."""
        Connection.objects.filter(pk=self.access.connection.pk).update(
            last_write_at=timezone.now(), pending_writes=F("pending_writes") + 1
        )


class SoftwareCall:
    """One call of a professional's software: the professional acts through it, on the
    space the call names (`space`, once the handler found it). Every event names the
    professional (the actor) and the software (`via`)."""

    def __init__(self, request, access: SoftwareAccess):
        self.request, self.access = request, access
        self.principal = access.principal
        self.professional = access.professional
        self.space: Space | None = None
        self.base = request.build_absolute_uri("/fhir/")

    def via(self) -> dict:
        software = self.access.software
        return {
            "via": software.name,
            "software": software.slug,
            "client_id": software.application.client_id,
        }

    @cached_property
    def actor(self) -> Actor:
        user = self.professional.user
        return Actor(user=user, role=user.kind, ip=client_ip(self.request), via=self.via())

    def refused(self, error: FhirError) -> None:
        write = self.request.method not in ("GET", "HEAD")
        trace(
            actor=self.actor,
            action=CatalogueAction.SOFTWARE_WRITE if write else CatalogueAction.SOFTWARE_READ,
            space=self.space,
            outcome="denied",
            detail={
                "method": self.request.method,
                "path": self.request.path,
                "status": error.status,
                "code": error.code,
                **({"reason": error.reason} if getattr(error, "reason", "") else {}),
            },
        )


def _not_supported(*allowed: str) -> FhirError:
    return FhirError(
        405, "not-supported", "Méthode non prise en charge.", {"Allow": ", ".join(allowed)}
    )


def _json_body(request) -> bytes:
    content_type = request.content_type or ""
    if content_type not in JSON_TYPES:
        raise FhirError(
            415, "not-supported", "Envoyez la ressource en JSON (application/fhir+json)."
        )
    return request.body


# --- Searches: paged Bundles ------------------------------------------------------------------


def _int_param(request, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise FhirError(400, "invalid", f"Paramètre {name} invalide : {raw}.")
    return int(raw)


def _page_url(request, offset: int, count: int, known: frozenset[str]) -> str:
    # The parameters the search applied, as FHIR's `self` link says (others are ignored).
    query = [(k, v) for k, values in request.GET.lists() if k in known for v in values]
    query += [("_count", count), ("_offset", offset)]
    return request.build_absolute_uri(f"{request.path}?{urlencode(query)}")


def searchset(request, rows, build, known: frozenset[str] = frozenset()) -> dict:
    """One page of `rows` (a QuerySet) as a searchset Bundle: `total` counted in SQL, the
    page read in one query, `self`/`next`/`previous` links for the client to follow."""
    count = min(_int_param(request, "_count", DEFAULT_COUNT), MAX_COUNT)
    offset = _int_param(request, "_offset", 0)
    total = rows.count()
    # Past the end (any number may be asked), an empty page without asking the database.
    page = list(rows[offset : offset + count]) if count and offset < total else []
    base = request.build_absolute_uri("/fhir/")
    entries = [build(row) for row in page]
    links = [{"relation": "self", "url": _page_url(request, offset, count, known)}]
    if count and offset + count < total:
        links.append({"relation": "next", "url": _page_url(request, offset + count, count, known)})
    if count and offset:
        links.append(
            {
                "relation": "previous",
                "url": _page_url(request, max(offset - count, 0), count, known),
            }
        )
    shell = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {"fullUrl": f"{base}{e['resourceType']}/{e['id']}", "search": {"mode": "match"}}
            for e in entries
        ],
    }
    # Each resource was validated by its `to_fhir`; the Bundle is validated around them
    # (validating them again inside it doubled the cost of a page).
    bundle = Bundle.model_validate(shell).model_dump(mode="json", exclude_none=True)
    for entry, resource in zip(bundle.get("entry", []), entries, strict=True):
        entry["resource"] = resource
    return bundle


# --- The views of every registered resource type --------------------------------------------


def type_view(resource_type: ResourceType | None, software=None):
    """`/fhir/<Type>`: search (GET), create (POST); `software(request, call)` answers a
    professional's software on the same address (`catalogue.api.software`)."""
    if resource_type is None:
        return fhir_endpoint(None, software)
    allowed = [m for m, h in (("GET", resource_type.search), ("POST", resource_type.create)) if h]

    def view(request, call: Call):
        if request.method == "GET" and resource_type.search is not None:
            call.require(resource_type.read_action, resource_type.name)
            rows = resource_type.search(call.fhir, request.GET)
            bundle = searchset(
                request,
                rows,
                lambda row: resource_type.to_fhir(row, call.fhir),
                frozenset(p.name for p in resource_type.search_params),
            )
            call.read(
                resource=resource_type.name,
                count=len(bundle.get("entry", [])),
                total=bundle["total"],
            )
            return _response(bundle)
        if request.method == "POST" and resource_type.create is not None:
            call.require(resource_type.write_action, resource_type.name)
            row = resource_type.create(call.fhir, _json_body(request))
            call.wrote()
            body = resource_type.to_fhir(row, call.fhir)
            location = f"{call.fhir.base}{resource_type.name}/{body['id']}"
            return _response(body, 201, {"Location": location})
        raise _not_supported(*allowed)

    view.__name__ = f"{resource_type.name.lower()}_type"
    return fhir_endpoint(view, software)


def instance_view(resource_type: ResourceType | None, software=None):
    """`/fhir/<Type>/<id>`: read (GET), update (PUT); `software(request, call, resource_id)`
    answers a professional's software."""
    if resource_type is None:
        return fhir_endpoint(None, software)
    allowed = ["GET"] + (["PUT"] if resource_type.update else [])

    def view(request, call: Call, resource_id: str):
        if request.method == "GET":
            call.require(resource_type.read_action, resource_type.name)
            row = resource_type.get(call.fhir, resource_id)
            if row is None:
                raise not_found()
            body = resource_type.to_fhir(row, call.fhir)
            call.read(target=row, resource=resource_type.name)
            return _response(body)
        if request.method == "PUT" and resource_type.update is not None:
            call.require(resource_type.write_action, resource_type.name)
            row = resource_type.get(call.fhir, resource_id)
            if row is None:
                raise not_found()
            row = resource_type.update(call.fhir, row, _json_body(request))
            call.wrote()
            return _response(resource_type.to_fhir(row, call.fhir))
        raise _not_supported(*allowed)

    view.__name__ = f"{resource_type.name.lower()}_instance"
    return fhir_endpoint(view, software)


@csrf_exempt
def unknown(request, rest: str = ""):
    """Anything else under `/fhir/`: an OperationOutcome, not the portal's HTML page."""
    return outcome(
        404,
        "not-supported",
        "Type de ressource ou adresse non pris en charge : voir /fhir/metadata.",
    )
