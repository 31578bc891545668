"""The agenda's faults: Redis down, a reminder run killed half-way, a prevention batch
killed half-way. The pages answer, and what was due goes out once when things are back."""

import html
from datetime import date, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from acces.models import AuditEvent
from agenda.appointments import services
from agenda.models import Appointment, PreventionStatus
from agenda.prevention import batch
from espace_sante.models import Notification
from espace_sante.tasks import send_pending_notifications
from tests import factories
from tests.agenda.test_appointments import _add
from tests.conftest import sign_in
from tests.espace_sante.test_redis_outage import _Redis

pytestmark = pytest.mark.django_db

REMINDER = "Rappel : rendez-vous santé demain"


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: the transaction never commits."""


@pytest.fixture
def redis(settings):
    redis = _Redis(settings)
    redis.down()
    yield redis
    redis.back()


def test_the_agenda_answers_and_keeps_an_appointment_added_while_redis_is_down(
    redis, django_capture_on_commit_callbacks
):
    space = factories.SpaceFactory()
    client = sign_in(Client(), space.holder.user)
    day = timezone.localdate() + timedelta(days=5)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/espace/{space.public_id}/agenda/rendez-vous/nouveau/",
            {
                "with_kind": "practitioner",
                "name": "Dr Claire Morel",
                "day": day.isoformat(),
                "time": "09:15",
                "duration_minutes": "30",
            },
            follow=True,
        )
    assert response.status_code == 200
    assert "Dr Claire Morel" in html.unescape(response.content.decode())
    assert Appointment.objects.filter(space=space).count() == 1
    page = client.get(f"/espace/{space.public_id}/agenda/rendez-vous/")
    assert page.status_code == 200
    assert "Dr Claire Morel" in html.unescape(page.content.decode())


def test_a_reminder_due_while_redis_is_down_leaves_once_when_it_is_back(
    redis, django_capture_on_commit_callbacks
):
    space = factories.SpaceFactory()
    with time_machine.travel(timezone.make_aware(datetime(2026, 3, 9, 8, 0)), tick=False):
        _add(space, days=1, hour=10)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_reminders() == 1  # claimed and written to the outbox
    assert not [m for m in mail.outbox if REMINDER in m.subject]  # the broker is down
    notification = Notification.objects.get(space=space, kind="appointment_reminder")
    assert notification.email_state == Notification.EmailState.PENDING

    redis.back()
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert send_pending_notifications() == 1  # the beat's sweep of the outbox
        assert send_pending_notifications() == 0
    reminders = [m for m in mail.outbox if REMINDER in m.subject]
    assert [m.to for m in reminders] == [[space.holder.user.email]]


def test_a_reminder_run_killed_half_way_reminds_everyone_once_when_run_again(
    django_capture_on_commit_callbacks,
):
    spaces = [factories.SpaceFactory() for _ in range(3)]
    real_notify = services.notify_space
    calls = []

    def dies_on_the_second(**kwargs):
        calls.append(kwargs["space"].pk)
        if len(calls) == 2:
            raise WorkerKilled
        return real_notify(**kwargs)

    with time_machine.travel(timezone.make_aware(datetime(2026, 3, 9, 8, 0)), tick=False):
        for space in spaces:
            _add(space, days=1, hour=10)
        with (
            mock.patch.object(services, "notify_space", dies_on_the_second),
            pytest.raises(WorkerKilled),
            django_capture_on_commit_callbacks(execute=True),
        ):
            services.send_reminders()
        # The first was sent and recorded; the killed one left no trace of a claim.
        assert Appointment.objects.filter(reminder_sent_at__isnull=False).count() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_reminders() == 2
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_reminders() == 0
    reminded = sorted(m.to[0] for m in mail.outbox if REMINDER in m.subject)
    assert reminded == sorted(space.holder.user.email for space in spaces)
    assert AuditEvent.objects.filter(action="appointment_reminded").count() == 3


def test_a_prevention_batch_killed_half_way_finishes_on_the_next_run_without_repeating(
    django_capture_on_commit_callbacks,
):
    # Women of 50 on the day: the breast and colorectal screenings become due for each.
    spaces = [
        factories.SpaceFactory(holder__birth_date=date(1976, 3, 1), holder__sex="F")
        for _ in range(4)
    ]
    real_notify = batch._notify
    calls = []

    def dies_on_the_second_batch(spaces, message):
        calls.append(len(spaces))
        if len(calls) == 2:
            raise WorkerKilled
        return real_notify(spaces, message)

    day = date(2026, 3, 15)
    with (
        time_machine.travel(day, tick=False),
        mock.patch.object(batch, "_notify", dies_on_the_second_batch),
        pytest.raises(WorkerKilled),
        django_capture_on_commit_callbacks(execute=True),
    ):
        batch.run(batch_size=2)
    with time_machine.travel(day, tick=False), django_capture_on_commit_callbacks(execute=True):
        batch.run(batch_size=2)
    with time_machine.travel(day, tick=False), django_capture_on_commit_callbacks(execute=True):
        again = batch.run(batch_size=2)
    assert again.notifications == 0
    assert PreventionStatus.objects.count() == len(spaces)
    for space in spaces:
        assert Notification.objects.filter(space=space).count() == 1, space
    told = sorted(m.to[0] for m in mail.outbox)
    assert told == sorted(space.holder.user.email for space in spaces)
