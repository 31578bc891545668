"""The audit trail's table partitioned by month on PostgreSQL (issue 16); plain on SQLite."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from acces import audit, partitions
from acces.actions import AccessAction
from acces.models import AuditEvent
from acces.tasks import create_audit_partitions
from espace_sante.tracing import Actor

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="declarative partitioning is PostgreSQL's"
)


def _actor():
    return Actor(user=None, role=Actor.SYSTEM, ip="198.51.100.7")


def _partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM acces_auditevent WHERE id = %s", [event_id]
        )
        return cursor.fetchone()[0]


def _event(space, occurred_at: datetime, seq: int = 1) -> AuditEvent:
    """An event written with a given date (as the bulk writers and a late clock can)."""
    event = AuditEvent(
        chain=f"space:{space.pk}",
        seq=seq,
        occurred_at=occurred_at,
        actor_label="Système",
        role="system",
        action="view_space",
        space=space,
        outcome="allowed",
        prev_hash="0" * 64,
    )
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    return event


def _month_after(day: date, months: int) -> date:
    month = date(day.year, day.month, 1)
    for _ in range(months):
        month = partitions._next_month(month)
    return month


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite keeps a plain table")
def test_sqlite_keeps_a_plain_table_and_the_task_does_nothing(patient_space):
    assert not partitions.is_partitioned()
    assert create_audit_partitions() == 0
    event = audit.record(actor=_actor(), action=AccessAction.VIEW_SPACE, space=patient_space)
    assert AuditEvent.objects.get(pk=event.pk).chain == event.chain


@on_postgresql
def test_the_table_is_partitioned_by_month_with_a_default_partition():
    assert partitions.is_partitioned()
    names = partitions.partitions()
    assert partitions.DEFAULT in names
    today = datetime.now(UTC).date()
    for ahead in range(partitions.MONTHS_AHEAD + 1):
        assert partitions.month_partition_name(_month_after(today, ahead)) in names
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_partkeydef('acces_auditevent'::regclass), "
            "pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.conrelid = 'acces_auditevent'::regclass AND c.contype = 'p'"
        )
        assert cursor.fetchone() == ("RANGE (occurred_at)", "PRIMARY KEY (id, occurred_at)")


@on_postgresql
def test_every_partition_has_the_append_only_trigger_and_the_chain_seq_index():
    partitions.create_months_ahead(6)  # and those the task adds later
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname,
                   EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid
                           AND t.tgname = 'acces_auditevent_append_only' AND t.tgenabled = 'O'),
                   EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a1
                             ON a1.attrelid = c.oid AND a1.attnum = i.indkey[0]
                           JOIN pg_attribute a2 ON a2.attrelid = c.oid AND a2.attnum = i.indkey[1]
                           WHERE i.indrelid = c.oid AND i.indisunique AND i.indnatts = 2
                           AND a1.attname = 'chain' AND a2.attname = 'seq')
            FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
            WHERE h.inhparent = 'acces_auditevent'::regclass
            """
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'acces_auditevent'::regclass "
            "AND tgname = 'acces_auditevent_append_only'"
        )
        assert cursor.fetchone()[0] == 1
    assert len(rows) >= 8  # this month, the 6 next ones and the default
    assert [name for name, trigger, unique in rows if not (trigger and unique)] == []


@on_postgresql
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {partition} SET action = 'forged' WHERE id = %s",
        "DELETE FROM {partition} WHERE id = %s",
    ],
)
def test_a_partition_refuses_update_and_delete(patient_space, statement):
    event = audit.record(actor=_actor(), action=AccessAction.VIEW_SPACE, space=patient_space)
    partition = _partition_of(event.pk)
    assert partition == partitions.month_partition_name(event.occurred_at.astimezone(UTC).date())
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(partition=partition), [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "view_space"


@on_postgresql
def test_the_default_partition_refuses_update_and_delete_too(patient_space):
    event = _event(patient_space, datetime(2099, 1, 1, tzinfo=UTC))
    assert _partition_of(event.pk) == partitions.DEFAULT
    for statement in ("UPDATE {} SET action = 'x' WHERE id = %s", "DELETE FROM {} WHERE id = %s"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement.format(partitions.DEFAULT), [event.pk])


@on_postgresql
def test_the_task_creates_the_next_months_and_running_it_twice_is_harmless():
    later = datetime(2031, 5, 20, 12, tzinfo=UTC)
    expected = [
        f"acces_auditevent_y2031m{m:02d}" for m in range(5, 5 + partitions.MONTHS_AHEAD + 1)
    ]
    with time_machine.travel(later, tick=False):
        assert create_audit_partitions() == len(expected)
        assert create_audit_partitions() == 0
    names = partitions.partitions()
    assert set(expected) <= set(names)
    # The creation is traced once, as a system event.
    traced = AuditEvent.objects.filter(action=AccessAction.AUDIT_PARTITIONS_CREATED)
    assert [event.detail["partitions"] for event in traced] == [expected]
    assert traced.get().chain == "system"


@on_postgresql
def test_an_event_dated_next_month_goes_into_its_partition(patient_space):
    next_month = _month_after(datetime.now(UTC).date(), 1)
    event = _event(patient_space, datetime(next_month.year, next_month.month, 2, tzinfo=UTC))
    assert _partition_of(event.pk) == partitions.month_partition_name(next_month)
    # Read through the model like any other event, found by its id.
    assert AuditEvent.objects.get(pk=event.pk).occurred_at.month == next_month.month


@on_postgresql
def test_an_event_no_month_covers_goes_to_the_default_and_its_month_is_then_left_alone(
    patient_space, caplog
):
    far = datetime(2040, 3, 9, tzinfo=UTC)
    event = _event(patient_space, far)
    assert _partition_of(event.pk) == partitions.DEFAULT
    created = partitions.create_months_ahead(1, today=far.date())
    # March 2040 holds events in the default partition: not created, the operator told.
    assert created == ["acces_auditevent_y2040m04"]
    assert "acces_auditevent_y2040m03 not created" in caplog.text
    assert AuditEvent.objects.get(pk=event.pk).pk == event.pk


@on_postgresql
def test_chain_and_seq_stay_unique_within_a_month(patient_space):
    when = datetime.now(UTC)
    _event(patient_space, when, seq=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        _event(patient_space, when + timedelta(seconds=1), seq=1)


@on_postgresql
def test_partitioning_keeps_the_rows_the_ids_and_the_chains(patient_space):
    events = [
        audit.record(actor=_actor(), action=AccessAction.VIEW_SPACE, space=patient_space)
        for _ in range(3)
    ]
    partitions.unpartition()
    assert not partitions.is_partitioned()
    partitions.partition(scheme="month")
    assert partitions.is_partitioned()
    assert list(AuditEvent.objects.order_by("id").values_list("id", "hash")) == [
        (e.pk, e.hash) for e in events
    ]
    after = audit.record(actor=_actor(), action=AccessAction.VIEW_SPACE, space=patient_space)
    assert after.pk > events[-1].pk and after.seq == 4
    out = StringIO()
    call_command("verify_audit_trail", stdout=out)
    assert "intact" in out.getvalue()


@on_postgresql
def test_the_hash_variant_measured_against_it_keeps_one_chain_seq_constraint(patient_space):
    audit.record(actor=_actor(), action=AccessAction.VIEW_SPACE, space=patient_space)
    partitions.partition(scheme="hash")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_partkeydef('acces_auditevent'::regclass), "
            "(SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            " WHERE conrelid = 'acces_auditevent'::regclass AND conname = 'audit_chain_seq')"
        )
        assert cursor.fetchone() == ("HASH (chain)", "UNIQUE (chain, seq)")
    assert len(partitions.partitions()) == partitions.HASH_PARTITIONS
    event = audit.record(actor=_actor(), action=AccessAction.VIEW_SPACE, space=patient_space)
    assert event.seq == 2
