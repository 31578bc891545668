"""The space's state machine: every transition, its guard, its trace and its notification."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from acces.models import AuditEvent
from acces.policy import Action, decide
from espace_sante import lifecycle
from espace_sante.lifecycle import Claim
from espace_sante.models import (
    LegalRepresentative,
    Notification,
    ProvisionalCode,
    Space,
    SpaceError,
)
from espace_sante.tasks import send_pending_notifications
from espace_sante.tracing import Actor
from tests import factories
from tests.mailbox import assert_email_left, delivered

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


def _actions(space):
    return list(
        AuditEvent.objects.filter(space=space).order_by("seq").values_list("action", flat=True)
    )


def _claim(space, code):
    return Claim(
        nir=space.holder.nir, carte_vitale_serial=space.holder.carte_vitale_serial, code=code
    )


def _announced(**holder):
    space = factories.SpaceFactory(
        state=Space.State.ANNOUNCED,
        holder__user=None,
        opposition_deadline=timezone.now() + Space.OPPOSITION_WINDOW,
        **{f"holder__{k}": v for k, v in holder.items()},
    )
    return space, lifecycle.issue_code(space=space, channel="email", by=SYSTEM)


def _reload(space):
    return Space.objects.select_related("holder").get(pk=space.pk)


# --- Codes --------------------------------------------------------------------------------


def test_code_is_stored_hashed_and_single_use():
    space, code = _announced()
    stored = ProvisionalCode.objects.get(space=space)
    assert lifecycle.normalise_code(code) not in stored.digest
    lifecycle.activate(
        claim=_claim(space, code),
        email="a@exemple.fr",
        password="Un-mot-de-passe-solide-2026",
        by=SYSTEM,
    )
    closed = lifecycle.close(space=_reload(space), by=SYSTEM)
    lifecycle.reactivate(space=closed, by=SYSTEM)
    with pytest.raises(SpaceError):  # the same code cannot serve twice
        lifecycle.oppose(claim=_claim(space, code), by=SYSTEM)


def test_five_wrong_tries_lock_the_code():
    space, code = _announced()
    for _ in range(5):
        with pytest.raises(SpaceError):
            lifecycle.oppose(claim=_claim(space, "AAAA-AAAA-AAAA"), by=SYSTEM)
    with pytest.raises(SpaceError, match="bloqué"):
        lifecycle.oppose(claim=_claim(space, code), by=SYSTEM)
    assert _reload(space).state == Space.State.ANNOUNCED
    assert ProvisionalCode.objects.get(space=space).failed_attempts == 5


def test_unknown_nir_and_wrong_code_get_the_same_message():
    space, _code = _announced()
    with pytest.raises(SpaceError) as wrong_code:
        lifecycle.oppose(claim=_claim(space, "AAAA-AAAA-AAAA"), by=SYSTEM)
    stranger = Claim(
        nir=factories.next_nir(), carte_vitale_serial="1234567890", code="AAAA-AAAA-AAAA"
    )
    with pytest.raises(SpaceError) as unknown:
        lifecycle.oppose(claim=stranger, by=SYSTEM)
    assert str(wrong_code.value) == str(unknown.value)


def test_code_expires_after_six_weeks():
    space = factories.SpaceFactory(state=Space.State.CREATED, holder__user=None)
    code = lifecycle.issue_code(space=space, channel="letter", by=SYSTEM)
    with (
        time_machine.travel(timezone.now() + timedelta(weeks=6, days=1)),
        pytest.raises(SpaceError),
    ):
        lifecycle.activate(
            claim=_claim(space, code),
            email="b@exemple.fr",
            password="Un-mot-de-passe-solide-2026",
            by=SYSTEM,
        )
    assert _reload(space).state == Space.State.CREATED


def test_a_new_code_revokes_the_previous_one():
    space, first = _announced()
    lifecycle.issue_code(space=space, channel="email", by=SYSTEM)
    with pytest.raises(SpaceError):
        lifecycle.oppose(claim=_claim(space, first), by=SYSTEM)


# --- Opposition and the six-week window ---------------------------------------------------


def test_opposition_within_the_window(django_capture_on_commit_callbacks):
    space, code = _announced(email="opposant@exemple.fr")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.oppose(claim=_claim(space, code), by=SYSTEM)
    assert _reload(space).state == Space.State.OPPOSED
    assert "space_opposed" in _actions(space)
    assert Notification.objects.filter(address="opposant@exemple.fr", kind="space_opposed").exists()
    # The confirmation reaches a person who has no account (and never will).
    told = Notification.objects.get(kind="space_opposed")
    assert told.email_state == "sent"
    assert_email_left("opposant@exemple.fr", subject=told.subject)


def test_opposition_after_six_weeks_is_refused():
    space, _code = _announced()
    with (
        time_machine.travel(timezone.now() + timedelta(weeks=6, minutes=1)),
        pytest.raises(SpaceError, match="délai"),
    ):
        lifecycle.record_opposition(space=space, by=SYSTEM)


def test_silence_for_six_weeks_creates_the_space_in_bulk_and_idempotently():
    waiting = [_announced()[0] for _ in range(3)]
    recent, _ = _announced()
    with time_machine.travel(timezone.now() + timedelta(weeks=6, minutes=1)):
        # The recent one was announced a day later.
        Space.objects.filter(pk=recent.pk).update(
            opposition_deadline=timezone.now() + timedelta(days=1)
        )
        assert lifecycle.sweep_announced(batch_size=2) == 3
        assert lifecycle.sweep_announced() == 0
    for space in waiting:
        assert _reload(space).state == Space.State.CREATED
        assert _actions(space)[-1] == "space_created"
        told = Notification.objects.get(space=space, kind="space_created")
        assert (told.address, told.email_state) == (space.holder.email, "pending")
    assert _reload(recent).state == Space.State.ANNOUNCED
    assert not Notification.objects.filter(space=recent).exists()
    # Written in bulk, sent by the notification sweep, to people without an account yet.
    mail.outbox.clear()
    assert send_pending_notifications() == 3
    for space in waiting:
        (sent,) = assert_email_left(space.holder.email)
        told = Notification.objects.get(space=space, kind="space_created")
        assert sent.extra_headers["Message-ID"] == told.email_message_id != ""
    from acces.audit import verify_chain

    assert all(verify_chain(f"space:{s.pk}") is None for s in waiting)


# --- Activation ---------------------------------------------------------------------------


def test_activation_gives_an_account_and_attaches_represented_minors():
    space, code = _announced()
    minor = factories.MinorSpaceFactory()
    LegalRepresentative.objects.create(space=minor, patient=space.holder)
    user = lifecycle.activate(
        claim=_claim(space, code),
        email="Parent@Exemple.fr",
        password="Un-mot-de-passe-solide-2026",
        by=SYSTEM,
    )
    assert user.email == "parent@exemple.fr"
    assert _reload(space).state == Space.State.ACTIVE
    assert decide(user, Action.VIEW_SPACE, minor).allowed
    assert "space_activated" in _actions(space)


def test_activating_an_opposed_space_is_refused():
    space, code = _announced()
    lifecycle.record_opposition(space=space, by=SYSTEM)
    code = lifecycle.issue_code(space=space, channel="email", by=SYSTEM)
    with pytest.raises(SpaceError, match="Réactiver"):
        lifecycle.activate(
            claim=_claim(space, code),
            email="c@exemple.fr",
            password="Un-mot-de-passe-solide-2026",
            by=SYSTEM,
        )
    assert _reload(space).state == Space.State.OPPOSED


def test_weak_password_leaves_nothing_half_done():
    space, code = _announced()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        lifecycle.activate(
            claim=_claim(space, code), email="d@exemple.fr", password="123", by=SYSTEM
        )
    space = _reload(space)
    assert space.state == Space.State.ANNOUNCED and space.holder.user is None
    assert ProvisionalCode.objects.get(space=space).used_at is None


# --- Closure, archive, reactivation, destruction ------------------------------------------


def test_closure_archives_ten_years_and_hides_the_space_from_professionals():
    relation = factories.CareRelationFactory(basis="attending")
    space = lifecycle.close(space=relation.space, by=SYSTEM, reason="demande")
    assert space.state == Space.State.CLOSED
    assert space.retention_until == timezone.localdate().replace(
        year=timezone.localdate().year + 10
    )
    assert not decide(relation.professional.user, Action.VIEW_SPACE, space)
    assert decide(space.holder.user, Action.VIEW_SPACE, space).allowed
    assert Notification.objects.filter(recipient=space.holder.user, kind="space_closed").exists()
    assert delivered(Notification.objects.filter(recipient=space.holder.user, kind="space_closed"))


def test_closing_a_destroyed_space_is_refused():
    space = factories.SpaceFactory(state=Space.State.DESTROYED)
    with pytest.raises(SpaceError):
        lifecycle.close(space=space, by=SYSTEM)
    assert _reload(space).state == Space.State.DESTROYED


def test_reactivation_within_the_archive_keeps_everything():
    relation = factories.CareRelationFactory(basis="attending")
    space = lifecycle.close(space=relation.space, by=SYSTEM)
    with time_machine.travel(timezone.now() + timedelta(days=365 * 9)):
        space = lifecycle.reactivate(space=space, by=SYSTEM)
    assert space.state == Space.State.ACTIVE and space.retention_until is None
    assert decide(relation.professional.user, Action.VIEW_SPACE, space).allowed


def test_holder_reactivates_with_a_new_code():
    space = lifecycle.close(space=factories.SpaceFactory(), by=SYSTEM)
    code = lifecycle.issue_code(space=space, channel="email", by=SYSTEM)
    space = lifecycle.reactivate_with_code(claim=_claim(space, code), by=SYSTEM)
    assert space.state == Space.State.ACTIVE


def test_archive_is_destroyed_after_ten_years_and_not_before():
    space = lifecycle.close(space=factories.SpaceFactory(), by=SYSTEM)
    with time_machine.travel(timezone.now() + timedelta(days=365 * 10 - 5)):
        assert lifecycle.destroy_due() == 0
    with time_machine.travel(timezone.now() + timedelta(days=365 * 10 + 5)):
        assert lifecycle.destroy_due() == 1
    space = _reload(space)
    assert space.state == Space.State.DESTROYED
    assert _actions(space)[-1] == "space_destroyed"
    with pytest.raises(SpaceError):
        lifecycle.reactivate(space=space, by=SYSTEM)


def _register_part(monkeypatch, destroy):
    """A stand-in part that only destroys, registered for one test (the registry restored)."""
    from espace_sante import parts

    part = parts.Part(name="test", label="Test", destroy=destroy)
    monkeypatch.setitem(parts._parts, "test", part)


def test_early_deletion_is_carried_out_within_three_months(monkeypatch):
    destroyed_parts = []
    _register_part(
        monkeypatch,
        lambda space, keep_occupational: destroyed_parts.append((space.pk, keep_occupational)),
    )
    space = lifecycle.request_deletion(space=factories.SpaceFactory(), by=SYSTEM)
    assert space.state == Space.State.CLOSED
    assert space.deletion_due_at <= timezone.now() + timedelta(days=92)
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        assert lifecycle.destroy_due() == 1
    assert _reload(space).state == Space.State.DESTROYED
    assert destroyed_parts == [(space.pk, False)]


def test_destruction_shreds_letters_and_keeps_only_a_tombstone_and_the_trail():
    from espace_sante import letters

    space = factories.SpaceFactory(holder__email="x@exemple.fr")
    letter = letters.produce(space=space, kind="new_code", code="ABCD-EFGH-JKLM")
    data_key = letter.data_key
    space = lifecycle.request_deletion(space=space, by=SYSTEM)
    lifecycle.destroy(space=space, by=SYSTEM)
    data_key.refresh_from_db()
    assert data_key.wrapped is None
    assert not space.letters.exists()
    space = _reload(space)
    assert space.holder.email == ""
    assert AuditEvent.objects.filter(space=space).count() >= 3


def test_death_keeps_the_archive_ten_years_from_the_death():
    space = factories.SpaceFactory()
    space = lifecycle.record_death(space=space, death_date=date(2020, 3, 1), by=SYSTEM)
    assert space.state == Space.State.CLOSED
    assert space.retention_until == date(2030, 3, 1)


def test_occupational_part_outlives_the_general_archive(monkeypatch):
    calls = []
    _register_part(monkeypatch, lambda space, keep_occupational: calls.append(keep_occupational))
    space = lifecycle.close(space=factories.SpaceFactory(), by=SYSTEM)
    far = timezone.localdate().replace(year=timezone.localdate().year + 40)
    Space.objects.filter(pk=space.pk).update(occupational_retention_until=far)
    with time_machine.travel(timezone.now() + timedelta(days=365 * 10 + 5)):
        assert lifecycle.destroy_due() == 1
    space = _reload(space)
    assert space.state == Space.State.CLOSED and space.retention_until == far
    with time_machine.travel(timezone.now() + timedelta(days=365 * 40 + 15)):
        assert lifecycle.destroy_due() == 1
    assert calls == [True, False]
    assert _reload(space).state == Space.State.DESTROYED


# --- Suspension ---------------------------------------------------------------------------


def test_suspension_closes_after_six_weeks_without_objection():
    space = lifecycle.suspend(space=factories.SpaceFactory(), by=SYSTEM, reason="fraude")
    with time_machine.travel(timezone.now() + timedelta(weeks=5)):
        assert lifecycle.close_unchallenged_suspensions() == 0
    with time_machine.travel(timezone.now() + timedelta(weeks=6, days=1)):
        assert lifecycle.close_unchallenged_suspensions() == 1
    assert _reload(space).state == Space.State.CLOSED


def test_lifted_suspension_is_not_closed():
    space = lifecycle.suspend(space=factories.SpaceFactory(), by=SYSTEM, reason="fraude")
    lifecycle.lift_suspension(space=space, by=SYSTEM)
    with time_machine.travel(timezone.now() + timedelta(weeks=7)):
        assert lifecycle.close_unchallenged_suspensions() == 0
    assert _reload(space).state == Space.State.ACTIVE


def test_suspension_needs_a_reason():
    with pytest.raises(SpaceError, match="motif"):
        lifecycle.suspend(space=factories.SpaceFactory(), by=SYSTEM, reason=" ")


# --- Minors -------------------------------------------------------------------------------


def test_at_eighteen_representatives_lose_access_and_the_young_adult_gets_a_code(
    django_capture_on_commit_callbacks,
):
    representation = factories.LegalRepresentativeFactory(
        space__holder__birth_date=date(2008, 12, 1),
        space__holder__email="jeune@exemple.fr",
    )
    space, parent = representation.space, representation.user
    assert decide(parent, Action.VIEW_SPACE, space).allowed
    with time_machine.travel(date(2026, 11, 30)):
        assert lifecycle.hand_over_adults() == 0
    with time_machine.travel(date(2026, 12, 1)), django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.hand_over_adults() == 1
        assert not decide(parent, Action.VIEW_SPACE, space)
        assert lifecycle.hand_over_adults() == 0  # idempotent
    assert mail.outbox[-1].to == ["jeune@exemple.fr"]
    assert ProvisionalCode.objects.filter(space=space, used_at__isnull=True).exists()
    assert "space_handed_over" in _actions(space)


def test_reactivation_of_a_space_closed_before_any_account_cancels_its_deletion():
    space = factories.SpaceFactory(state=Space.State.CREATED, holder__user=None)
    space = lifecycle.request_deletion(space=space, by=SYSTEM)
    code = lifecycle.issue_code(space=space, channel="letter", by=SYSTEM)
    lifecycle.reactivate_with_code(
        claim=_claim(space, code),
        email="tard@exemple.fr",
        password="Un-mot-de-passe-solide-2026",
        by=SYSTEM,
    )
    space = _reload(space)
    assert space.state == Space.State.ACTIVE
    assert (space.closed_at, space.retention_until, space.deletion_due_at) == (None, None, None)
    assert {"space_reactivated", "space_activated"} <= set(_actions(space))
    with time_machine.travel(timezone.now() + timedelta(days=60)):
        assert lifecycle.destroy_due() == 0


def test_no_code_is_sent_for_an_active_or_destroyed_space():
    for state in (Space.State.ACTIVE, Space.State.DESTROYED, Space.State.SUSPENDED):
        with pytest.raises(SpaceError, match="Aucun code"):
            lifecycle.send_new_code(space=factories.SpaceFactory(state=state), by=SYSTEM)


@pytest.mark.skipif(
    __import__("django.db").db.connection.vendor != "postgresql",
    reason="parallel sweepers are PostgreSQL's (SKIP LOCKED, one connection per thread)",
)
@pytest.mark.django_db(transaction=True)
def test_parallel_sweepers_take_every_space_once():
    spaces = [_announced()[0] for _ in range(7)]
    with time_machine.travel(timezone.now() + timedelta(weeks=6, minutes=1)):
        assert lifecycle.sweep_announced(parallel=3, batch_size=2) == 7
        assert lifecycle.sweep_announced(parallel=3) == 0
    from acces.audit import verify_chain

    for space in spaces:
        assert _reload(space).state == Space.State.CREATED
        assert _actions(space).count("space_created") == 1
        assert verify_chain(f"space:{space.pk}") is None
