"""django-oauth-toolkit's validator (`OAUTH2_VALIDATOR_CLASS`): every code and token is bound
to the connection it acts for (`ConnectionToken`).

The authorization view puts the connection on the oauthlib request
(`credentials["catalogue_connection_id"]`); the code is bound when saved, the access and
refresh tokens issued from it, and those issued from a refresh, are bound to the same
connection. A code or refresh token whose connection has ended gives nothing.

A professional's software (`Software`) is bound the same way to the professional who
authorised it (`SoftwareToken`, `credentials["software_token"]`: the professional and the
assurance of their sign-in): its tokens act for that professional, on no space in particular.
"""

from __future__ import annotations

from oauth2_provider.models import get_grant_model
from oauth2_provider.oauth2_validators import OAuth2Validator

from catalogue.models import Connection, ConnectionToken, Software, SoftwareToken


def _live(connection: Connection | None) -> Connection | None:
    if connection is None or connection.ended_at is not None:
        return None
    if not connection.service.is_usable:
        return None
    return connection


def _live_software(binding: SoftwareToken | None) -> SoftwareToken | None:
    if binding is None or not binding.software.is_active:
        return None
    if not binding.professional.user.is_active:
        return None
    return binding


def _software_of(client) -> Software | None:
    return Software.objects.filter(application=client).first() if client is not None else None


class CatalogueValidator(OAuth2Validator):
    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        software_token = getattr(request, "software_token", None)
        if software_token is not None:
            grant = self._create_authorization_code(request, code)
            SoftwareToken.objects.create(grant=grant, **software_token)
            return
        connection_id = getattr(request, "catalogue_connection_id", None)
        if connection_id is None:
            raise ValueError("an authorization code must be issued for a connection")
        grant = self._create_authorization_code(request, code)
        ConnectionToken.objects.create(connection_id=connection_id, grant=grant)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        if _software_of(client) is not None:
            found = (
                SoftwareToken.objects.select_related("software", "professional__user")
                .filter(grant__code=code, grant__application=client)
                .first()
            )
            return _live_software(found) is not None
        binding = (
            ConnectionToken.objects.select_related("connection__service")
            .filter(grant__code=code, grant__application=client)
            .first()
        )
        return _live(binding.connection if binding else None) is not None

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        if _software_of(client) is not None:
            found = (
                SoftwareToken.objects.select_related("software", "professional__user")
                .filter(refresh_token=request.refresh_token_instance)
                .first()
            )
            return _live_software(found) is not None
        binding = ConnectionToken.objects.filter(
            refresh_token=request.refresh_token_instance
        ).first()
        return _live(binding.connection if binding else None) is not None

    def save_bearer_token(self, token, request, *args, **kwargs):
        if _software_of(request.client) is not None:
            request.software_binding = _live_software(self._software_binding_of(request))
            if request.software_binding is None:
                raise ValueError("a software's token must be issued for a professional")
            return super().save_bearer_token(token, request, *args, **kwargs)
        request.catalogue_connection = self._connection_of(request)
        if request.catalogue_connection is None:
            raise ValueError("a token must be issued for a connection")
        saved = super().save_bearer_token(token, request, *args, **kwargs)
        # SMART's launch context: the patient the token acts on (the space's public id, the
        # `Patient` resource's id), so a parent's app knows which child was chosen.
        token["patient"] = str(request.catalogue_connection.space.public_id)
        return saved

    def _software_binding_of(self, request) -> SoftwareToken | None:
        bindings = SoftwareToken.objects.select_related("software", "professional__user")
        if request.grant_type == "authorization_code":
            return bindings.filter(
                grant__in=get_grant_model().objects.filter(
                    code=request.code, application=request.client
                )
            ).first()
        if request.grant_type == "refresh_token":
            return bindings.filter(
                refresh_token=getattr(request, "refresh_token_instance", None)
            ).first()
        return None

    def _connection_of(self, request) -> Connection | None:
        if request.grant_type == "authorization_code":
            binding = ConnectionToken.objects.filter(
                grant__in=get_grant_model().objects.filter(
                    code=request.code, application=request.client
                )
            ).first()
        elif request.grant_type == "refresh_token":
            binding = ConnectionToken.objects.filter(
                refresh_token=getattr(request, "refresh_token_instance", None)
            ).first()
        else:
            binding = None
        return _live(binding.connection if binding else None)

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        source = getattr(request, "software_binding", None)
        if source is not None:
            request.software_access_binding = _copy_binding(source, access_token=access_token)
            return access_token
        request.catalogue_binding = ConnectionToken.objects.create(
            connection=request.catalogue_connection, access_token=access_token
        )
        return access_token

    def _create_refresh_token(
        self, request, refresh_token_code, access_token, previous_refresh_token
    ):
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        software_binding = getattr(request, "software_access_binding", None)
        if software_binding is not None:
            software_binding.refresh_token = refresh_token
            software_binding.save(update_fields=["refresh_token"])
            return refresh_token
        binding = getattr(request, "catalogue_binding", None)
        if binding is not None and binding.access_token_id == access_token.pk:
            binding.refresh_token = refresh_token
            binding.save(update_fields=["refresh_token"])
        else:
            ConnectionToken.objects.create(
                connection=request.catalogue_connection, refresh_token=refresh_token
            )
        return refresh_token


def _copy_binding(source: SoftwareToken, **token) -> SoftwareToken:
    """A binding of a new token for the professional `source` (a code's, a refresh token's)
    acts for, at the assurance of the sign-in that authorised the software."""
    return SoftwareToken.objects.create(
        software=source.software,
        professional=source.professional,
        assurance=source.assurance,
        acr=source.acr,
        **token,
    )
