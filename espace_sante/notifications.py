"""Telling people: a row in the outbox, in the caller's transaction, sent by a task.

Emails never carry medical content: templates say that something happened and
link to the portal, where the policy decides what may be shown.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from espace_sante import emails
from espace_sante.models import Notification, Space, User

MAX_EMAIL_ATTEMPTS = 6

logger = logging.getLogger(__name__)


def notify(
    *,
    recipient: User | None = None,
    address: str = "",
    template: str,
    context: dict | None = None,
    space: Space | None = None,
    link: str = "",
    by_email: bool = True,
) -> Notification:
    """Write a notification to the outbox; its email leaves after the transaction commits."""
    subject, body = emails.render(template, context or {})
    if recipient is None and not address:
        raise ValueError("a notification needs a recipient or an address")
    notification = Notification.objects.create(
        recipient=recipient,
        address=address,
        space=space,
        kind=template,
        subject=subject,
        body=body,
        link=link,
        email_state=Notification.EmailState.PENDING if by_email else Notification.EmailState.NONE,
        email_message_id=emails.new_message_id() if by_email else "",
    )
    if by_email:
        from espace_sante.tasks import send_notification_email

        # robust: a broker outage must not fail the action; the beat sweep sends it later.
        transaction.on_commit(lambda: send_notification_email.delay(notification.pk), robust=True)
    return notification


def notify_space(
    *,
    space: Space,
    template: str,
    context: dict | None = None,
    link: str = "",
    except_user: User | None = None,
):
    """Notify the holder of `space` and, for a minor, each current legal representative.

    A holder without an account yet is written to at their contact address, by email only.
    `except_user`, the person who made the change, is not told of what they just did.
    """
    users = [u for u in recipients_of(space) if except_user is None or u.pk != except_user.pk]
    for user in users:
        notify(recipient=user, template=template, context=context, space=space, link=link)
    holder = space.holder
    if holder.user_id is None and holder.email and holder.email not in {u.email for u in users}:
        notify(address=holder.email, template=template, context=context, space=space, link=link)


def recipients_of(space: Space) -> list[User]:
    users = list(
        User.objects.filter(
            Q(patient__space=space) | Q(pk__in=space.representatives.current().values("user_id")),
            is_active=True,
        ).distinct()
    )
    return users


def claim(notification_id: int) -> bool:
    """Take the email of one notification for sending; False if someone else has it."""
    return bool(
        Notification.objects.filter(
            pk=notification_id, email_state=Notification.EmailState.PENDING
        ).update(
            email_state=Notification.EmailState.SENDING,
            email_claimed_at=timezone.now(),
            email_attempts=F("email_attempts") + 1,
        )
    )


def deliver(notification_id: int) -> str:
    """Send one pending email; return the resulting state.

    The conditional claim means two workers (or the beat sweep and the task
    queued at commit) never both send it. A failure puts it back to pending,
    or marks it failed after MAX_EMAIL_ATTEMPTS.

    The guarantee is "at least once, with the same Message-ID": a worker that
    dies after the mail server accepted the message and before the row says
    sent leaves a claim that the sweep releases, and the email goes again with
    the Message-ID of the first attempt, so mail clients show it once. The row
    is marked sent right after the server's acceptance, before the connection's
    QUIT, to keep that window as small as SMTP allows.
    """
    if not claim(notification_id):
        return "skipped"
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    # An account's current email, else the address the notification was written to
    # (people without an account yet: announcement, opposition).
    to = notification.recipient.email if notification.recipient_id else notification.address
    if not to:
        Notification.objects.filter(pk=notification_id).update(
            email_state=Notification.EmailState.FAILED, email_error="no email address"
        )
        return "failed"
    message_id = notification.email_message_id or _fix_message_id(notification_id)
    try:
        connection = mail.get_connection(fail_silently=False)
        connection.open()
        try:
            emails.send(
                to=to,
                subject=notification.subject,
                body=notification.body,
                link=notification.link,
                message_id=message_id,
                connection=connection,
            )
            Notification.objects.filter(pk=notification_id).update(
                email_state=Notification.EmailState.SENT,
                email_sent_at=timezone.now(),
                email_error="",
            )
        finally:
            _close_quietly(connection)
    except Exception as exc:
        state = (
            Notification.EmailState.FAILED
            if notification.email_attempts >= MAX_EMAIL_ATTEMPTS
            else Notification.EmailState.PENDING
        )
        Notification.objects.filter(pk=notification_id).update(
            email_state=state, email_error=str(exc)[:300]
        )
        raise
    return "sent"


def _fix_message_id(notification_id: int) -> str:
    """Give a row written without a Message-ID one, once: the first writer wins."""
    Notification.objects.filter(pk=notification_id, email_message_id="").update(
        email_message_id=emails.new_message_id()
    )
    return Notification.objects.values_list("email_message_id", flat=True).get(pk=notification_id)


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception as exc:  # the message was accepted (or not) before: nothing to undo
        logger.warning("closing the mail connection failed (%s)", exc)


def release_stale_claims() -> int:
    """Put back emails whose sender died mid-way, so the sweep can retry them."""
    limit = timezone.now() - settings.NOTIFICATION_CLAIM_TIMEOUT
    return Notification.objects.filter(
        email_state=Notification.EmailState.SENDING, email_claimed_at__lt=limit
    ).update(email_state=Notification.EmailState.PENDING)


def due_for_retry(now=None) -> list[int]:
    """Pending emails, oldest first, whose back-off (by attempts so far) has passed."""
    now = now or timezone.now()
    rows = (
        Notification.objects.filter(email_state=Notification.EmailState.PENDING)
        .values_list("pk", "email_attempts", "email_claimed_at")
        .order_by("created_at")[:1000]
    )
    due = []
    for pk, attempts, claimed_at in rows:
        wait = timedelta(seconds=30 * (2 ** max(attempts - 1, 0))) if attempts else timedelta(0)
        if claimed_at is None or claimed_at + wait <= now:
            due.append(pk)
    return due


def mark_read(*, user: User, notification_id: int | None = None) -> int:
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())


# What only an email needs: the greeting, the way to the site, the signature.
_EMAIL_ONLY = ("Bonjour", "Connectez-vous sur", "L'équipe Mon espace santé")


def portal_text(body: str) -> str:
    """The message of a notification as the portal shows it: the email without its greeting,
    its "connect to the site" line and its signature (the page is the site)."""
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    kept = []
    for paragraph in paragraphs:
        if paragraph.startswith(_EMAIL_ONLY[2]):
            break
        if paragraph.startswith(_EMAIL_ONLY[:2]):
            continue
        kept.append(paragraph)
    return "\n\n".join(kept) or body.strip()
