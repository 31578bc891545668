"""Writing and verifying the audit trail.

`record` and `record_many` are the recorders behind the one door for audit writes,
`espace_sante.tracing.trace` and `trace_many` (registered in `AccesConfig.ready`):
callers, in `acces` too, go through the door. `read_space_events` is the reader
behind `espace_sante.tracing.read_trail`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, Min, OuterRef, Q
from django.utils import timezone

from acces.models import GENESIS_HASH, AuditChainHead, AuditEvent, AuditSeal
from espace_sante.tracing import Actor, TrailEntry


def read_space_events(*, space, actions) -> list[TrailEntry]:
    """The space's events of these actions, newest first, in one query."""
    events = (
        AuditEvent.objects.filter(space=space, action__in=list(actions))
        .order_by("-occurred_at", "-seq")
        .only("occurred_at", "actor_label", "role", "action", "outcome", "detail")
    )
    return [
        TrailEntry(
            occurred_at=event.occurred_at,
            actor_label=event.actor_label,
            role=event.role,
            action=event.action,
            outcome=event.outcome,
            outcome_label=str(event.get_outcome_display()),
            detail=event.detail or {},
        )
        for event in events
    ]


def chain_for(*, space, actor: Actor) -> str:
    if space is not None:
        return f"space:{space.pk}"
    if actor.user is not None:
        return f"user:{actor.user.pk}"
    return f"{actor.role}"


def _target_ref(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        return str(target[0]), str(target[1])
    return target._meta.label_lower, str(getattr(target, "public_id", target.pk))


def _label(actor: Actor) -> str:
    """How the actor is named in the trail the patient reads (a professional by title)."""
    user = actor.user
    # Only a professional's account has one: for the others, no query to find none.
    is_pro = user is not None and getattr(user, "kind", None) == "professional"
    professional = getattr(user, "professional", None) if is_pro else None
    return professional.title if professional is not None else actor.label


def _lock_head(chain: str) -> AuditChainHead:
    try:
        head = AuditChainHead.objects.select_for_update().filter(chain=chain).first()
        if head is None:
            with transaction.atomic():
                AuditChainHead.objects.create(chain=chain)
            head = AuditChainHead.objects.select_for_update().get(chain=chain)
    except IntegrityError:
        head = AuditChainHead.objects.select_for_update().get(chain=chain)
    return head


def hidden_from(target: Any) -> dict:
    """Who may not read this event: those the target (a document) is hidden from.

    An event about a document a professional made invisible to the patient (or to the
    legal representatives) would tell them it exists: their trail leaves it out
    (`acces.selectors.history_for`), as their lists leave the document out.
    """
    if getattr(target, "invisible_to_patient", False):
        return {"hidden_from": "patient"}
    if getattr(target, "invisible_to_representatives", False):
        return {"hidden_from": "representatives"}
    return {}


def record(
    *,
    actor: Actor,
    action: str,
    space=None,
    target: Any = None,
    outcome: str = AuditEvent.Outcome.ALLOWED,
    basis: str = "",
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event to its chain, in the caller's transaction.

    Only the head row of the event's chain is locked, until the caller commits:
    writers on other spaces go on in parallel, and two writers on the same
    space are ordered, so the chain never forks (the unique (chain, seq) pair
    would refuse it anyway).
    """
    chain = chain_for(space=space, actor=actor)
    target_type, target_id = _target_ref(target)
    detail = {**(detail or {}), **hidden_from(target)}
    postgres = connection.vendor == "postgresql"
    # Inside the caller's transaction, no savepoint: a failure here fails the caller's work.
    with transaction.atomic(savepoint=False):
        seq, last_hash = _lock_head_row(chain) if postgres else _lock_head_orm(chain)
        event = AuditEvent(
            chain=chain,
            seq=seq + 1,
            occurred_at=timezone.now(),
            actor=actor.user,
            actor_label=_label(actor)[:200],
            role=actor.role,
            basis=basis or "",
            action=action,
            target_type=target_type,
            target_id=target_id,
            space=space,
            outcome=outcome,
            ip=actor.ip,
            detail=detail or {},
            prev_hash=last_hash,
        )
        event.hash = event.compute_hash()
        if postgres:
            _insert_and_move_head(event)
        else:
            event.save(force_insert=True)
            AuditChainHead.objects.filter(chain=chain).update(
                seq=event.seq, last_hash=event.hash, updated_at=event.occurred_at
            )
    return event


# The columns an event is written with, in order (its id comes from the database).
_EVENT_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


def _insert_and_move_head(event: AuditEvent) -> None:
    """PostgreSQL: insert the event and move its chain's head in one statement.

    One round trip instead of two, on the path of every request (the audit write is
    part of each page's time): a data-modifying CTE, then the head's update.
    """
    columns = ", ".join(connection.ops.quote_name(f.column) for f in _EVENT_FIELDS)
    placeholders = ", ".join(["%s"] * len(_EVENT_FIELDS))
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _EVENT_FIELDS]
    events, heads = AuditEvent._meta.db_table, AuditChainHead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH e AS (INSERT INTO {events} ({columns}) VALUES ({placeholders}) "  # noqa: S608
            f"RETURNING id) UPDATE {heads} SET seq = %s, last_hash = %s, updated_at = %s "
            "WHERE chain = %s RETURNING (SELECT id FROM e)",
            [*values, event.seq, event.hash, event.occurred_at, event.chain],
        )
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


def _lock_head_row(chain: str) -> tuple[int, str]:
    """PostgreSQL: lock the chain's head (created at the first event) and read it."""
    table = AuditChainHead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq, last_hash FROM {table} WHERE chain = %s FOR UPDATE",  # noqa: S608
            [chain],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0], row[1]
    head = _lock_head(chain)
    return head.seq, head.last_hash


def _lock_head_orm(chain: str) -> tuple[int, str]:
    head = _lock_head(chain)
    return head.seq, head.last_hash


def record_many(
    *,
    actor: Actor,
    action: str,
    spaces,
    outcome: str = AuditEvent.Outcome.ALLOWED,
    detail: dict | None = None,
) -> int:
    """Append the same event to the chain of each space, in bulk, in the caller's transaction.

    For sweeps over many spaces: heads are locked together (in chain order, so two
    sweeps cannot deadlock) and events and heads are written in a few statements
    (on PostgreSQL: one COPY for the events and one UPDATE … FROM unnest() for the
    heads). Each event is hashed by `AuditEvent.compute_hash`, like `record`'s.
    """
    spaces = {space.pk: space.public_id for space in spaces}
    if not spaces:
        return 0
    now = timezone.now()
    # One unsaved event, re-filled for each space: hashing goes through the model's own
    # payload() without building a model instance per event.
    event = AuditEvent(
        occurred_at=now,
        actor=actor.user,
        actor_label=_label(actor)[:200],
        role=actor.role,
        basis="",
        action=action,
        target_type="espace_sante.space",
        outcome=outcome,
        ip=actor.ip,
        detail=detail or {},
    )
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        chains = sorted(f"space:{pk}" for pk in spaces)
        heads = _lock_heads(chains, postgres=postgres)
        if len(heads) < len(chains):
            found = {chain for chain, _, _ in heads}
            missing = [chain for chain in chains if chain not in found]
            _create_missing_heads(missing, now, postgres=postgres)
            heads += _lock_heads(missing, postgres=postgres)
        hash_of = _fast_hasher(event, heads[0], str(spaces[int(heads[0][0][6:])]))
        rows, new_heads = [], []
        for chain, seq, last_hash in heads:
            space_pk = int(chain[6:])
            target_id = str(spaces[space_pk])
            if hash_of is None:
                event.chain, event.seq, event.prev_hash = chain, seq + 1, last_hash
                event.space_id, event.target_id = space_pk, target_id
                digest = event.compute_hash()
            else:
                digest = hash_of(chain, seq + 1, space_pk, target_id, last_hash)
            rows.append((chain, seq + 1, space_pk, target_id, last_hash, digest))
            new_heads.append((chain, seq + 1, digest))
        if postgres:
            _copy_events(event, rows)
            _update_heads(new_heads, now)
        else:
            AuditEvent.objects.bulk_create(
                [
                    AuditEvent(
                        chain=chain,
                        seq=seq,
                        space_id=space_pk,
                        target_id=target_id,
                        prev_hash=prev_hash,
                        hash=digest,
                        **{f: getattr(event, f) for f in _COMMON_FIELDS},
                    )
                    for chain, seq, space_pk, target_id, prev_hash, digest in rows
                ],
                batch_size=2000,
            )
            AuditChainHead.objects.bulk_update(
                [
                    AuditChainHead(chain=chain, seq=seq, last_hash=digest, updated_at=now)
                    for chain, seq, digest in new_heads
                ],
                ["seq", "last_hash", "updated_at"],
                batch_size=500,
            )
    return len(rows)


_COMMON_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_label",
    "role",
    "basis",
    "action",
    "target_type",
    "outcome",
    "ip",
    "detail",
)


def _lock_heads(chains: list[str], *, postgres: bool) -> list[tuple[str, int, str]]:
    """Lock the heads in chain order (so two bulk writers cannot deadlock) and read them."""
    heads: list[tuple[str, int, str]] = []
    for start in range(0, len(chains), 20000):
        part = chains[start : start + 20000]
        if postgres:
            # One array parameter: thousands of IN (%s, …) placeholders cost more than the query.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT chain, seq, last_hash FROM {AuditChainHead._meta.db_table} "  # noqa: S608
                    "WHERE chain = ANY(string_to_array(%s, ',')) ORDER BY chain FOR UPDATE",
                    [",".join(part)],
                )
                heads += cursor.fetchall()
        else:
            heads += (
                AuditChainHead.objects.select_for_update()
                .filter(chain__in=part)
                .order_by("chain")
                .values_list("chain", "seq", "last_hash")
            )
    return heads


def _create_missing_heads(chains: list[str], now, *, postgres: bool) -> None:
    if not postgres:
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=chain, updated_at=now) for chain in chains],
            ignore_conflicts=True,
            batch_size=500,
        )
        return
    statement = (
        f"INSERT INTO {AuditChainHead._meta.db_table} (chain, seq, last_hash, updated_at) "
        "SELECT unnest(string_to_array(%s, ',')), 0, %s, %s ON CONFLICT (chain) DO NOTHING"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(chains), 20000):
            cursor.execute(statement, [",".join(chains[start : start + 20000]), GENESIS_HASH, now])


_MARKERS = {
    '"@@chain@@"': 0,
    "9000000000000000001": 1,
    "9000000000000000002": 2,
    '"@@target@@"': 3,
    '"@@prev@@"': 4,
}


def _fast_hasher(event: AuditEvent, head: tuple[str, int, str], target_id: str):
    """hash(chain, seq, space_pk, target_id, prev_hash) for events that differ only there.

    The payload is rendered once by `AuditEvent.payload()` with markers in the
    five varying fields, then filled in per event: a million events are hashed
    without a million json.dumps. The result is checked against compute_hash()
    on the first event; on any difference, None (the caller hashes each event).
    """
    event.chain, event.seq, event.space_id = "@@chain@@", 9000000000000000001, 9000000000000000002
    event.target_id, event.prev_hash = "@@target@@", "@@prev@@"
    text = event.payload().decode()
    pieces, slots, position = [], [], 0
    for found in re.finditer("|".join(map(re.escape, _MARKERS)), text):
        pieces.append(text[position : found.start()].encode())
        slots.append(_MARKERS[found.group()])
        position = found.end()
    tail = text[position:].encode()
    if sorted(slots) != list(range(len(_MARKERS))):
        return None

    def hash_of(chain: str, seq: int, space_pk: int, target: str, prev_hash: str) -> str:
        values = (f'"{chain}"', str(seq), str(space_pk), f'"{target}"', f'"{prev_hash}"')
        digest = hashlib.sha256()
        for piece, slot in zip(pieces, slots, strict=True):
            digest.update(piece)
            digest.update(values[slot].encode())
        digest.update(tail)
        return digest.hexdigest()

    chain, seq, prev_hash = head
    space_pk = int(chain[6:])
    event.chain, event.seq, event.space_id = chain, seq + 1, space_pk
    event.target_id, event.prev_hash = target_id, prev_hash
    if hash_of(chain, seq + 1, space_pk, target_id, prev_hash) != event.compute_hash():
        return None
    return hash_of


def _copy_value(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(raw, escaped)
    return text


def _copy_events(event: AuditEvent, rows: list[tuple]) -> None:
    """COPY the events into the table: the fastest way PostgreSQL takes a million rows.

    The varying fields are digits, `space:<pk>`, a UUID and hex digests, which
    COPY's text format takes as they are; the common ones are escaped once.
    """
    common = [_copy_value(getattr(event, f)) for f in _COMMON_FIELDS[:-1]]
    common.append(_copy_value(json.dumps(event.detail, ensure_ascii=False)))
    suffix = "\t".join(common) + "\n"
    columns = ", ".join(
        ["chain", "seq", "space_id", "target_id", "prev_hash", "hash", *_COMMON_FIELDS]
    )
    statement = f"COPY {AuditEvent._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, len(rows), 5000):
            copy.write(
                "".join(
                    f"{chain}\t{seq}\t{space}\t{target}\t{prev}\t{digest}\t{suffix}"
                    for chain, seq, space, target, prev, digest in rows[start : start + 5000]
                )
            )


def _update_heads(new_heads: list[tuple[str, int, str]], now) -> None:
    statement = (
        f"UPDATE {AuditChainHead._meta.db_table} AS h "  # noqa: S608 (the model's table name)
        "SET seq = v.seq, last_hash = v.hash, updated_at = %s "
        "FROM unnest(string_to_array(%s, ','), string_to_array(%s, ',')::bigint[], "
        "string_to_array(%s, ',')) AS v(chain, seq, hash) "
        "WHERE h.chain = v.chain"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(new_heads), 20000):
            chunk = new_heads[start : start + 20000]
            cursor.execute(
                statement,
                [
                    now,
                    ",".join(c for c, _, _ in chunk),
                    ",".join(str(q) for _, q, _ in chunk),
                    ",".join(d for _, _, d in chunk),
                ],
            )


@dataclass(frozen=True)
class Break:
    chain: str
    event_id: int | None
    seq: int | None
    problem: str

    def __str__(self):
        where = f"event {self.event_id} (chain {self.chain}, seq {self.seq})"
        if self.event_id is None:
            where = f"chain {self.chain}"
        return f"{where}: {self.problem}"


def verify_chain(
    chain: str,
    *,
    head: AuditChainHead | None = None,
    from_seq: int = 1,
    prev_hash: str = GENESIS_HASH,
) -> Break | None:
    """Recompute one chain from `from_seq` (whose prev_hash must be `prev_hash`) to its end.

    Return its first break, or None when it is intact. From the first event
    (`from_seq=1`), the chain starts at the genesis hash; from a later one, the
    caller passes the hash of the event before it, as stored (`verify_range`).
    """
    expected_prev, expected_seq, last = prev_hash, from_seq, None
    events = AuditEvent.objects.filter(chain=chain, seq__gte=from_seq).order_by("seq")
    for event in events.iterator(chunk_size=2000):
        if event.seq != expected_seq:
            return Break(chain, event.pk, event.seq, f"sequence jumps from {expected_seq - 1}")
        if event.prev_hash != expected_prev:
            return Break(chain, event.pk, event.seq, "does not follow the previous event")
        if event.compute_hash() != event.hash:
            return Break(chain, event.pk, event.seq, "content changed after it was written")
        expected_prev, expected_seq, last = event.hash, expected_seq + 1, event
    if head is not None and (head.seq != expected_seq - 1 or head.last_hash != expected_prev):
        return Break(
            chain,
            last.pk if last else None,
            expected_seq - 1,
            f"chain ends before its recorded head (seq {head.seq})",
        )
    return None


def verify_seals(*, since: datetime | None = None) -> Break | None:
    """Check the seals' own chain, and that each sealed head still matches its event.

    With `since`, only the seals made from then on: the first one's link is checked
    against the previous seal's hash as stored.
    """
    expected_prev = GENESIS_HASH
    seals = AuditSeal.objects.order_by("pk")
    if since is not None:
        before = AuditSeal.objects.filter(created_at__lt=since).order_by("-pk").first()
        if before is not None:
            expected_prev = before.hash
            seals = seals.filter(pk__gt=before.pk)
    for seal in seals.iterator(chunk_size=200):
        if seal.prev_hash != expected_prev or seal.compute_hash() != seal.hash:
            return Break("seals", None, None, f"seal {seal.pk} altered")
        for chain, (seq, digest) in seal.heads.items():
            found = AuditEvent.objects.filter(chain=chain, seq=seq).values_list("hash", flat=True)
            if list(found) != [digest]:
                return Break(chain, None, seq, f"differs from what seal {seal.pk} recorded")
        expected_prev = seal.hash
    return None


def verify_all(
    *, since_id: int | None = None, since: datetime | None = None, archived: bool = False
) -> Iterator[tuple[str, Break | None]]:
    """Yield (chain, first break or None) for every chain, then the seals.

    With `since_id` or `since`, only the events after them (`verify_range`).
    """
    if since_id is not None or since is not None:
        yield from verify_range(since_id=since_id, since=since, archived=archived)
        return
    heads = {h.chain: h for h in AuditChainHead.objects.all()}
    chains = set(heads) | set(AuditEvent.objects.values_list("chain", flat=True).distinct())
    for chain in sorted(chains):
        yield chain, verify_chain(chain, head=heads.get(chain))
    yield "seals", verify_seals()


def verify_range(
    *, since_id: int | None = None, since: datetime | None = None, archived: bool = False
) -> Iterator[tuple[str, Break | None]]:
    """Verify only the events with id > `since_id` and/or from `since` on.

    Each chain with events in the range is recomputed from its first event in
    the range to its end, that event's prev_hash checked against the hash of
    the chain's previous event as stored (trusted: it is before the range), and
    the chain's head. The heads that moved in the range without any event of
    their chain left in it (a chain's new events all deleted) must still point
    at a stored event with their hash. Then the seals made in the range.

    `archived`: the months before the range were detached and archived
    (docs/OPERATIONS.md), so a chain's event before the range may be missing:
    the chain is then checked from its first event in the range, whose link to
    the archive is taken as it is stored (and checked against the archive by
    verifying the archive itself).

    A range is a range of ids: within a chain, ids grow with seq (both are taken
    under the chain's head lock). `since` starts it at the first event that
    occurred from then on. The range's events are read in one ordered query, the
    events before it and the heads in batches: a few queries whatever the number
    of chains, and only the range is read, on a trail of 100,000,000 events.
    """
    start = since
    if since is not None:
        first_id = AuditEvent.objects.filter(occurred_at__gte=since).aggregate(m=Min("pk"))["m"]
        from_date = first_id - 1 if first_id is not None else None
        if from_date is None:  # nothing from then on: an empty range (after every id)
            from_date = AuditEvent.objects.aggregate(m=Max("pk"))["m"] or 0
        since_id = max(since_id, from_date) if since_id is not None else from_date
    last_before = (
        AuditEvent.objects.filter(pk__lte=since_id)
        .order_by("-pk")
        .values_list("occurred_at", flat=True)
        .first()
    )
    if last_before is not None:
        # When the range began: heads moved since then are checked too.
        start = min(start, last_before) if start is not None else last_before
    in_range = AuditEvent.objects.filter(pk__gt=since_id)
    starts = dict(
        in_range.order_by().values("chain").annotate(first=Min("seq")).values_list("chain", "first")
    )
    chains = sorted(starts)
    heads, previous = {}, {}
    for part in range(0, len(chains), 500):
        batch = chains[part : part + 500]
        heads.update((h.chain, h) for h in AuditChainHead.objects.filter(chain__in=batch))
        wanted = [(chain, starts[chain] - 1) for chain in batch if starts[chain] > 1]
        if wanted:
            condition = Q()
            for chain, seq in wanted:
                condition |= Q(chain=chain, seq=seq)
            previous.update(
                ((c, q), h)
                for c, q, h in AuditEvent.objects.filter(condition).values_list(
                    "chain", "seq", "hash"
                )
            )
    # One pass over the range, chain by chain, in seq order.
    current, expected_prev, expected_seq, last, problem = None, "", 0, None, None

    def end_of(chain) -> Break | None:
        head = heads.get(chain)
        if (
            problem is None
            and head is not None
            and (head.seq != expected_seq - 1 or head.last_hash != expected_prev)
        ):
            return Break(
                chain,
                last.pk if last else None,
                expected_seq - 1,
                f"chain ends before its recorded head (seq {head.seq})",
            )
        return problem

    for event in in_range.order_by("chain", "seq").iterator(chunk_size=2000):
        if event.chain != current:
            if current is not None:
                yield current, end_of(current)
            current, last, problem = event.chain, None, None
            expected_seq = starts[current]
            expected_prev = GENESIS_HASH
            if expected_seq > 1:
                expected_prev = previous.get((current, expected_seq - 1))
                if expected_prev is None and archived:
                    expected_prev = event.prev_hash
                if expected_prev is None:
                    problem = Break(
                        current, None, expected_seq - 1, "the event before the range is missing"
                    )
        if problem is not None:
            continue
        if event.seq != expected_seq:
            problem = Break(current, event.pk, event.seq, f"sequence jumps from {expected_seq - 1}")
        elif event.prev_hash != expected_prev:
            problem = Break(current, event.pk, event.seq, "does not follow the previous event")
        elif event.compute_hash() != event.hash:
            problem = Break(current, event.pk, event.seq, "content changed after it was written")
        else:
            expected_prev, expected_seq, last = event.hash, expected_seq + 1, event
    if current is not None:
        yield current, end_of(current)
    # The heads that moved with no event of their chain in the range, in one query.
    heads_moved = AuditChainHead.objects.filter(seq__gt=0)
    if start is not None:
        heads_moved = heads_moved.filter(updated_at__gte=start)
    at_head = AuditEvent.objects.filter(
        chain=OuterRef("chain"), seq=OuterRef("seq"), hash=OuterRef("last_hash")
    )
    others = heads_moved.exclude(chain__in=chains).annotate(intact=Exists(at_head))
    for chain, seq, intact in others.values_list("chain", "seq", "intact").iterator(2000):
        broken = None
        if not intact:
            broken = Break(chain, None, seq, f"chain ends before its recorded head (seq {seq})")
        yield chain, broken
    yield "seals", verify_seals(since=start)


def seal() -> AuditSeal | None:
    """Record the heads that moved since the last seal, chained to the previous seal."""
    with transaction.atomic():
        previous = AuditSeal.objects.select_for_update().order_by("-pk").first()
        since = previous.created_at if previous else None
        heads = AuditChainHead.objects.filter(seq__gt=0)
        if since is not None:
            heads = heads.filter(updated_at__gte=since)
        moved = {h.chain: [h.seq, h.last_hash] for h in heads}
        if not moved:
            return None
        new = AuditSeal(heads=moved, prev_hash=previous.hash if previous else GENESIS_HASH)
        new.hash = new.compute_hash()
        new.save(force_insert=True)
        return new
