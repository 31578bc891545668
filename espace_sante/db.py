"""Reads of public pages from a read replica (`DATABASE_REPLICA_URL`, docs/SCALING.md).

Nothing reads the replica unless a view asks for it with `@replica_reads`, and then only
while the request has written nothing: the first write (through the ORM or a raw cursor
on the primary) sends every later read of the request to the primary, so a view never
reads back an older copy of what it has just written. Inside `transaction.atomic` every
read goes to the primary too, as do the models that say who is signed in (sessions,
users, second factors, lockouts): a replica that lags must never sign anyone out, nor let
a revoked session, a changed password or a removed device back in. Writes always go to
the primary, migrations run on the primary only.

Without a `replica` alias the router changes nothing. A replica that cannot be reached
is skipped, logged, and not tried again for `RETRY_AFTER_SECONDS`: the page is then read
from the primary.
"""

from __future__ import annotations

import functools
import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA_DB_ALIAS = "replica"
RETRY_AFTER_SECONDS = 30.0

# Who is signed in, and whether they may be: always as the primary has it.
_PRIMARY_ONLY_APPS = frozenset({"sessions", "auth", "otp_totp", "otp_email", "otp_static", "axes"})


@dataclass
class _ReadOnlyRequest:
    wrote: bool = False
    replica_ok: bool | None = None


_current: ContextVar[_ReadOnlyRequest | None] = ContextVar("replica_reads", default=None)
_replica_down_until = 0.0


def replica_configured() -> bool:
    return REPLICA_DB_ALIAS in connections.settings


@contextmanager
def reading_from_replica():
    """For the duration of the block, reads that qualify go to the replica (module doc)."""
    state = _ReadOnlyRequest()
    token = _current.set(state)

    def watch(execute, sql, params, many, context):
        # Raw SQL on the primary (the audit trail's insert) never asks the router.
        if sql.lstrip()[:6].upper() != "SELECT":
            state.wrote = True
        return execute(sql, params, many, context)

    try:
        with connections[DEFAULT_DB_ALIAS].execute_wrapper(watch):
            yield state
    finally:
        _current.reset(token)


def replica_reads(view):
    """Mark a view whose pages may be read from the replica: public pages that trace
    nothing. Never put it on a page of a space (each writes its audit event)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        # Who is signed in is settled first, on the primary (the user and the session).
        user = getattr(request, "user", None)
        if user is not None:
            user.is_authenticated  # noqa: B018 (evaluates the lazy user)
        with reading_from_replica():
            return view(request, *args, **kwargs)

    wrapped.replica_reads = True
    return wrapped


def _replica_reachable(state: _ReadOnlyRequest) -> bool:
    global _replica_down_until
    if state.replica_ok is None:
        if time.monotonic() < _replica_down_until:
            state.replica_ok = False
        else:
            replica = connections[REPLICA_DB_ALIAS]
            try:
                # A kept connection that died since the last request is closed and opened
                # anew here, so that its failure falls back instead of failing the page.
                replica.close_if_health_check_failed()
                replica.ensure_connection()
                state.replica_ok = True
            except DatabaseError as exc:
                _replica_down_until = time.monotonic() + RETRY_AFTER_SECONDS
                state.replica_ok = False
                logger.warning(
                    "Read replica unreachable (%s): reads go to the primary for %.0f s",
                    type(exc).__name__,
                    RETRY_AFTER_SECONDS,
                )
    return state.replica_ok


def _primary_only(model) -> bool:
    meta = model._meta
    return meta.app_label in _PRIMARY_ONLY_APPS or meta.label == settings.AUTH_USER_MODEL


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        state = _current.get()
        if (
            state is None
            or state.wrote
            or not replica_configured()
            or _primary_only(model)
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
            or not _replica_reachable(state)
        ):
            return DEFAULT_DB_ALIAS
        return REPLICA_DB_ALIAS

    def db_for_write(self, model, **hints):
        state = _current.get()
        if state is not None:
            state.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        aliases = {DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
