"""The prevention sub-part's Celery tasks: the nightly computation and its emails."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from espace_sante import notifications

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def compute_prevention_reminders() -> int:
    """The beat task: compute the reminders of the spaces due for a look today (batches,
    idempotent) and notify; returns how many spaces were looked at."""
    from agenda.prevention import batch

    stats = batch.run(parallel=settings.SWEEP_PARALLELISM)
    logger.info("prevention: %s spaces, %s notifications", stats.spaces, stats.notifications)
    return stats.spaces


@shared_task(ignore_result=True)
def send_prevention_notifications(ids: list[int]) -> int:
    """Send a batch's emails (one task per batch; what fails is left to the outbox sweep)."""
    sent = 0
    for notification_id in ids:
        try:
            sent += notifications.deliver(notification_id) == "sent"
        except Exception as exc:  # one bad address must not stop the batch
            logger.warning("notification %s: email failed (%s)", notification_id, exc)
    return sent
