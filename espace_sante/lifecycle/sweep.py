"""The beat sweeps: announced spaces created, unchallenged suspensions closed, minors come
of age handed over, archives past their retention destroyed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from espace_sante import emails
from espace_sante.actions import SpaceAction
from espace_sante.lifecycle._common import _add_years, _locked
from espace_sante.lifecycle.closure import close
from espace_sante.lifecycle.destruction import destroy
from espace_sante.models import LegalRepresentative, Notification, Patient, Space
from espace_sante.notifications import notify_space
from espace_sante.services import SpaceError
from espace_sante.tracing import Actor, trace, trace_many


def sweep_announced(
    *, now: datetime | None = None, batch_size: int = 20000, parallel: int | None = None
) -> int:
    """Turn every announced space whose window has passed into created, in bulk.

    Each batch claims its rows with FOR UPDATE SKIP LOCKED, moves them and
    appends one `space_created` event per space, in one transaction: two beats
    never take the same space, a failure leaves no space moved without its
    event, and a rerun finds nothing left to do. Batches walk the primary key
    (keyset), so each one costs the same however many were swept before; a row
    another transaction held is left to the next run. On PostgreSQL the claim
    and the update are one statement that returns what the trail needs, and
    `parallel` sweepers (SWEEP_PARALLELISM) each take their own share of the
    ids (id modulo n), so the database works on every core.
    """
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings
    from django.db import connection

    now = now or timezone.now()
    if connection.vendor != "postgresql":
        return _sweep_share(now=now, batch_size=batch_size, share=(0, 1))
    parallel = parallel or settings.SWEEP_PARALLELISM
    if parallel <= 1 or connection.in_atomic_block:
        return _sweep_share(now=now, batch_size=batch_size, share=(0, 1))

    def run(k: int) -> int:
        try:
            return _sweep_share(now=now, batch_size=batch_size, share=(k, parallel))
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return sum(pool.map(run, range(parallel)))


def _sweep_share(*, now: datetime, batch_size: int, share: tuple[int, int]) -> int:
    """One sweeper: the announced spaces whose id modulo share[1] is share[0]."""
    from types import SimpleNamespace

    from django.db import connection

    total, after = 0, 0
    system = Actor.system()
    table = Space._meta.db_table
    remainder, modulo = share
    claim_sql = (
        f"WITH due AS (SELECT id FROM {table} "  # noqa: S608 (the model's table name)
        "WHERE state = %s AND opposition_deadline <= %s AND id > %s AND id %% %s = %s "
        "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
        # = ANY(ARRAY(…)) makes the update find its rows by primary key, where a join
        # would scan the whole table at every batch.
        f"UPDATE {table} SET state = %s, state_changed_at = %s "
        "WHERE id = ANY(ARRAY(SELECT id FROM due)) RETURNING id, public_id"
    )
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        claim_sql,
                        [
                            Space.State.ANNOUNCED,
                            now,
                            after,
                            modulo,
                            remainder,
                            batch_size,
                            Space.State.CREATED,
                            now,
                        ],
                    )
                    claimed = cursor.fetchall()
            else:
                claimed = list(
                    Space.objects.select_for_update(skip_locked=True)
                    .filter(state=Space.State.ANNOUNCED, opposition_deadline__lte=now, pk__gt=after)
                    .order_by("pk")
                    .values_list("pk", "public_id")[:batch_size]
                )
                Space.objects.filter(pk__in=[pk for pk, _ in claimed]).update(
                    state=Space.State.CREATED, state_changed_at=now
                )
            if not claimed:
                return total
            trace_many(
                actor=system,
                action=SpaceAction.SPACE_CREATED,
                spaces=[SimpleNamespace(pk=pk, public_id=public_id) for pk, public_id in claimed],
                detail={"from": Space.State.ANNOUNCED},
            )
            _notify_created([pk for pk, _ in claimed], now=now)
        after = max(pk for pk, _ in claimed)
        total += len(claimed)


def _notify_created(space_ids: list[int], *, now: datetime) -> None:
    """Tell each holder with an email address that their space is created, in bulk.

    The outbox rows are written in the sweep's transaction; the notification
    sweep (`send_pending_notifications`) sends them at its own pace.
    """
    from django.db import connection

    subject, body = emails.render("space_created", {})
    if connection.vendor == "postgresql":
        notification, space, patient = (
            Notification._meta.db_table,
            Space._meta.db_table,
            Patient._meta.db_table,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {notification} (recipient_id, address, space_id, kind, subject, "  # noqa: S608
                "body, link, created_at, email_state, email_attempts, email_error) "
                f"SELECT NULL, p.email, s.id, %s, %s, %s, '', %s, %s, 0, '' FROM {space} s "
                f"JOIN {patient} p ON p.id = s.holder_id WHERE s.id = ANY(%s) AND p.email <> ''",
                ["space_created", subject, body, now, Notification.EmailState.PENDING, space_ids],
            )
        return
    Notification.objects.bulk_create(
        [
            Notification(
                address=email,
                space_id=pk,
                kind="space_created",
                subject=subject,
                body=body,
                created_at=now,
            )
            for pk, email in Space.objects.filter(pk__in=space_ids)
            .exclude(holder__email="")
            .values_list("pk", "holder__email")
        ],
        batch_size=2000,
    )


def _each(queryset) -> Iterator[Space]:
    for pk in list(queryset.values_list("pk", flat=True)[:10000]):
        yield Space.objects.get(pk=pk)


def close_unchallenged_suspensions(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    due = Space.objects.filter(
        state=Space.State.SUSPENDED, state_changed_at__lte=now - Space.SUSPENSION_WINDOW
    )
    count = 0
    for space in _each(due):
        try:
            close(
                space=space,
                by=Actor.system(),
                reason="suspension sans contestation",
                channel="system",
            )
            count += 1
        except SpaceError:
            continue
    return count


def hand_over_adults(*, today: date | None = None) -> int:
    """At 18, a minor's space becomes theirs: representatives lose access, a code is sent."""
    today = today or timezone.localdate()
    adult_born_before = _add_years(today, -18)
    due = Space.objects.filter(
        holder__birth_date__lte=adult_born_before,
        handed_over_at__isnull=True,
        representatives__isnull=False,
    ).filter(pk__in=LegalRepresentative.objects.not_ended().values("space_id"))
    count = 0
    for space in _each(due.distinct()):
        with transaction.atomic():
            space = _locked(space)
            now = timezone.now()
            space.representatives.not_ended(now).update(until=now)
            space.handed_over_at = now
            space.save(update_fields=["handed_over_at"])
            trace(
                actor=Actor.system(),
                action=SpaceAction.SPACE_HANDED_OVER,
                space=space,
                target=space,
            )
            if space.holder.user_id is None:
                from espace_sante.tasks import request_code

                request_code(space=space, kind="handover")
            else:
                notify_space(space=space, template="space_handed_over")
        count += 1
    return count


def destroy_due(*, today: date | None = None, now: datetime | None = None) -> int:
    """Destroy archives past their retention and deletions whose date has come."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    due = Space.objects.filter(state=Space.State.CLOSED).filter(
        Q(retention_until__lt=today) | Q(deletion_due_at__lte=now)
    )
    count = 0
    for space in _each(due):
        destroy(space=space, by=Actor.system())
        count += 1
    return count
