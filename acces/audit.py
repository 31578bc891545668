"""Writing and verifying the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from acces.models import GENESIS_HASH, AuditChainHead, AuditEvent, AuditSeal
from espace_sante.tracing import Actor


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
    professional = getattr(actor.user, "professional", None) if actor.user else None
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
    with transaction.atomic():
        head = _lock_head(chain)
        event = AuditEvent(
            chain=chain,
            seq=head.seq + 1,
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
            prev_hash=head.last_hash,
        )
        event.hash = event.compute_hash()
        event.save(force_insert=True)
        AuditChainHead.objects.filter(chain=chain).update(
            seq=event.seq, last_hash=event.hash, updated_at=event.occurred_at
        )
    return event


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
    sweeps cannot deadlock) and events and heads are written with one statement each.
    """
    spaces = list(spaces)
    if not spaces:
        return 0
    chains = {f"space:{space.pk}": space for space in spaces}
    now = timezone.now()
    label = _label(actor)[:200]
    with transaction.atomic():
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=chain) for chain in chains], ignore_conflicts=True
        )
        heads = list(
            AuditChainHead.objects.select_for_update().filter(chain__in=chains).order_by("chain")
        )
        events = []
        for head in heads:
            space = chains[head.chain]
            event = AuditEvent(
                chain=head.chain,
                seq=head.seq + 1,
                occurred_at=now,
                actor=actor.user,
                actor_label=label,
                role=actor.role,
                basis="",
                action=action,
                target_type="espace_sante.space",
                target_id=str(space.public_id),
                space=space,
                outcome=outcome,
                ip=actor.ip,
                detail=detail or {},
                prev_hash=head.last_hash,
            )
            event.hash = event.compute_hash()
            events.append(event)
            head.seq, head.last_hash, head.updated_at = event.seq, event.hash, now
        AuditEvent.objects.bulk_create(events, batch_size=2000)
        AuditChainHead.objects.bulk_update(
            heads, ["seq", "last_hash", "updated_at"], batch_size=2000
        )
    return len(events)


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


def verify_chain(chain: str, *, head: AuditChainHead | None = None) -> Break | None:
    """Recompute one chain; return its first break, or None when it is intact."""
    expected_prev, expected_seq, last = GENESIS_HASH, 1, None
    events = AuditEvent.objects.filter(chain=chain).order_by("seq")
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


def verify_seals() -> Break | None:
    """Check the seals' own chain, and that each sealed head still matches its event."""
    expected_prev = GENESIS_HASH
    for seal in AuditSeal.objects.order_by("pk").iterator(chunk_size=200):
        if seal.prev_hash != expected_prev or seal.compute_hash() != seal.hash:
            return Break("seals", None, None, f"seal {seal.pk} altered")
        for chain, (seq, digest) in seal.heads.items():
            found = AuditEvent.objects.filter(chain=chain, seq=seq).values_list("hash", flat=True)
            if list(found) != [digest]:
                return Break(chain, None, seq, f"differs from what seal {seal.pk} recorded")
        expected_prev = seal.hash
    return None


def verify_all() -> Iterator[tuple[str, Break | None]]:
    """Yield (chain, first break or None) for every chain, then the seals."""
    heads = {h.chain: h for h in AuditChainHead.objects.all()}
    chains = set(heads) | set(AuditEvent.objects.values_list("chain", flat=True).distinct())
    for chain in sorted(chains):
        yield chain, verify_chain(chain, head=heads.get(chain))
    yield "seals", verify_seals()


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
