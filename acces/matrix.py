"""The profession × document-type matrix: which document types each profession may see.

The matrix is data (`DocumentAccessRule` rows, one per profession and LOINC
code; see docs/MATRICE.md). The policy asks it on every document read and
every document list, so it is cached:

- the whole matrix (a few hundred codes at most) is loaded in one query and
  kept in the shared Django cache under a key that carries a version token;
- each process also keeps the last matrix it read, with its token: while the
  shared token has not moved, a read costs one cache lookup and no query;
- any change to a rule (a save, a delete, a bulk change, the admin) replaces
  the shared token, so every process reloads: at once, and again when the
  change commits. The token is random, never a counter, so a cache that was
  emptied cannot bring an old token (and an old per-process memo) back;
- until the change commits, the transaction that made it reads the matrix
  from the database without caching it: it sees its own change, and nothing
  uncommitted ever reaches the shared cache (a rolled-back change leaves no
  trace there);
- while the shared cache is unreachable, the matrix is read from the database
  (one small query per decision), never from a copy another process may have
  changed meanwhile.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction

# The data migration that loads the default matrix deletes this key: keep them in step.
VERSION_KEY = "acces:matrix:version"
# Old versions of the matrix are left behind by each change: let them expire.
DATA_TIMEOUT = 24 * 3600
# Set on a database connection while its transaction has changed the matrix.
_CHANGED_IN = "_acces_matrix_changed_in"

Matrix = Mapping[str, frozenset[str]]

# (token, matrix) of the last matrix this process read from the shared cache.
_memo: tuple[str, Matrix] | None = None


def type_codes_for(profession: str) -> frozenset[str]:
    """The LOINC codes of the document types `profession` may see; empty when it has no rule."""
    return _matrix().get(profession, frozenset())


def allows(profession: str, type_code: str) -> bool:
    """Whether professionals of `profession` may see documents of type `type_code`."""
    return type_code in type_codes_for(profession)


def invalidate(*, using: str | None = None) -> None:
    """Make every process forget the cached matrix: now, and again when the change commits."""
    global _memo
    _memo = None
    _new_version()
    connection = transaction.get_connection(using or DEFAULT_DB_ALIAS)
    if connection.in_atomic_block and getattr(connection, _CHANGED_IN, None) is None:
        # The outermost block stands for the transaction (see `_changed_in_this_transaction`).
        setattr(connection, _CHANGED_IN, connection.atomic_blocks[0])
    transaction.on_commit(lambda: _committed(connection), using=using)


def _committed(connection) -> None:
    global _memo
    setattr(connection, _CHANGED_IN, None)
    _memo = None
    _new_version()


def _matrix(using: str = DEFAULT_DB_ALIAS) -> Matrix:
    global _memo
    if _changed_in_this_transaction(transaction.get_connection(using)):
        return _load(using)
    if getattr(cache, "degraded", False):
        # The shared cache is away (espace_sante/cache.py): a change made by another
        # process would not reach this one, so read the database until it is back.
        return _load(using)
    version = _version()
    memo = _memo
    if memo is not None and memo[0] == version:
        return memo[1]
    key = f"acces:matrix:{version}"
    matrix = cache.get(key)
    if matrix is None:
        matrix = _load(using)
        cache.set(key, matrix, DATA_TIMEOUT)
    _memo = (version, matrix)
    return matrix


def _changed_in_this_transaction(connection) -> bool:
    """Whether the transaction under way on `connection` changed the matrix.

    A marker older than the transaction under way is cleared: its transaction
    committed (the commit hook cleared it already) or rolled back.
    """
    marker = getattr(connection, _CHANGED_IN, None)
    if marker is None:
        return False
    if connection.in_atomic_block and connection.atomic_blocks[0] is marker:
        return True
    setattr(connection, _CHANGED_IN, None)
    return False


def _load(using: str) -> dict[str, frozenset[str]]:
    from acces.models import DocumentAccessRule  # the models call `invalidate`

    codes: dict[str, set[str]] = {}
    rules = DocumentAccessRule.objects.using(using).values_list("profession", "type_code")
    for profession, type_code in rules:
        codes.setdefault(profession, set()).add(type_code)
    return {profession: frozenset(found) for profession, found in codes.items()}


def _version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        # Another process may have added its own token first: everyone uses the stored one.
        version = cache.get(VERSION_KEY)
    # A cache that stores nothing (DummyCache): a fresh token, so every read loads.
    return version or uuid.uuid4().hex


def _new_version() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
