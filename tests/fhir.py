"""Validation of FHIR R4 JSON against HL7's official JSON schema (tests/fixtures/README.md).

`assert_valid_fhir_r4(resource)` raises AssertionError with one readable line per
error: the path in the resource, then what is wrong.

Two things the schema file alone would get wrong, and what this helper does about them:

- every resource inside another one (a Bundle's entries, contained resources) sits
  behind a oneOf on resourceType, whose only error is "not valid under any of the
  given schemas"; and the copy we ship (Medplum's) lists backbone elements of its own
  in that oneOf that accept any resourceType at all. So each nested resource is
  checked on its own, against the definition its resourceType names (a resource is a
  definition whose resourceType is that very name), and its errors are reported
  instead of the oneOf's;
- the definitions of complex types do not say `"type": "object"`, so a string where
  a CodeableConcept belongs would pass; FHIR's JSON format makes every complex type
  an object, and the helper adds that.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from jsonschema import Draft6Validator
from jsonschema.exceptions import ValidationError

SCHEMA_PATH = Path(__file__).resolve().parent / "fixtures" / "fhir-r4.schema.json.gz"

Path_ = tuple[str | int, ...]


@cache
def _definitions() -> dict:
    with gzip.open(SCHEMA_PATH, "rt", encoding="utf-8") as handle:
        definitions = json.load(handle)["definitions"]
    for definition in definitions.values():
        if "properties" in definition:
            definition.setdefault("type", "object")
    return definitions


@cache
def resource_types() -> frozenset[str]:
    return frozenset(
        name
        for name, definition in _definitions().items()
        if definition.get("properties", {}).get("resourceType", {}).get("const") == name
    )


@cache
def _validator(resource_type: str) -> Draft6Validator:
    schema = {"$ref": f"#/definitions/{resource_type}", "definitions": _definitions()}
    return Draft6Validator(schema)


def _where(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(racine)"


def _nested_resources(value: object, path: Path_ = ()) -> Iterator[tuple[Path_, dict]]:
    """The resources inside `value` (not inside those), with their paths."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, dict) and "resourceType" in item:
            yield (*path, key), item
        elif isinstance(item, dict | list):
            yield from _nested_resources(item, (*path, key))


def fhir_r4_errors(resource: object) -> list[str]:
    """Every error of `resource` against the FHIR R4 schema, as readable lines, in path order."""
    return [
        f"{_where(path)} : {message}" for path, message in sorted(_errors(resource, ()), key=_order)
    ]


def _errors(resource: object, prefix: Path_) -> list[tuple[Path_, str]]:
    if not isinstance(resource, dict):
        return [(prefix, "une ressource FHIR est un objet JSON")]
    resource_type = resource.get("resourceType")
    if resource_type not in resource_types():
        return [((*prefix, "resourceType"), f"type de ressource inconnu {resource_type!r}")]
    nested = list(_nested_resources(resource))
    errors = []
    for error in _validator(resource_type).iter_errors(resource):
        path = tuple(error.absolute_path)
        if any(path[: len(inner)] == inner for inner, _resource in nested):
            continue  # the nested resource's own check below says what is wrong
        errors.append(((*prefix, *path), _message(error)))
    for path, inner in nested:
        errors.extend(_errors(inner, (*prefix, *path)))
    return errors


def _order(error: tuple[Path_, str]) -> tuple:
    path, message = error
    return (*((0, p, "") if isinstance(p, int) else (1, 0, p) for p in path), message)


def _message(error: ValidationError) -> str:
    return error.message if len(error.message) < 300 else f"{error.message[:300]}…"


def fhir_resources_errors(resource: dict) -> list[str]:
    """The errors `fhir.resources` (its R4B models, a parser nobody here wrote) finds."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError as ModelError

    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except (KeyError, ModelError) as error:
        return [f"fhir.resources : {line}" for line in str(error).splitlines()[:20]]
    return []


def assert_valid_fhir_r4(resource: dict) -> None:
    """Fail with the list of errors unless `resource` (a Bundle, a Patient...) is valid R4:
    by the official R4 JSON schema, and parsed by `fhir.resources.R4B`'s models."""
    errors = fhir_r4_errors(resource) or fhir_resources_errors(resource)
    if errors:
        listed = "\n".join(f"  - {line}" for line in errors)
        raise AssertionError(f"{len(errors)} erreur(s) FHIR R4 :\n{listed}")
