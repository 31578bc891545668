"""The daily notice of what connected services wrote: grouped, at most once a day per
space, content-free (no service name, no value: a service's name can say an illness).

A service's API writes count on its connection (`Connection.pending_writes`, incremented
by `catalogue.api.views.Call.wrote`). The beat (`send_write_notices`, every day at 18 h)
tells the holder, or a minor's legal representatives, once per space: "N services
connectés ont ajouté des données à votre espace (M ajouts)", with a link to « Mes services
connectés ». Each space is claimed in its own transaction, its connections locked: the
counts told are subtracted (not set to zero), so a write arriving meanwhile waits for the
next day; a space told since local midnight is skipped, so a second run, or a second
worker, sends nothing; a failure rolls the space back whole (its counts stay, nothing
left), to be told at the next run.
"""

from __future__ import annotations

from datetime import datetime, time

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from catalogue.connections.actions import ConnectionAction
from catalogue.models import Connection
from espace_sante.models import Space
from espace_sante.notifications import notify_space
from espace_sante.tracing import Actor, trace


def _local_midnight(now: datetime) -> datetime:
    day = timezone.localdate(now)
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def notify_writes(space_id: int, *, now: datetime | None = None) -> bool:
    """Tell one space what its services wrote since its last notice; False if nothing was
    ours to tell (no writes, or already told today)."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(Connection.objects.select_for_update().filter(space_id=space_id).order_by("pk"))
        midnight = _local_midnight(now)
        if any(c.writes_notified_at and c.writes_notified_at >= midnight for c in rows):
            return False
        written = [c for c in rows if c.pending_writes > 0]
        if not written:
            return False
        total = sum(c.pending_writes for c in written)
        for connection in written:
            Connection.objects.filter(pk=connection.pk).update(
                pending_writes=F("pending_writes") - connection.pending_writes,
                writes_notified_at=now,
            )
        space = Space.objects.select_related("holder").get(pk=space_id)
        if space.state not in (Space.State.CREATED, Space.State.ACTIVE):
            return False  # counted as told: a closed space hears nothing more
        notify_space(
            space=space,
            template="service_writes",
            context={"services": len(written), "writes": total},
            link=reverse("connections:list", args=[space.public_id]),
        )
        trace(
            actor=Actor.system(),
            action=ConnectionAction.WRITES_NOTIFIED,
            space=space,
            detail={"services": len(written), "writes": total},
        )
    return True


def send_write_notices(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """The beat's sweep: every space with pending writes, by batches of ids."""
    sent, last = 0, 0
    while True:
        ids = list(
            Connection.objects.filter(pending_writes__gt=0, space_id__gt=last)
            .order_by("space_id")
            .values_list("space_id", flat=True)
            .distinct()[:batch_size]
        )
        if not ids:
            return sent
        for space_id in ids:
            sent += notify_writes(space_id, now=now)
        last = ids[-1]
