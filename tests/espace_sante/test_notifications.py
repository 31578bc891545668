from datetime import timedelta
from typing import ClassVar

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends import locmem
from django.db import transaction
from django.utils import timezone

from espace_sante import notifications
from espace_sante.models import Notification
from espace_sante.tasks import send_notification_email, send_pending_notifications
from tests import factories
from tests.conftest import wait_for
from tests.mailbox import assert_email_left


def _notify(user):
    return notifications.notify(
        recipient=user, template="sign_in", context={"when": timezone.now()}, link="/notifications/"
    )


@pytest.mark.django_db(transaction=True)
def test_email_leaves_after_commit_exactly_once():
    user = factories.UserFactory()
    with transaction.atomic():
        notification = _notify(user)
        assert mail.outbox == []  # nothing leaves before the commit
    notification.refresh_from_db()
    assert notification.email_state == Notification.EmailState.SENT
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert_email_left(user.email)
    # A duplicate task and the sweep find nothing left to send.
    assert send_notification_email.delay(notification.pk).get() == "skipped"
    send_pending_notifications.delay()
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_rolled_back_action_leaves_no_notification():
    user = factories.UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        _notify(user)
        raise RuntimeError("the action failed")
    assert not Notification.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_failed_email_stays_pending_and_the_sweep_sends_it_later(monkeypatch):
    user = factories.UserFactory()
    calls = []

    def broken_send(**kwargs):
        calls.append(kwargs)
        raise ConnectionError("SMTP down")

    monkeypatch.setattr("espace_sante.emails.send", broken_send)
    with transaction.atomic():
        notification = _notify(user)
    notification.refresh_from_db()
    assert notification.email_state == Notification.EmailState.PENDING
    assert notification.email_attempts == 1
    assert "SMTP down" in notification.email_error

    monkeypatch.undo()
    assert send_pending_notifications() == 0  # still backing off
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_pending_notifications() == 1
    notification.refresh_from_db()
    assert notification.email_state == Notification.EmailState.SENT
    assert len(mail.outbox) == 1
    assert_email_left(user.email)
    assert calls[0]["message_id"] == mail.outbox[0].extra_headers["Message-ID"]


@pytest.mark.django_db
def test_a_claimed_email_is_not_sent_by_a_second_worker():
    notification = Notification.objects.create(
        recipient=factories.UserFactory(), kind="sign_in", subject="s", body="b"
    )
    assert notifications.claim(notification.pk)
    assert notifications.deliver(notification.pk) == "skipped"
    assert mail.outbox == []


@pytest.mark.django_db
def test_stale_claim_from_a_dead_worker_is_released_and_sent():
    user = factories.UserFactory()
    notification = Notification.objects.create(
        recipient=user,
        kind="sign_in",
        subject="s",
        body="b",
        email_state=Notification.EmailState.SENDING,
        email_claimed_at=timezone.now() - timedelta(hours=1),
        email_attempts=1,
    )
    assert send_pending_notifications() == 1
    notification.refresh_from_db()
    assert notification.email_state == Notification.EmailState.SENT
    assert [m.to for m in mail.outbox] == [[user.email]]
    # A row written without one (bulk insert) gets its Message-ID at the first attempt.
    assert notification.email_message_id
    assert mail.outbox[0].extra_headers["Message-ID"] == notification.email_message_id


@pytest.mark.django_db
def test_email_never_carries_more_than_the_stored_text(django_capture_on_commit_callbacks):
    user = factories.UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notification = notifications.notify(
            recipient=user,
            template="space_accessed",
            context={"actor_title": "Dr Test — Médecin", "when": timezone.now()},
        )
    assert "Dr Test" in notification.body
    assert "médical" in notification.body.lower()
    (sent,) = assert_email_left(user.email)
    assert sent.body == notification.body
    assert "Dr Test — Médecin a consulté votre espace santé" in sent.subject + sent.body


@pytest.mark.worker
def test_real_worker_sends_the_outbox_once(celery_worker):
    user = factories.UserFactory()
    with transaction.atomic():
        notification = _notify(user)
    assert wait_for(
        lambda: (
            Notification.objects.get(pk=notification.pk).email_state == Notification.EmailState.SENT
        )
    )
    send_notification_email.delay(notification.pk)
    send_pending_notifications.delay()
    # Once the worker has run both (and the first sending), it had every chance to send again.
    assert celery_worker.ran({send_notification_email: 2, send_pending_notifications: 1})
    sent = celery_worker.sent_emails()
    assert len(sent) == 1
    assert user.email in sent[0]
    assert Notification.objects.get(pk=notification.pk).email_message_id in sent[0]


def test_notification_str_has_no_content():
    notification = Notification(pk=3, kind="space_accessed", subject="secret", body="secret")
    assert "secret" not in str(notification)


@pytest.mark.django_db
def test_the_portal_shows_the_message_without_the_emails_greeting_link_and_signature(
    client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from tests.conftest import sign_in

    user = factories.UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(
            recipient=user,
            template="space_accessed",
            context={"actor_title": "Dr Test — Médecin", "when": timezone.now()},
        )
    sign_in(client, user)
    body = client.get(reverse("espace_sante:notifications")).content.decode()
    assert "Dr Test — Médecin a consulté votre espace santé" in body
    assert "Bonjour" not in body
    assert "Connectez-vous sur" not in body
    assert "Cet e-mail ne contient jamais" not in body
    assert_email_left(user.email)


@pytest.mark.django_db(transaction=True)
def test_email_to_an_address_without_an_account_leaves():
    space = factories.SpaceFactory(holder__user=None)
    with transaction.atomic():
        notification = notifications.notify(
            address="sans.compte@example.org", template="space_created", space=space
        )
    notification.refresh_from_db()
    assert notification.email_state == Notification.EmailState.SENT
    assert notification.email_attempts == 1
    (sent,) = assert_email_left("sans.compte@example.org")
    assert "votre espace Mon espace santé est créé" in sent.body


@pytest.mark.django_db(transaction=True)
def test_notify_space_writes_to_the_contact_address_of_a_holder_without_an_account():
    space = factories.SpaceFactory(holder__user=None, holder__email="contact@example.org")
    with transaction.atomic():
        notifications.notify_space(space=space, template="space_created")
    row = Notification.objects.get(space=space)
    assert row.recipient is None
    assert row.email_state == Notification.EmailState.SENT
    assert_email_left("contact@example.org")


class _WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, no except catches it."""


@pytest.mark.django_db
def test_a_resend_after_a_crash_between_acceptance_and_marking_has_the_same_message_id(
    monkeypatch,
):
    user = factories.UserFactory()
    notification = _notify(user)  # no commit in this test: nothing is queued
    real_send = notifications.emails.send

    def send_then_die(**kwargs):
        real_send(**kwargs)  # the server accepted it...
        raise _WorkerKilled  # ...and the worker died before the row says so

    monkeypatch.setattr("espace_sante.emails.send", send_then_die)
    with pytest.raises(_WorkerKilled):
        notifications.deliver(notification.pk)
    assert Notification.objects.get(pk=notification.pk).email_state == "sending"

    monkeypatch.undo()
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert send_pending_notifications() == 1
    notification.refresh_from_db()
    assert notification.email_state == Notification.EmailState.SENT
    assert notification.email_attempts == 2
    first, second = assert_email_left(user.email, count=2)
    message_ids = {m.message()["Message-ID"] for m in (first, second)}
    assert message_ids == {notification.email_message_id}
    assert notification.email_message_id.startswith("<")
    assert notification.email_message_id.endswith("@monespacesante.local>")


@pytest.mark.django_db
def test_each_notification_has_its_own_message_id():
    user = factories.UserFactory()
    first, second = _notify(user), _notify(user)
    assert first.email_message_id and second.email_message_id
    assert first.email_message_id != second.email_message_id


class _BackendRecordingTheRowAtQuit(locmem.EmailBackend):
    """Stands for SMTP: what the outbox row says when the connection says goodbye (QUIT)."""

    states_at_quit: ClassVar[list] = []

    def close(self):
        self.states_at_quit.append(list(Notification.objects.values_list("email_state", flat=True)))
        super().close()


@pytest.mark.django_db
def test_the_row_is_marked_sent_before_the_connection_says_goodbye(settings):
    settings.EMAIL_BACKEND = f"{__name__}._BackendRecordingTheRowAtQuit"
    _BackendRecordingTheRowAtQuit.states_at_quit.clear()
    notification = _notify(factories.UserFactory())
    assert notifications.deliver(notification.pk) == "sent"
    assert _BackendRecordingTheRowAtQuit.states_at_quit == [["sent"]]
    assert len(mail.outbox) == 1
