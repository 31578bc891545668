"""What "Mes services connectés" reads, in a constant number of queries whatever the number
of services connected."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F, Prefetch, QuerySet, Window
from django.db.models.fields.json import KT
from django.db.models.functions import RowNumber

from acces.models import AuditEvent
from acces.selectors import history
from catalogue.models import Connection, ConnectionPurpose, Purpose
from espace_sante.models import Space


def live_connections(space: Space) -> QuerySet[Connection]:
    """The live connections of `space`, newest first, each with its service, its live grants
    (`live_grants`, with their purpose) and its service's current purposes
    (`service.current_purposes`): three queries in all."""
    return (
        Connection.objects.live()
        .filter(space=space)
        .select_related("service")
        .prefetch_related(
            Prefetch(
                "grants",
                queryset=ConnectionPurpose.objects.live()
                .select_related("purpose")
                .order_by("purpose__position", "pk"),
                to_attr="live_grants",
            ),
            Prefetch(
                "service__purposes",
                queryset=Purpose.objects.filter(since_version__lte=F("service__version")),
                to_attr="current_purposes",
            ),
        )
        .order_by("-created_at", "-pk")
    )


def recent_events(space: Space, connections, limit: int) -> dict[int, list[AuditEvent]]:
    """The `limit` newest events of the space's trail about each connection (its detail names
    it: `services.detail_of`), by connection id, in one query (a window per connection)."""
    ids = [c.pk for c in connections]
    if not ids:
        return {}
    connection = KT("detail__connection")
    rows = (
        history(space)
        .filter(detail__connection__in=ids)
        .annotate(
            about=connection,
            rank=Window(
                RowNumber(),
                partition_by=[connection],
                order_by=[F("occurred_at").desc(), F("seq").desc()],
            ),
        )
        .filter(rank__lte=limit)
    )
    events: dict[int, list[AuditEvent]] = defaultdict(list)
    for event in rows:  # newest first, as `history` orders them
        events[int(event.about)].append(event)
    return events
