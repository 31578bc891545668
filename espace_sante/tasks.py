"""Celery tasks: they take primary keys and call services."""

import logging

from celery import shared_task

from espace_sante import notifications

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
