"""A professional's software (`catalogue.models.Software`) and tokens acting for a
professional: what the PDSm API tests start from."""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, set_token_value

from catalogue.models import Software, SoftwareToken
from catalogue.scopes import SOFTWARE_SCOPES
from espace_sante.assurance import AssuranceLevel

INS = "urn:oid:1.2.250.1.213.1.4.8"
LOINC = "http://loinc.org"
CONSULTATION = "11488-4"  # compte rendu de consultation: not in the pharmacists' row
REDIRECT_URI = "https://logiciel.exemple.fr/retour"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_software(*, slug=None, name="Cabinet Plus", active=True) -> Software:
    slug = slug or f"cabinet-{secrets.token_hex(3)}"
    application = Application.objects.create(
        name=slug,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        algorithm="",
    )
    return Software.objects.create(
        name=name,
        slug=slug,
        editor="Éditions Médicales",
        homologation_ref="SEGUR-DMP-2026-001",
        is_active=active,
        application=application,
    )


@dataclass
class SoftwareAuth:
    token: str
    software: Software
    access_token: AccessToken

    @property
    def headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


def authorise(professional, *, software=None, scopes=tuple(SOFTWARE_SCOPES), **kw) -> SoftwareAuth:
    """A token of `software` for `professional`, as their authorisation leaves it."""
    software = software or make_software()
    raw = secrets.token_urlsafe(30)
    token = AccessToken(
        user=professional.user,
        application=software.application,
        scope=" ".join(scopes),
        expires=kw.pop("expires", timezone.now() + timedelta(minutes=15)),
    )
    set_token_value(token, raw)
    token.save()
    SoftwareToken.objects.create(
        software=software,
        professional=professional,
        assurance=int(kw.pop("assurance", AssuranceLevel.IDENTITY_PROVIDER)),
        acr=kw.pop("acr", "eidas1"),
        access_token=token,
    )
    return SoftwareAuth(raw, software, token)


def document_reference(nir, *, data=PDF, type_code=CONSULTATION, title="Compte rendu", **more):
    """An ITI-105 DocumentReference with its content inline."""
    resource = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {
            "system": "urn:ietf:rfc:3986",
            "value": more.pop("master", f"urn:uuid:{uuid.uuid4()}"),
        },
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": type_code}]},
        "subject": {"identifier": {"system": INS, "value": nir}},
        "description": title,
        "content": [
            {
                "attachment": {
                    "contentType": more.pop("content_type", "application/pdf"),
                    "data": base64.b64encode(data).decode("ascii"),
                }
            }
        ],
        "context": {"period": {"start": "2026-11-20"}},
    }
    resource.update(more)
    return resource


def transaction(nir, *, data=PDF, type_code=CONSULTATION, title="Compte rendu", **more) -> dict:
    """An ITI-65 transaction Bundle: SubmissionSet, DocumentReference, Binary."""
    binary_url = f"urn:uuid:{uuid.uuid4()}"
    reference = document_reference(nir, data=data, type_code=type_code, title=title, **more)
    attachment = reference["content"][0]["attachment"]
    del attachment["data"]
    attachment["url"] = binary_url
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "List",
                    "status": "current",
                    "mode": "working",
                    "code": {
                        "coding": [
                            {
                                "system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes",
                                "code": "submissionset",
                            }
                        ]
                    },
                    "entry": [{"item": {"reference": "urn:uuid:doc"}}],
                },
                "request": {"method": "POST", "url": "List"},
            },
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": reference,
                "request": {"method": "POST", "url": "DocumentReference"},
            },
            {
                "fullUrl": binary_url,
                "resource": {
                    "resourceType": "Binary",
                    "contentType": attachment["contentType"],
                    "data": base64.b64encode(data).decode("ascii"),
                },
                "request": {"method": "POST", "url": "Binary"},
            },
        ],
    }
