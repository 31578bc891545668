"""A service connected to a space, with a live Bearer token: what the API tests start from."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, set_token_value

from catalogue import scopes as scope_names
from catalogue.models import (
    Connection,
    ConnectionPurpose,
    ConnectionToken,
    Purpose,
    PurposeScope,
    Service,
)


@dataclass
class Connected:
    token: str
    service: Service
    connection: Connection
    purpose: Purpose
    access_token: AccessToken
    grant: ConnectionPurpose


def connect(space, scopes=("patient/Observation.read", "patient/Observation.write"), **kw):
    """Connect `space` to a new service granted `scopes`, and give the raw token."""
    slug = kw.pop("slug", f"glucometre-{secrets.token_hex(3)}")
    user = kw.pop("user", None) or space.holder.user  # a minor's: a representative
    application = Application.objects.create(
        name=slug,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://app.example/callback",
        algorithm="",
    )
    service = Service.objects.create(
        slug=slug,
        name=kw.pop("name", "Glucomètre connecté"),
        editor="Éditeur",
        summary="Lecteur de glycémie",
        description="Envoie vos glycémies.",
        terms_url="https://app.example/cgu",
        privacy_url="https://app.example/confidentialite",
        referenced_on=date(2026, 1, 1),
        application=application,
    )
    purpose = Purpose.objects.create(
        service=service, code="suivi", label="Suivi", description="Suivre vos mesures."
    )
    for name in scopes:
        resource, access, category = scope_names.parse(name)
        PurposeScope.objects.create(
            purpose=purpose, resource=resource, access=access, document_category=category
        )
    connection = Connection.objects.create(space=space, service=service, connected_by=user)
    grant = ConnectionPurpose.objects.create(connection=connection, purpose=purpose)
    raw = secrets.token_urlsafe(30)
    token = AccessToken(
        user=user,
        application=application,
        scope=" ".join(kw.pop("token_scopes", scopes)),
        expires=kw.pop("expires", timezone.now() + timedelta(minutes=15)),
    )
    set_token_value(token, raw)
    token.save()
    ConnectionToken.objects.create(connection=connection, access_token=token)
    return Connected(raw, service, connection, purpose, token, grant)


def bearer(connected: Connected) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {connected.token}"}
