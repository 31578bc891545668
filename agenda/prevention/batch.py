"""The nightly computation of everyone's prevention reminders, in batches.

Set-based: a batch reads the spaces whose `PreventionStatus.next_check_on` has come (or
that have none yet) in one keyset query, their facts in four more (`contexts_for`), runs
the pure engine in memory (people of the same birth date and sex with nothing recorded
get the same answer: it is computed once), then writes the statuses in one upsert and
the notifications in one insert. A space is looked at again only on the next day anything
changes for it (a window opens, comes close to its end or closes), or when the person
answers (`services._recheck`).

Notifications: when an item becomes due, and again 30 days before its window closes,
at most one a week per person, content-free ("Vous avez un rappel de prévention dans votre
agenda santé" and a link). Idempotent: a second run on the same day finds nothing to do;
a batch is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from agenda.models import PreventionStatus
from agenda.prevention import engine
from agenda.prevention.rules import active_rules
from agenda.prevention.selectors import contexts_for
from espace_sante import emails
from espace_sante.models import LegalRepresentative, Notification, Space, User

BATCH_SIZE = 2000
QUIET_DAYS = 7  # at most one notification a week per person
RECHECK_DAYS = 365  # a space with nothing coming is looked at again a year later
TEMPLATE = "prevention_due"


@dataclass
class Stats:
    spaces: int = 0
    batches: int = 0
    notified_spaces: int = 0
    notifications: int = 0
    computed: int = 0  # engine runs (the rest reused a same-age answer)
    notification_ids: list[int] = field(default_factory=list)


def run(
    today: date | None = None, *, batch_size: int = BATCH_SIZE, enqueue=True, parallel: int = 1
) -> Stats:
    """Compute the reminders of every space due for a look on `today`.

    On PostgreSQL, `parallel` processes (forked) each take the spaces whose id modulo
    `parallel` is theirs: the engine is Python, so processes, not threads, use the cores.
    """
    from django.db import connection, connections

    today = today or timezone.localdate()
    if parallel <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return _run_share(today, batch_size, enqueue, (0, 1))
    import multiprocessing

    connections.close_all()  # each process opens its own
    context = multiprocessing.get_context("fork")
    with context.Pool(parallel) as pool:
        shares = pool.starmap(
            _run_share, [(today, batch_size, enqueue, (k, parallel)) for k in range(parallel)]
        )
    total = Stats()
    for share in shares:
        for name in ("spaces", "batches", "notified_spaces", "notifications", "computed"):
            setattr(total, name, getattr(total, name) + getattr(share, name))
    return total


def _run_share(today, batch_size, enqueue, share) -> Stats:
    from django.db import connections

    remainder, modulo = share
    rules = active_rules()
    subject, body = emails.render(TEMPLATE, {})
    stats = Stats()
    memo: dict = {}
    after = 0
    while True:
        spaces = Space.objects.filter(state=Space.State.ACTIVE, pk__gt=after)
        if modulo > 1:
            spaces = spaces.alias(share=F("pk") % modulo).filter(share=remainder)
        rows = list(
            spaces.filter(
                Q(prevention_status__isnull=True) | Q(prevention_status__next_check_on__lte=today)
            )
            .order_by("pk")
            .values_list(
                "pk",
                "public_id",
                "holder__birth_date",
                "holder__sex",
                "prevention_status__last_notified_on",
                "prevention_status__notified_due",
                "prevention_status__notified_closing",
            )[:batch_size]
        )
        if not rows:
            break
        after = rows[-1][0]
        ids = _batch(rows, rules, today, memo, stats, (subject, body))
        stats.batches += 1
        stats.spaces += len(rows)
        if enqueue and ids:
            from agenda.prevention.tasks import send_prevention_notifications

            transaction.on_commit(
                lambda ids=ids: send_prevention_notifications.delay(ids), robust=True
            )
        stats.notification_ids.extend(ids if len(stats.notification_ids) < 10_000 else ())
    if modulo > 1:
        connections.close_all()  # a forked process leaves no connection behind
        stats.notification_ids = []
    return stats


def _due(result: engine.Result, today: date):
    """(due keys, closing keys) of a result."""
    due, closing = [], []
    soon = today + timedelta(days=engine.CLOSING_DAYS)
    for item in result.items:
        if item.state in (engine.DUE, engine.OVERDUE):
            due.append(item.key)
            if item.state == engine.DUE and item.window_end is not None and item.window_end <= soon:
                closing.append(item.key)
    return frozenset(due), frozenset(closing), result.next_change


@transaction.atomic
def _batch(rows, rules, today, memo, stats, message) -> list[int]:
    contexts = contexts_for({row[0]: (row[2], row[3]) for row in rows}, rules)
    statuses, to_notify = [], []
    for pk, public_id, birth, sex, last_notified, told_due, told_closing in rows:
        context = contexts[pk]
        plain = not (context.facts or context.answers.declined or context.answers.programmes_off)
        plain = plain and not context.person.conditions
        key = (birth, sex)
        if plain and key in memo:
            due, closing, next_change = memo[key]
        else:
            result = engine.compute(context.person, rules, context.facts, context.answers, today)
            stats.computed += 1
            due, closing, next_change = _due(result, today)
            if plain:
                memo[key] = (due, closing, next_change)
        told_due = frozenset(told_due or ()) & due
        told_closing = frozenset(told_closing or ()) & due
        news = (due - told_due) | (closing - told_closing)
        quiet_until = last_notified + timedelta(days=QUIET_DAYS) if last_notified else None
        next_check = next_change or today + timedelta(days=RECHECK_DAYS)
        if news and (quiet_until is None or quiet_until <= today):
            to_notify.append((pk, public_id))
            last_notified = today
            told_due, told_closing = due, closing
        elif news:
            next_check = min(next_check, quiet_until)  # told this week: try again next week
        statuses.append(
            PreventionStatus(
                space_id=pk,
                next_check_on=next_check,
                computed_on=today,
                due_count=len(due),
                last_notified_on=last_notified,
                notified_due=sorted(told_due),
                notified_closing=sorted(told_closing),
            )
        )
    _write_statuses(statuses)
    ids = _notify(to_notify, message) if to_notify else []
    stats.notified_spaces += len(to_notify)
    stats.notifications += len(ids)
    return ids


STATUS_FIELDS = [
    "next_check_on",
    "computed_on",
    "due_count",
    "last_notified_on",
    "notified_due",
    "notified_closing",
]


def _write_statuses(statuses) -> None:
    """One upsert for the batch: on PostgreSQL a single statement over arrays (`unnest`),
    which costs a fraction of the ORM's per-row SQL; elsewhere `bulk_create`."""
    from django.db import connection

    if connection.vendor != "postgresql":
        PreventionStatus.objects.bulk_create(
            statuses,
            update_conflicts=True,
            unique_fields=["space"],
            update_fields=STATUS_FIELDS,
        )
        return
    import json

    table = PreventionStatus._meta.db_table
    updates = ", ".join(f"{f} = EXCLUDED.{f}" for f in STATUS_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (space_id, {', '.join(STATUS_FIELDS)}) "  # noqa: S608
            "SELECT s, n, c, d, l, nd::jsonb, nc::jsonb FROM unnest("
            "%s::bigint[], %s::date[], %s::date[], %s::int[], %s::date[], %s::text[], "
            "%s::text[]) AS t(s, n, c, d, l, nd, nc) "
            f"ON CONFLICT (space_id) DO UPDATE SET {updates}",
            [
                [st.space_id for st in statuses],
                [st.next_check_on for st in statuses],
                [st.computed_on for st in statuses],
                [st.due_count for st in statuses],
                [st.last_notified_on for st in statuses],
                [json.dumps(st.notified_due) for st in statuses],
                [json.dumps(st.notified_closing) for st in statuses],
            ],
        )


def _notify(spaces, message) -> list[int]:
    """One content-free notification to the holder and each current representative of each
    space (two queries to find them, one insert)."""
    subject, body = message
    by_id = dict(spaces)
    recipients = list(
        User.objects.filter(patient__space__in=by_id, is_active=True).values_list(
            "pk", "patient__space"
        )
    )
    recipients += list(
        LegalRepresentative.objects.current()
        .filter(space_id__in=by_id, user__is_active=True)
        .values_list("user_id", "space_id")
    )
    now = timezone.now()
    # One reverse() for the batch: the link differs only by the space's id.
    placeholder = "00000000-0000-0000-0000-000000000000"
    link = reverse("agenda:prevention", args=[placeholder])
    rows = [
        Notification(
            recipient_id=user_id,
            space_id=space_id,
            kind=TEMPLATE,
            subject=subject,
            body=body,
            link=link.replace(placeholder, str(by_id[space_id])),
            created_at=now,
            email_state=Notification.EmailState.PENDING,
            email_message_id=emails.new_message_id(),
        )
        for user_id, space_id in dict.fromkeys(recipients)
    ]
    from django.db import connection

    if connection.vendor != "postgresql":
        return [n.pk for n in Notification.objects.bulk_create(rows, batch_size=2000)]
    # On PostgreSQL, one statement over arrays (the subject and body are the same for all).
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Notification._meta.db_table} "  # noqa: S608
            "(recipient_id, address, space_id, kind, subject, body, link, created_at, "
            "email_state, email_attempts, email_error, email_message_id) "
            "SELECT r, '', s, %s, %s, %s, l, %s, %s, 0, '', m FROM unnest("
            "%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS t(r, s, l, m) RETURNING id",
            [
                TEMPLATE,
                subject,
                body,
                now,
                Notification.EmailState.PENDING,
                [n.recipient_id for n in rows],
                [n.space_id for n in rows],
                [n.link for n in rows],
                [n.email_message_id for n in rows],
            ],
        )
        return [row[0] for row in cursor.fetchall()]
