"""Who acts, and the one door through which every app writes the audit trail.

Every audit write in the project calls `trace` (or `trace_many`), whatever the
app. The trail itself lives in `acces` (which uses this package, not the other
way round): `acces` registers its recorder here when it loads
(`AccesConfig.ready`), so the space's own services trace in the same
transaction as they act without importing `acces`. It registers a reader too,
through which the space core reads its own lifecycle events (`read_trail`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from django.http import HttpRequest

    from espace_sante.models import Space, User


@dataclass(frozen=True)
class Actor:
    """The person (or the system) behind an action, with where the request came from."""

    user: User | None
    role: str
    ip: str | None = None
    # When a connected service or a professional's software acts for the person: what the
    # trail says of it (its name, client id, connection), merged into the detail of every
    # event written for this actor, so the one event of a call names who made it.
    via: dict | None = field(default=None, compare=False, hash=False)

    SYSTEM = "system"
    ANONYMOUS = "anonymous"

    @classmethod
    def system(cls) -> Actor:
        return cls(user=None, role=cls.SYSTEM)

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        user = request.user if request.user.is_authenticated else None
        role = user.kind if user is not None else cls.ANONYMOUS
        return cls(user=user, role=role, ip=client_ip(request))

    @property
    def label(self) -> str:
        if self.user is None:
            return "Système" if self.role == self.SYSTEM else "Personne non connectée"
        return self.user.get_full_name()


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting X-Forwarded-For only through the configured proxies."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


Recorder = Callable[..., Any]
_recorder: Recorder | None = None
_bulk_recorder: Recorder | None = None
_reader: Callable[..., list[TrailEntry]] | None = None


@dataclass(frozen=True)
class TrailEntry:
    """One event of a space's trail, as the space core may read it (`read_trail`)."""

    occurred_at: datetime
    actor_label: str
    role: str
    action: str
    outcome: str
    outcome_label: str
    detail: dict = field(default_factory=dict)


def register_recorder(recorder: Recorder, bulk_recorder: Recorder) -> None:
    global _recorder, _bulk_recorder
    _recorder, _bulk_recorder = recorder, bulk_recorder


def register_reader(reader: Callable[..., list[TrailEntry]]) -> None:
    global _reader
    _reader = reader


def read_trail(*, space: Space, actions) -> list[TrailEntry]:
    """The space's events whose action is one of `actions`, newest first."""
    if _reader is None:
        raise RuntimeError("no audit reader registered: is 'acces' in INSTALLED_APPS?")
    return _reader(space=space, actions=actions)


def trace_many(
    *,
    actor: Actor,
    action: str,
    spaces,
    outcome: str = "allowed",
    detail: dict | None = None,
) -> int:
    """Append one event per space, in bulk (for the sweeps of the lifecycle)."""
    if _bulk_recorder is None:
        raise RuntimeError("no audit recorder registered: is 'acces' in INSTALLED_APPS?")
    return _bulk_recorder(actor=actor, action=action, spaces=spaces, outcome=outcome, detail=detail)


def trace(
    *,
    actor: Actor,
    action: str,
    space: Space | None = None,
    target: Any = None,
    outcome: str = "allowed",
    basis: str = "",
    detail: dict | None = None,
):
    """Append one audit event; must be called inside the transaction of the action.

    `target` is a model instance or a `(type, id)` pair; the event goes to the
    space's chain, else to the actor's own chain.
    """
    if _recorder is None:
        raise RuntimeError("no audit recorder registered: is 'acces' in INSTALLED_APPS?")
    if actor.via:
        detail = {**actor.via, **(detail or {})}
    return _recorder(
        actor=actor,
        action=action,
        space=space,
        target=target,
        outcome=outcome,
        basis=basis,
        detail=detail,
    )
