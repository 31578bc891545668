"""Celery tasks of the connections (imported by `catalogue.parts.register`)."""

from celery import shared_task

from catalogue.connections import notices


@shared_task(ignore_result=True, name="catalogue.connections.tasks.send_write_notices")
def send_write_notices() -> int:
    """Beat, every day at 18 h: the day's grouped notice of the services' writes."""
    return notices.send_write_notices()
