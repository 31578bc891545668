"""Celery tasks of the appointments: they call services (imported by `setup.register`,
since Celery's autodiscovery looks only at `agenda.tasks`)."""

from celery import shared_task

from agenda.appointments import services


@shared_task(ignore_result=True, name="agenda.appointments.tasks.send_appointment_reminders")
def send_appointment_reminders() -> int:
    """Beat, every hour: remind the planned appointments of tomorrow, once each."""
    return services.send_reminders()
