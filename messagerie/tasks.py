"""Celery tasks of the messaging: they call services."""

from celery import shared_task

from messagerie import retention


@shared_task(ignore_result=True)
def purge_expired_conversations() -> int:
    """Beat, nightly: crypto-shred the conversations past MESSAGES_RETENTION_DAYS (if set)."""
    return retention.purge_expired_conversations()
