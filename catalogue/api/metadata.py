"""`/fhir/metadata`: the CapabilityStatement, from the registered resource types (the
connected services') and what the professionals' software may do (`catalogue.api.software`)."""

from __future__ import annotations

from datetime import date

from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from catalogue.api import software
from catalogue.api.views import MAX_COUNT, _response, outcome
from dossier.fhir_api import SearchParam, resource_types

# --- CapabilityStatement --------------------------------------------------------------------


PAGING = [
    {"name": "_count", "type": "number", "documentation": f"Au plus {MAX_COUNT} par page"},
    {"name": "_offset", "type": "number", "documentation": "Rang du premier résultat"},
]


def _param(p: SearchParam) -> dict:
    return {
        "name": p.name,
        "type": p.type,
        **({"documentation": p.documentation} if p.documentation else {}),
    }


def _capability(name: str) -> dict:
    """What a type offers the connected services (its registration) and the professionals'
    software (`software.CAPABILITIES`), in one entry."""
    resource_type = resource_types().get(name)
    for_software = software.CAPABILITIES.get(name)
    interactions: list[str] = list(resource_type.interactions) if resource_type else []
    params: list[SearchParam] = []
    documentation = []
    if resource_type is not None:
        params += resource_type.search_params if resource_type.search else ()
        if resource_type.documentation:
            documentation.append(f"Services connectés : {resource_type.documentation}")
    resource: dict = {"type": name}
    if for_software is not None:
        interactions += [i for i in for_software.interactions if i not in interactions]
        known = {p.name for p in params}
        params += [p for p in for_software.search_params if p.name not in known]
        documentation.append(f"Logiciels de professionnels : {for_software.documentation}")
        if for_software.profile:
            resource["supportedProfile"] = [for_software.profile]
    resource["interaction"] = [{"code": code} for code in interactions]
    if documentation:
        resource["documentation"] = " ".join(documentation)
    if params:
        resource["searchParam"] = [_param(p) for p in params] + PAGING
    return resource


def _names() -> list[str]:
    return list(dict.fromkeys([*resource_types(), *software.CAPABILITIES]))


@csrf_exempt
def metadata(request):
    if request.method != "GET":
        return outcome(405, "not-supported", "Méthode non prise en charge.", {"Allow": "GET"})
    base = request.build_absolute_uri("/fhir/")
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date.today().isoformat(),
        "kind": "instance",
        "publisher": "Mon espace santé",
        "fhirVersion": "4.3.0",
        "format": ["application/fhir+json"],
        "implementation": {
            "description": (
                "API FHIR des services référencés et des logiciels de professionnels de santé"
            ),
            "url": base,
        },
        # The professionals' software: the ANS PDSm guide, on IHE MHD (`catalogue.api.software`).
        "implementationGuide": [software.PDSM_IG, software.MHD_IG],
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
                    # SMART's OAuth2 addresses, for clients that read them here.
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [
                                {
                                    "url": name,
                                    "valueUri": request.build_absolute_uri(reverse(route)),
                                }
                                for name, route in (
                                    ("authorize", "oauth2_provider:authorize"),
                                    ("token", "oauth2_provider:token"),
                                    ("revoke", "oauth2_provider:revoke-token"),
                                )
                            ],
                        }
                    ],
                    "description": (
                        "Jeton OAuth2 (Bearer) lié à un espace connecté ; découverte : "
                        + request.build_absolute_uri("/.well-known/smart-configuration")
                    ),
                },
                "resource": [_capability(name) for name in _names()],
                "interaction": [
                    {
                        "code": "transaction",
                        "documentation": software.TRANSACTION_DOCUMENTATION,
                    }
                ],
            }
        ],
    }
    resource = CapabilityStatement.model_validate(statement)
    return _response(resource.model_dump(mode="json", exclude_none=True))
