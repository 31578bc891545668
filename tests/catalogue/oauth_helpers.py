"""A referenced service with its OAuth2 client, and the authorization code + PKCE dance."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

from oauth2_provider.models import Application

from catalogue.models import Purpose, PurposeScope, Service

REDIRECT_URI = "https://appli.exemple.fr/retour"
READ_DOCS = "patient/DocumentReference.read"
READ_OBS = "patient/Observation.read"
WRITE_OBS = "patient/Observation.write"


def make_service(*, status=Service.Status.ONLINE, slug="suivi-tension") -> Service:
    application = Application.objects.create(
        name=f"Client {slug}",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        algorithm="",
    )
    service = Service.objects.create(
        slug=slug,
        name="Suivi Tension",
        editor="Éditions Cardio",
        summary="Suivre sa tension",
        description="Un carnet de tension.",
        terms_url="https://appli.exemple.fr/cgu",
        privacy_url="https://appli.exemple.fr/confidentialite",
        referenced_on=date(2026, 1, 5),
        status=status,
        application=application,
    )
    measures = Purpose.objects.create(
        service=service,
        code="mesures",
        label="Suivre vos mesures",
        description="Lire et ajouter vos mesures de tension.",
        position=1,
    )
    PurposeScope.objects.create(purpose=measures, resource="Observation", access="read")
    PurposeScope.objects.create(purpose=measures, resource="Observation", access="write")
    documents = Purpose.objects.create(
        service=service,
        code="documents",
        label="Lire vos comptes rendus",
        description="Lire les documents de votre dossier.",
        position=2,
    )
    PurposeScope.objects.create(purpose=documents, resource="DocumentReference", access="read")
    return service


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def authorize_url(service, *, scope, challenge, state="etat-1") -> str:
    params = {
        "response_type": "code",
        "client_id": service.application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": state,
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return "/oauth/authorize/?" + urlencode(params)


def consent(client, service, *, space, purposes, scope, challenge, masked="non", allow=True):
    """Open the consent page, then answer it as the patient would: the response of the POST."""
    page = client.get(authorize_url(service, scope=scope, challenge=challenge))
    assert page.status_code == 200, page.content.decode()[:2000]
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if form[name].is_hidden}
    data |= {"space": str(space.public_id), "purposes": [str(p.pk) for p in purposes]}
    data["shows_masked_documents"] = masked
    if allow:
        data["allow"] = "on"
    return client.post("/oauth/authorize/", data)


def code_from(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(REDIRECT_URI)
    assert query["state"] == ["etat-1"]
    return query["code"][0]


def exchange(client, service, code, verifier):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": service.application.client_id,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return client.post("/oauth/token/", data)


def refresh(client, service, refresh_token):
    return client.post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": service.application.client_id,
        },
    )
