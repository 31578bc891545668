"""The resource types of the FHIR REST API (`/fhir/`) that other parts of the space add.

The API lives in `catalogue.api`, which may not use the agenda (the content apps do not
use each other). The part that owns a resource type registers here, from its
`AppConfig.ready`, how to find, read, write and show it (`register`); the API mounts a
route for each registered type, decides every call with the policy for the app's
principal (`read_action`, `write_action` on the space, within the app's scopes for this
type), pages the searches, traces the reads and counts the writes. The handlers do the
part's own work through its services, with the call's `actor`, whose `via` makes the
part's audit event name the service: one event per call.

A handler refuses with `FhirError` (an `OperationOutcome` with its HTTP status).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import QuerySet
from pydantic import ValidationError as FhirInvalid

from acces.policy import Action
from acces.principal import Principal
from espace_sante.models import Space
from espace_sante.tracing import Actor


class FhirError(Exception):
    """A refused API call: an `OperationOutcome` with `status`, issue `code` and the French
    `message` (which says nothing the caller may not know)."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def not_found() -> FhirError:
    return FhirError(404, "not-found", "Ressource introuvable.")


def business_rule(message: str) -> FhirError:
    return FhirError(422, "business-rule", message)


@dataclass(frozen=True)
class FhirCall:
    """What a handler knows of the call: the space, who acts (the app's principal, and the
    actor whose `via` names the service in the trail) and how to refer to the holder."""

    space: Space
    principal: Principal
    actor: Actor
    patient_ref: str  # "Patient/<public id>"
    base: str  # the API's absolute base, ending with "/"


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # FHIR search parameter type: token, date, string, reference
    documentation: str = ""


@dataclass(frozen=True)
class ResourceType:
    """How the API serves one resource type of a part.

    - `search(call, params)` gives the space's rows matching the query (a QuerySet, ordered
      and with what `to_fhir` needs selected: the API pages it and counts it in SQL);
    - `get(call, resource_id)` the space's row with that id, or None;
    - `to_fhir(row, call)` the resource as a JSON-ready dict, valid FHIR R4;
    - `create(call, body)` / `update(call, row, body)` write through the part's services
      and give the row written (`body` is the parsed JSON; validate it with `parse`).
    """

    name: str
    read_action: Action
    to_fhir: Callable[[Any, FhirCall], dict]
    get: Callable[[FhirCall, str], Any]
    search: Callable[[FhirCall, Any], QuerySet] | None = None
    write_action: Action | None = None
    create: Callable[[FhirCall, bytes], Any] | None = None
    update: Callable[[FhirCall, Any, bytes], Any] | None = None
    search_params: tuple[SearchParam, ...] = field(default_factory=tuple)
    documentation: str = ""

    @property
    def interactions(self) -> list[str]:
        done = ["read"]
        if self.search is not None:
            done.append("search-type")
        if self.create is not None:
            done.append("create")
        if self.update is not None:
            done.append("update")
        return done


_types: dict[str, ResourceType] = {}


def register(resource_type: ResourceType) -> None:
    """Serve `resource_type` under `/fhir/<name>` (from an `AppConfig.ready`, once)."""
    if resource_type.name in _types:
        raise ValueError(f"FHIR resource type {resource_type.name} registered twice")
    _types[resource_type.name] = resource_type


def resource_types() -> dict[str, ResourceType]:
    """The registered types, by name, in registration order."""
    return dict(_types)


# --- What every handler needs ---------------------------------------------------------------


def parse(body: bytes, model):
    """`body` validated as the FHIR R4 `model` (a `fhir.resources.R4B` class), or a 400."""
    try:
        return model.model_validate_json(body or b"{}")
    except FhirInvalid as error:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FhirError(
            400, "invalid", f"Ressource FHIR invalide ({where}) : {first.get('msg', error)}"
        ) from error
    except ValueError as error:
        raise FhirError(400, "invalid", "Corps JSON invalide.") from error


def validated(model, resource: dict) -> dict:
    """`resource` checked as the FHIR R4 `model` (a `fhir.resources.R4B` class) and given
    back as built: what is sent is what was validated. (Dumping the validated model again
    gave the same JSON for twice the cost of the validation: half a search's time.)"""
    model.model_validate(resource)
    return resource


DATE_PREFIXES = {"eq": "", "ge": "__gte", "le": "__lte", "gt": "__gt", "lt": "__lt"}


def filter_dates(queryset: QuerySet, values: list[str], field_name: str) -> QuerySet:
    """Apply FHIR `date` search values (`ge2026-01-01`, `2026-03-04`...) to a date field
    (or, with `__date`, a datetime's local day); a value that is not a date is a 400."""
    for raw in values:
        prefix, value = (raw[:2], raw[2:]) if raw[:2] in DATE_PREFIXES else ("eq", raw)
        try:
            day = date.fromisoformat(value[:10])
        except ValueError as error:
            raise FhirError(400, "invalid", f"Date de recherche invalide : {raw}.") from error
        queryset = queryset.filter(**{f"{field_name}{DATE_PREFIXES[prefix]}": day})
    return queryset


def by_pk(queryset: QuerySet, resource_id: str):
    """The row of `queryset` whose integer key is `resource_id`, or None (not a number)."""
    return queryset.filter(pk=resource_id).first() if resource_id.isdigit() else None


def by_public_id(queryset: QuerySet, resource_id: str):
    """The row of `queryset` whose `public_id` is `resource_id`, or None (not a UUID)."""
    try:
        public_id = uuid.UUID(resource_id)
    except ValueError:
        return None
    return queryset.filter(public_id=public_id).first()


def tokens(values: list[str]) -> list[str]:
    """The codes of FHIR token search values (`system|code,code2`), systems dropped."""
    return [c.rpartition("|")[2] for raw in values for c in raw.split(",") if c]
