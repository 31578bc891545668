"""Connecting a space to a service, withdrawing a purpose, disconnecting, re-approving.

Each asks the policy (MANAGE_ACCESS on the space: the holder, or a minor's legal
representative) and writes one audit event in the same transaction. The events name the
service and the connection in their detail (`{"service": slug, "connection": id}`), which is
how "Mes services connectés" finds a connection's recent activity in the trail.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from acces.policy import Action, decide
from acces.principal import Principal
from catalogue.connections.actions import ConnectionAction
from catalogue.models import Connection, ConnectionPurpose, Purpose, PurposeScope, Service
from espace_sante.models import Space
from espace_sante.notifications import notify_space
from espace_sante.tracing import Actor, trace


class ConnectionRefused(Exception):
    """The person may not do this on this space (the policy said no)."""


def detail_of(connection: Connection, **extra) -> dict:
    return {"service": connection.service.slug, "connection": connection.pk, **extra}


def _decide(principal: Principal, space: Space):
    decision = decide(principal, Action.MANAGE_ACCESS, space)
    if not decision:
        raise ConnectionRefused(decision.message)
    return decision


def current_purposes(service: Service):
    return service.purposes.filter(since_version__lte=service.version).prefetch_related("scopes")


def scopes_of(purposes, version: int) -> set[str]:
    """The scopes of `purposes`, as of their service's version `version`."""
    rows = PurposeScope.objects.filter(purpose__in=purposes, since_version__lte=version)
    return {row.scope for row in rows}


@transaction.atomic
def connect(
    *,
    space: Space,
    service: Service,
    purposes: list[Purpose],
    shows_masked_documents: bool,
    principal: Principal,
    by: Actor,
) -> Connection:
    """The live connection of `space` to `service`, granting exactly `purposes` (created, or
    updated: purposes no longer ticked are withdrawn); traced, and the patient told."""
    decision = _decide(principal, space)
    if not service.is_usable:
        raise ConnectionRefused("Ce service n'est pas disponible.")
    now = timezone.now()
    connection = (
        Connection.objects.select_for_update().live().filter(space=space, service=service).first()
    )
    created = connection is None
    if created:
        connection = Connection.objects.create(
            space=space,
            service=service,
            connected_by=principal.user,
            approved_version=service.version,
            shows_masked_documents=shows_masked_documents,
        )
    else:
        connection.approved_version = service.version
        connection.shows_masked_documents = shows_masked_documents
        connection.save(update_fields=["approved_version", "shows_masked_documents"])
    wanted = {p.pk for p in purposes}
    live = set(connection.grants.live().values_list("purpose_id", flat=True))
    connection.grants.live().exclude(purpose_id__in=wanted).update(withdrawn_at=now)
    ConnectionPurpose.objects.bulk_create(
        ConnectionPurpose(connection=connection, purpose_id=pk, granted_at=now)
        for pk in wanted - live
    )
    trace(
        actor=by,
        action=ConnectionAction.SERVICE_CONNECTED,
        space=space,
        target=connection,
        basis=str(decision.basis or ""),
        detail=detail_of(
            connection,
            purposes=sorted(p.code for p in purposes),
            shows_masked_documents=shows_masked_documents,
        ),
    )
    if created:
        notify_space(
            space=space,
            template="service_connected",
            context={"when": timezone.localtime(now)},
            link=reverse("connections:list", args=[space.public_id]),
        )
    return connection


@transaction.atomic
def refuse(
    *,
    service: Service,
    space: Space | None,
    scopes: list[str],
    principal: Principal,
    by: Actor,
) -> None:
    """Trace the patient's « Refuser » on the consent page: in the trail of the space they
    had chosen, else (no space chosen yet) in their own. Nothing else changes: a live
    connection the service already has stays as it is."""
    basis = ""
    if space is not None:
        basis = str(_decide(principal, space).basis or "")
    trace(
        actor=by,
        action=ConnectionAction.SERVICE_REFUSED,
        space=space,
        target=service,
        basis=basis,
        detail={"service": service.slug, "scopes": sorted(scopes)},
    )


@transaction.atomic
def withdraw_purpose(*, grant: ConnectionPurpose, principal: Principal, by: Actor) -> None:
    connection = grant.connection
    decision = _decide(principal, connection.space)
    ConnectionPurpose.objects.filter(pk=grant.pk, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now()
    )
    trace(
        actor=by,
        action=ConnectionAction.PURPOSE_WITHDRAWN,
        space=connection.space,
        target=connection,
        basis=str(decision.basis or ""),
        detail=detail_of(connection, purpose=grant.purpose.code),
    )


def revoke_tokens(connection: Connection) -> int:
    """Revoke every code, access and refresh token of the connection, at once."""
    refresh = get_refresh_token_model().objects.filter(
        catalogue_binding__connection=connection, revoked__isnull=True
    )
    count = 0
    for token in refresh:
        token.revoke()  # marks it revoked and deletes its access token
        count += 1
    count += (
        get_access_token_model()
        .objects.filter(catalogue_binding__connection=connection)
        .delete()[0]
    )
    get_grant_model().objects.filter(catalogue_binding__connection=connection).delete()
    return count


@transaction.atomic
def disconnect(*, connection: Connection, principal: Principal, by: Actor) -> None:
    decision = _decide(principal, connection.space)
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(ended_at=now)
    connection.ended_at = now
    connection.grants.live().update(withdrawn_at=now)
    revoke_tokens(connection)
    trace(
        actor=by,
        action=ConnectionAction.SERVICE_DISCONNECTED,
        space=connection.space,
        target=connection,
        basis=str(decision.basis or ""),
        detail=detail_of(connection),
    )


@transaction.atomic
def reapprove(
    *, connection: Connection, purposes: list[Purpose], principal: Principal, by: Actor
) -> None:
    """Approve the service's current version: the purposes ticked are granted."""
    decision = _decide(principal, connection.space)
    service = connection.service
    now = timezone.now()
    live = set(connection.grants.live().values_list("purpose_id", flat=True))
    ConnectionPurpose.objects.bulk_create(
        ConnectionPurpose(connection=connection, purpose=p, granted_at=now)
        for p in purposes
        if p.pk not in live
    )
    Connection.objects.filter(pk=connection.pk).update(approved_version=service.version)
    connection.approved_version = service.version
    trace(
        actor=by,
        action=ConnectionAction.SERVICE_REAPPROVED,
        space=connection.space,
        target=connection,
        basis=str(decision.basis or ""),
        detail=detail_of(
            connection, version=service.version, purposes=sorted(p.code for p in purposes)
        ),
    )
