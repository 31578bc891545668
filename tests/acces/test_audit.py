import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from acces import audit
from acces.models import GENESIS_HASH, AuditChainHead, AuditEvent
from espace_sante.tracing import Actor
from tests import factories

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger and row locks are PostgreSQL's"
)


def _actor(user=None):
    return Actor(user=user, role=user.kind if user else Actor.SYSTEM, ip="198.51.100.7")


def _tamper(sql, params=()):
    """Change the table behind the application's back, as a superuser could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # triggers off
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")


def _verify():
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit_trail", stdout=out, stderr=err)
    except CommandError as exc:
        return False, err.getvalue() + str(exc)
    return True, out.getvalue()


def test_events_of_a_space_form_a_hash_chain(patient_space):
    first = audit.record(actor=_actor(), action="a", space=patient_space)
    second = audit.record(actor=_actor(), action="b", space=patient_space, outcome="denied")
    assert (first.chain, first.seq, first.prev_hash) == (
        f"space:{patient_space.pk}",
        1,
        GENESIS_HASH,
    )
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert second.hash == second.compute_hash()
    head = AuditChainHead.objects.get(chain=first.chain)
    assert (head.seq, head.last_hash) == (2, second.hash)


def test_event_records_who_what_when_where(patient_space):
    user = patient_space.holder.user
    event = audit.record(
        actor=_actor(user),
        action="view_space",
        space=patient_space,
        target=patient_space,
        basis="holder",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor == user
    assert stored.role == "patient"
    assert stored.basis == "holder"
    assert stored.ip == "198.51.100.7"
    assert stored.target_type == "espace_sante.space"
    assert stored.target_id == str(patient_space.public_id)
    assert stored.outcome == "allowed"


def test_events_outside_a_space_chain_per_actor():
    user = factories.UserFactory()
    event = audit.record(actor=_actor(user), action="sign_in_password")
    assert event.chain == f"user:{user.pk}"
    assert audit.record(actor=_actor(), action="x").chain == "system"


def test_the_model_refuses_update_and_delete(patient_space):
    event = audit.record(actor=_actor(), action="a", space=patient_space)
    event.action = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "a"


def test_audit_event_is_rolled_back_with_its_action(patient_space):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(actor=_actor(), action="a", space=patient_space)
        raise RuntimeError("the action failed")
    assert not AuditEvent.objects.filter(space=patient_space).exists()


@on_postgresql
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE acces_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM acces_auditevent WHERE id = %s",
    ],
)
def test_postgresql_refuses_update_and_delete(patient_space, statement):
    event = audit.record(actor=_actor(), action="a", space=patient_space)
    from django.db.utils import DatabaseError

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "a"


def test_verify_passes_on_an_intact_trail(patient_space):
    for action in ("a", "b", "c"):
        audit.record(actor=_actor(), action=action, space=patient_space)
    ok, output = _verify()
    assert ok, output
    assert "intact" in output


def test_verify_names_the_first_event_changed_behind_its_back(patient_space):
    events = [audit.record(actor=_actor(), action=f"e{i}", space=patient_space) for i in range(4)]
    _tamper("UPDATE acces_auditevent SET basis = 'forged' WHERE id = %s", [events[1].pk])
    ok, output = _verify()
    assert not ok
    assert f"event {events[1].pk}" in output
    assert "content changed" in output


def test_verify_detects_a_deleted_event(patient_space):
    events = [audit.record(actor=_actor(), action=f"e{i}", space=patient_space) for i in range(3)]
    _tamper("DELETE FROM acces_auditevent WHERE id = %s", [events[1].pk])
    ok, output = _verify()
    assert not ok
    assert f"event {events[2].pk}" in output


def test_verify_detects_a_truncated_chain_end(patient_space):
    events = [audit.record(actor=_actor(), action=f"e{i}", space=patient_space) for i in range(3)]
    _tamper("DELETE FROM acces_auditevent WHERE id = %s", [events[2].pk])
    ok, output = _verify()
    assert not ok
    assert "ends before its recorded head" in output


def test_a_seal_catches_a_chain_rewritten_with_recomputed_hashes(patient_space):
    event = audit.record(actor=_actor(), action="view_space", space=patient_space)
    assert audit.seal() is not None
    # A forger rewrites the event and recomputes its hash and the head consistently...
    forged = AuditEvent.objects.get(pk=event.pk)
    forged.action = "nothing_happened"
    _tamper(
        "UPDATE acces_auditevent SET action = %s, hash = %s WHERE id = %s",
        [forged.action, forged.compute_hash(), event.pk],
    )
    AuditChainHead.objects.filter(chain=event.chain).update(last_hash=forged.compute_hash())
    ok, output = _verify()
    assert not ok
    assert "differs from what seal" in output


def test_sealing_twice_without_activity_adds_nothing(patient_space):
    audit.record(actor=_actor(), action="a", space=patient_space)
    assert audit.seal() is not None
    assert audit.seal() is None


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_one_space_never_fork_the_chain():
    space = factories.SpaceFactory()
    errors = []

    def write(n):
        try:
            for i in range(10):
                with transaction.atomic():
                    audit.record(actor=_actor(), action=f"w{n}-{i}", space=space)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(
        AuditEvent.objects.filter(space=space).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, 41))
    assert audit.verify_chain(f"space:{space.pk}") is None


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_writer_on_one_space_does_not_wait_for_another_space():
    busy, free = factories.SpaceFactory(), factories.SpaceFactory()
    locked, release = threading.Event(), threading.Event()

    def hold_busy_chain():
        with transaction.atomic():
            audit.record(actor=_actor(), action="long", space=busy)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_busy_chain)
    holder.start()
    assert locked.wait(10)
    started = time.monotonic()
    audit.record(actor=_actor(), action="quick", space=free)
    elapsed = time.monotonic() - started
    release.set()
    holder.join()
    assert elapsed < 2, "appending to another space waited for the busy chain"


def _verify_range(*arguments):
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit_trail", *map(str, arguments), stdout=out, stderr=err)
    except CommandError as exc:
        return False, err.getvalue() + str(exc)
    return True, out.getvalue()


def _two_spaces_with_events():
    """Two spaces, 3 events each before the range and 3 in it (the range: id > last_before)."""
    spaces = [factories.SpaceFactory(), factories.SpaceFactory()]
    before = [
        audit.record(actor=_actor(), action=f"b{i}", space=s) for i in range(3) for s in spaces
    ]
    after = [
        audit.record(actor=_actor(), action=f"a{i}", space=s) for i in range(3) for s in spaces
    ]
    return before, after


def test_verify_range_passes_on_an_intact_range():
    before, after = _two_spaces_with_events()
    ok, output = _verify_range("--since-id", before[-1].pk)
    assert ok, output
    assert "3 chains verified" in output  # the two chains and the seals
    assert f"id > {before[-1].pk}" in output
    results = dict(audit.verify_all(since_id=before[-1].pk))
    assert set(results) == {after[0].chain, after[1].chain, "seals"}
    assert all(problem is None for problem in results.values())


def test_verify_range_finds_a_tampered_event_in_the_range():
    before, after = _two_spaces_with_events()
    _tamper("UPDATE acces_auditevent SET basis = 'forged' WHERE id = %s", [after[2].pk])
    ok, output = _verify_range("--since-id", before[-1].pk)
    assert not ok
    assert f"event {after[2].pk}" in output
    assert "content changed" in output


def test_verify_range_checks_the_link_to_the_event_before_it():
    before, after = _two_spaces_with_events()
    # The first event of the range no longer follows the stored event before it.
    _tamper("UPDATE acces_auditevent SET prev_hash = %s WHERE id = %s", ["f" * 64, after[0].pk])
    ok, output = _verify_range("--since-id", before[-1].pk)
    assert not ok
    assert f"event {after[0].pk}" in output
    assert "does not follow the previous event" in output


def test_verify_range_does_not_look_before_the_range():
    before, _after = _two_spaces_with_events()
    _tamper("UPDATE acces_auditevent SET basis = 'forged' WHERE id = %s", [before[0].pk])
    ok, output = _verify_range("--since-id", before[-1].pk)
    assert ok, output
    # ... while the whole trail's check finds it.
    ok, output = _verify()
    assert not ok
    assert f"event {before[0].pk}" in output


def test_verify_range_by_date():
    before, after = _two_spaces_with_events()
    since = AuditEvent.objects.get(pk=after[0].pk).occurred_at
    ok, output = _verify_range("--since", since.isoformat())
    assert ok, output
    _tamper("UPDATE acces_auditevent SET basis = 'forged' WHERE id = %s", [before[0].pk])
    assert _verify_range("--since", since.isoformat())[0]
    _tamper("UPDATE acces_auditevent SET basis = 'forged' WHERE id = %s", [after[1].pk])
    ok, output = _verify_range("--since", since.isoformat())
    assert not ok
    assert f"event {after[1].pk}" in output


def test_verify_range_detects_a_chain_whose_events_in_the_range_were_all_deleted():
    before, after = _two_spaces_with_events()
    gone = ",".join(str(e.pk) for e in after if e.chain == after[0].chain)
    _tamper(f"DELETE FROM acces_auditevent WHERE id IN ({gone})")
    ok, output = _verify_range("--since-id", before[-1].pk)
    assert not ok
    assert f"chain {after[0].chain}" in output
    assert "ends before its recorded head" in output


def test_verify_range_refuses_a_date_it_cannot_read():
    with pytest.raises(CommandError, match="not a date"):
        call_command("verify_audit_trail", "--since", "yesterday")


def test_verify_range_after_archiving_takes_the_link_to_the_archive_as_stored():
    before, after = _two_spaces_with_events()
    # The events before the range were archived (their partition detached): gone here.
    gone = ",".join(str(e.pk) for e in before)
    _tamper(f"DELETE FROM acces_auditevent WHERE id IN ({gone})")
    ok, output = _verify_range("--since-id", before[-1].pk)
    assert not ok
    assert "the event before the range is missing" in output
    ok, output = _verify_range("--since-id", before[-1].pk, "--archived")
    assert ok, output
    # ... and what is in the range is still checked.
    _tamper("UPDATE acces_auditevent SET basis = 'forged' WHERE id = %s", [after[3].pk])
    ok, output = _verify_range("--since-id", before[-1].pk, "--archived")
    assert not ok
    assert f"event {after[3].pk}" in output
