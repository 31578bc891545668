"""From a bearer token to the principal the policy decides for: the one door of the API.

`access_for(raw_token)` finds the django-oauth-toolkit access token by its checksum (the
token itself is not stored: `COMPLIANT_BCP_RFC9700_TOKEN_STORAGE`), then its connection
(`ConnectionToken`), and gives the `AppAccess` the API acts with, or a `TokenRefused`
with the reason. The scopes it acts with are those of the token **and** still granted on
the connection now: withdrawing a purpose narrows a token already issued at once, a
disconnection or a suspended service stops it.

A professional's software has its own tokens (`SoftwareToken`): `access_for` gives then a
`SoftwareAccess`, the professional who authorised it acting through it, on any space the
policy opens to them, at the assurance of the sign-in they authorised it with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from acces.models import Professional
from acces.principal import Principal
from catalogue.models import Connection, ConnectionPurpose, PurposeScope, Service, Software
from catalogue.scopes import SOFTWARE_SCOPES
from espace_sante.assurance import AssuranceLevel
from espace_sante.models import Space


@dataclass(frozen=True)
class AppAccess:
    """A service acting for a space, within `scopes`."""

    principal: Principal
    connection: Connection
    service: Service
    space: Space
    scopes: frozenset[str]
    token_id: int

    @property
    def rate_key(self) -> str:
        return f"service:{self.service.pk}"


@dataclass(frozen=True)
class SoftwareAccess:
    """A professional's software acting for the professional who authorised it, within
    `scopes`; the space is the one each call names (the patient's INS)."""

    principal: Principal
    software: Software
    professional: Professional
    scopes: frozenset[str]
    token_id: int

    @property
    def rate_key(self) -> str:
        return f"software:{self.software.pk}:{self.professional.pk}"


class TokenRefused(Exception):
    """The token does not let anyone act: `reason` is one of `REASONS`."""

    REASONS = {
        "missing": "Jeton d'accès manquant.",
        "invalid": "Jeton d'accès inconnu ou révoqué.",
        "expired": "Jeton d'accès expiré.",
        "not_bound": "Ce jeton n'est lié à aucun espace.",
        "disconnected": "Ce service a été déconnecté par le patient.",
        "service_unavailable": "Ce service n'est plus référencé ou est suspendu.",
        "account_inactive": "Le compte de la personne n'est plus actif.",
        "software_inactive": "Ce logiciel n'est plus autorisé à appeler le service.",
    }

    def __init__(self, reason: str):
        super().__init__(self.REASONS[reason])
        self.reason = reason


def granted_scopes(connection: Connection, *, today=None) -> frozenset[str]:
    """What the connection grants now: the live purposes' scopes, each as of the version
    the patient approved; a scope asked by a newer version counts only until the service's
    re-approval deadline."""
    today = today or timezone.localdate()
    service = connection.service
    purpose_ids = (
        ConnectionPurpose.objects.live().filter(connection=connection).values("purpose_id")
    )
    rows = PurposeScope.objects.filter(purpose_id__in=purpose_ids).values_list(
        "resource", "access", "document_category", "since_version"
    )
    in_grace = service.reapproval_deadline is not None and today <= service.reapproval_deadline
    return frozenset(
        PurposeScope(resource=resource, access=access, document_category=category).scope
        for resource, access, category, since in rows
        if since <= connection.approved_version or in_grace
    )


def access_for(raw_token: str) -> AppAccess | SoftwareAccess:
    """The access `raw_token` gives, or `TokenRefused`."""
    if not raw_token:
        raise TokenRefused("missing")
    checksum = hashlib.sha256(raw_token.encode("utf-8")).hexdigest()
    token = (
        get_access_token_model()
        .objects.select_related(
            "user",
            "catalogue_binding__connection__service",
            "catalogue_binding__connection__space",
            "software_binding__software__application",
            "software_binding__professional__user",
        )
        .filter(token_checksum=checksum)
        .first()
    )
    if token is None:
        raise TokenRefused("invalid")
    if token.is_expired():
        raise TokenRefused("expired")
    software_binding = getattr(token, "software_binding", None)
    if software_binding is not None:
        return _software_access(token, software_binding)
    binding = getattr(token, "catalogue_binding", None)
    if binding is None:
        raise TokenRefused("not_bound")
    connection = binding.connection
    if connection.ended_at is not None:
        raise TokenRefused("disconnected")
    if not connection.service.is_usable:
        raise TokenRefused("service_unavailable")
    user = token.user
    if user is None or not user.is_active:
        raise TokenRefused("account_inactive")
    scopes = frozenset(token.scope.split()) & granted_scopes(connection)
    return AppAccess(
        principal=Principal.app_for(
            user,
            connection.service.application.client_id,
            scopes,
            shows_masked=connection.shows_masked_documents,
        ),
        connection=connection,
        service=connection.service,
        space=connection.space,
        scopes=scopes,
        token_id=token.pk,
    )


def _software_access(token, binding) -> SoftwareAccess:
    software, professional = binding.software, binding.professional
    if not software.is_active:
        raise TokenRefused("software_inactive")
    if not professional.user.is_active or token.user_id != professional.user_id:
        raise TokenRefused("account_inactive")
    scopes = frozenset(token.scope.split()) & frozenset(SOFTWARE_SCOPES)
    return SoftwareAccess(
        principal=Principal.app_for(
            professional.user,
            software.application.client_id,
            scopes,
            assurance=AssuranceLevel(binding.assurance),
            acr=binding.acr,
            # The professional's own masking rules apply (`acces.policy`), not an app's.
            shows_masked=True,
        ),
        software=software,
        professional=professional,
        scopes=scopes,
        token_id=token.pk,
    )
