"""Celery tasks: they take primary keys and call services."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from espace_sante import emails, export, letters, lifecycle, notifications
from espace_sante.models import ContactChange, Letter, ProvisionalCode, Space
from espace_sante.tracing import Actor

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=notifications.MAX_EMAIL_ATTEMPTS, ignore_result=True)
def send_notification_email(self, notification_id: int) -> str:
    try:
        return notifications.deliver(notification_id)
    except Exception as exc:
        logger.warning("notification %s: email failed (%s)", notification_id, exc)
        if self.request.is_eager:
            # In-process mode: the beat sweep retries; never fail the request that notified.
            return "pending"
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task(ignore_result=True)
def send_pending_notifications() -> int:
    """The beat sweep: send what was left over (broker outage, crashed worker)."""
    notifications.release_stale_claims()
    sent = 0
    for notification_id in notifications.due_for_retry():
        try:
            sent += notifications.deliver(notification_id) == "sent"
        except Exception as exc:  # one bad address must not stop the sweep
            logger.warning("notification %s: email failed again (%s)", notification_id, exc)
    return sent


@shared_task(bind=True, max_retries=5, ignore_result=True)
def deliver_code(self, space_id: int, kind: str, by_letter: bool = False) -> str:
    """Issue a provisional code and send it, by email or as a letter, in one transaction.

    Where it goes is `lifecycle.code_delivery`'s decision (by letter only for 30 days
    after an agent changed the contact details). If sending fails the code is rolled
    back with it and the task retries with a new one, so a code exists only where it
    was delivered.
    """
    space = Space.objects.select_related("holder__user").get(pk=space_id)
    holder = space.holder
    delivery = lifecycle.code_delivery(space, by_letter=by_letter)
    if not delivery.channel:
        logger.warning("space %s: code withheld (recent contact change, no address)", space_id)
        return "withheld"
    address = delivery.email if delivery.channel == ProvisionalCode.Channel.EMAIL else ""
    validity = None
    if kind == "announcement" and space.opposition_deadline:
        validity = max(space.opposition_deadline - timezone.now(), Space.OPPOSITION_WINDOW / 6)
    channel = delivery.channel
    try:
        with transaction.atomic():
            code = lifecycle.issue_code(
                space=space, channel=channel, by=Actor.system(), valid_for=validity
            )
            if address:
                subject, body = emails.render(
                    f"code_{kind}",
                    {
                        "holder": holder,
                        "code": code,
                        "space": space,
                        "deadline": space.opposition_deadline,
                    },
                )
                emails.send(to=address, subject=subject, body=body)
            else:
                letters.produce(
                    space=space,
                    kind=Letter.Kind(_LETTER_KIND[kind]),
                    code=code,
                    postal_address=delivery.postal_address,
                )
    except Exception as exc:
        logger.warning("space %s: code delivery failed (%s)", space_id, exc)
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
    return channel


@shared_task(bind=True, max_retries=5, ignore_result=True)
def send_contact_change_letter(self, change_id: int) -> str:
    """Tell a person without an email, by letter to their former postal address, that an
    agent changed their contact details (no code, nothing medical)."""
    change = ContactChange.objects.select_related("patient__space").get(pk=change_id)
    space = getattr(change.patient, "space", None)
    if space is None or not change.previous_postal_address.strip():
        return "no_address"
    if (
        Letter.objects.filter(space=space, kind=Letter.Kind.CONTACT_CHANGED)
        .filter(created_at__gte=change.changed_at)
        .exists()
    ):
        return "done"  # a retry after the letter was stored
    try:
        with transaction.atomic():  # no letter row left without its file
            letters.produce(
                space=space,
                kind=Letter.Kind.CONTACT_CHANGED,
                code="",
                postal_address=change.previous_postal_address,
                context={"changed_at": change.changed_at},
            )
    except Exception as exc:
        logger.warning("contact change %s: letter failed (%s)", change_id, exc)
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
    return "letter"


_LETTER_KIND = {"announcement": "announcement", "new_code": "new_code", "handover": "handover"}


@shared_task(ignore_result=True)
def sweep_announced_spaces() -> int:
    return lifecycle.sweep_announced()


@shared_task(ignore_result=True)
def close_unchallenged_suspensions() -> int:
    return lifecycle.close_unchallenged_suspensions()


@shared_task(ignore_result=True)
def hand_over_adults() -> int:
    return lifecycle.hand_over_adults()


@shared_task(ignore_result=True)
def destroy_due_spaces() -> int:
    return lifecycle.destroy_due()


@shared_task(ignore_result=True)
def build_export(job_id: int) -> str:
    return export.run_job(job_id)


@shared_task(ignore_result=True)
def purge_exports() -> int:
    return export.purge_exports()
