"""The audit trail's table on PostgreSQL: declaratively partitioned, by month (issue 16).

`acces_auditevent` is partitioned by RANGE on `occurred_at`, one partition a
month (`acces_auditevent_y2026m12`), plus a DEFAULT partition that takes any
event no monthly partition covers, so an insert never fails when the beat task
that creates the months ahead (`create_months_ahead`, daily) is late. Old
months can be detached and archived one by one (docs/OPERATIONS.md).

What PostgreSQL permits, and what was chosen:

- a primary key or unique constraint of a partitioned table must include the
  partition key: the primary key is (id, occurred_at); `id` keeps its identity
  sequence, so ids stay unique and increasing;
- the (chain, seq) uniqueness cannot be one constraint over the whole table
  (it does not include `occurred_at`): each partition has its own UNIQUE index
  on (chain, seq), created with the partition. Across months, uniqueness is
  kept by the writers (every append locks its chain's head row and takes
  seq + 1), and a duplicate would be found by `verify_audit_trail`;
- the append-only trigger is created on the parent: PostgreSQL (13 and later)
  clones a row trigger to every partition, present and future;
- the foreign keys (actor, space) and the two indexes are declared on the
  parent and so exist on every partition.

`partition(scheme=...)` also builds the HASH-by-chain variant that was measured
against it (docs/BENCHMARKS.md, "Audit trail partitioned (issue 16)"), and
`unpartition` turns the table back into a plain one (the migration's reverse).
SQLite keeps a plain table: every function here is a no-op on another database.
"""

from __future__ import annotations

import logging
from datetime import UTC, date

from django.db import connection as default_connection
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

TABLE = "acces_auditevent"
DEFAULT = f"{TABLE}_default"
TRIGGER = f"{TABLE}_append_only"
UNIQUE = "audit_chain_seq"  # the model's UniqueConstraint
MONTHS_AHEAD = 3
HASH_PARTITIONS = 16


def _month(day: date) -> date:
    return date(day.year, day.month, 1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_partition_name(month: date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def _bound(month: date) -> str:
    # Months in UTC: the bounds are timestamptz literals, whatever the session's zone.
    return f"'{month.isoformat()} 00:00:00+00'"


def is_partitioned(connection=default_connection) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def by_month(connection=default_connection) -> bool:
    """Whether the table is partitioned by range (by month), as acces 0010 makes it."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)",
            [TABLE],
        )
        row = cursor.fetchone()
    return row is not None and row[0] == "r"


def partitions(connection=default_connection) -> list[str]:
    """The partitions of the table, by name."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [TABLE],
        )
        return [row[0] for row in cursor.fetchall()]


def _create_month(cursor, month: date) -> str:
    name = month_partition_name(month)
    cursor.execute(
        f"CREATE TABLE {name} PARTITION OF {TABLE} "
        f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(_next_month(month))})"
    )
    cursor.execute(f"CREATE UNIQUE INDEX {name}_chain_seq ON {name} (chain, seq)")
    return name


def create_months_ahead(
    months: int = MONTHS_AHEAD, *, today: date | None = None, connection=default_connection
) -> list[str]:
    """Create the partitions of this month and the `months` next ones that are missing.

    Idempotent: existing months are left alone. A month some of whose events
    already went to the default partition (the task was late) is not created:
    its events stay where they are, readable as any other, and the operator is
    told (docs/OPERATIONS.md says how to move them). Returns the names created.
    """
    if not by_month(connection):
        return []
    today = today or timezone.now().astimezone(UTC).date()
    month, created = _month(today), []
    existing = set(partitions(connection))
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for _ in range(months + 1):
            name = month_partition_name(month)
            if name not in existing:
                cursor.execute(
                    f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} "  # noqa: S608 (our names)
                    f"WHERE occurred_at >= {_bound(month)} "
                    f"AND occurred_at < {_bound(_next_month(month))})"
                )
                if cursor.fetchone()[0]:
                    logger.error(
                        "audit partition %s not created: the default partition holds "
                        "events of that month (docs/OPERATIONS.md)",
                        name,
                    )
                else:
                    created.append(_create_month(cursor, month))
            month = _next_month(month)
    for name in created:
        logger.info("audit partition %s created", name)
    return created


def _definitions(cursor, table: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(name, type, definition) of the table's constraints, and its other indexes' DDL."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u', 'f') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = to_regclass(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
        " AND c.conrelid = i.indrelid) ORDER BY 1",
        [table],
    )
    # A partitioned table's index is shown ON ONLY it: created again, it recurses.
    indexes = [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]
    return constraints, indexes


def _rebuild(connection, *, scheme: str | None) -> None:
    """Move the table's rows into a new table of `scheme`: 'month', 'hash' or None (plain)."""
    old = f"{TABLE}_old"
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # Deferred FK checks of rows written earlier in the transaction: now, not at the drop.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        constraints, indexes = _definitions(cursor, TABLE)
        cursor.execute(f"SELECT coalesce(max(id), 0), min(occurred_at) FROM {TABLE}")  # noqa: S608
        last_id, oldest = cursor.fetchone()
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
        cursor.execute(f"SELECT last_value, is_called FROM {cursor.fetchone()[0]}")  # noqa: S608
        last_value, is_called = cursor.fetchone()
        last_id = max(last_id, last_value if is_called else last_value - 1)
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
        key = {"month": " PARTITION BY RANGE (occurred_at)", "hash": " PARTITION BY HASH (chain)"}
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY "
            f"INCLUDING STORAGE){key.get(scheme, '')}"
        )
        if scheme == "month":
            cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
            cursor.execute(f"CREATE UNIQUE INDEX {DEFAULT}_chain_seq ON {DEFAULT} (chain, seq)")
            today = timezone.now().astimezone(UTC).date()
            month = _month(min(oldest.astimezone(UTC).date(), today) if oldest else today)
            while month <= _month(today):
                _create_month(cursor, month)
                month = _next_month(month)
            for _ in range(MONTHS_AHEAD):
                _create_month(cursor, month)
                month = _next_month(month)
        elif scheme == "hash":
            for remainder in range(HASH_PARTITIONS):
                cursor.execute(
                    f"CREATE TABLE {TABLE}_p{remainder:02d} PARTITION OF {TABLE} "
                    f"FOR VALUES WITH (MODULUS {HASH_PARTITIONS}, REMAINDER {remainder})"
                )
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {old}")  # noqa: S608
        cursor.execute(f"DROP TABLE {old} CASCADE")
        # The identity's sequence: named as Django names it, and going on from the last id.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
        sequence = cursor.fetchone()[0]
        if sequence != f"public.{TABLE}_id_seq":
            cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {TABLE}_id_seq")
        cursor.execute(f"SELECT setval('{TABLE}_id_seq', %s, %s)", [max(last_id, 1), last_id > 0])
        primary = {"month": "(id, occurred_at)", "hash": "(id, chain)"}.get(scheme, "(id)")
        for name, kind, definition in constraints:
            if kind == "p":
                cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} PRIMARY KEY {primary}")
            elif kind == "f":
                cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
        # (chain, seq): one constraint over the table, except by month (one index a partition).
        if scheme != "month":
            cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {UNIQUE} UNIQUE (chain, seq)")
        for definition in indexes:
            cursor.execute(definition)
        cursor.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        )


def partition(connection=default_connection, *, scheme: str = "month") -> None:
    """Turn `acces_auditevent` into a partitioned table (rows, ids, indexes, FKs, trigger kept)."""
    if connection.vendor != "postgresql":
        return
    _rebuild(connection, scheme=scheme)


def unpartition(connection=default_connection) -> None:
    """Back to one plain table (the reverse migration)."""
    if not is_partitioned(connection):
        return
    _rebuild(connection, scheme=None)
