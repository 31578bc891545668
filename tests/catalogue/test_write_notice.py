"""The daily grouped notice of the services' writes: once a day per space, content-free,
no count lost when a run fails, no second message when a run is repeated."""

import json
from datetime import datetime
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db.models import F
from django.utils import timezone

from acces.models import AuditEvent
from catalogue.connections import notices
from catalogue.models import Connection
from tests import factories
from tests.catalogue.api_helpers import bearer, connect
from tests.catalogue.test_api import GLUCOSE
from tests.mailbox import assert_email_left

pytestmark = pytest.mark.django_db

EVENING = timezone.make_aware(datetime(2026, 11, 30, 18, 0))
SUBJECT = "Des services connectés ont ajouté des données"


def _write(client, connected, times=1):
    for _ in range(times):
        response = client.post(
            "/fhir/Observation",
            data=json.dumps(GLUCOSE),
            content_type="application/fhir+json",
            **bearer(connected),
        )
        assert response.status_code == 201


def _run(capture, now=EVENING):
    with capture(execute=True):
        return notices.send_write_notices(now=now)


def test_one_message_for_the_days_writes_of_two_services_without_content(
    client, django_capture_on_commit_callbacks
):
    space = factories.SpaceFactory()
    tension = connect(space, name="Suivi Tension")
    glucose = connect(space, name="GlucoSuivi")
    _write(client, tension, 3)
    _write(client, glucose)
    quiet = factories.SpaceFactory()
    connect(quiet)  # connected, wrote nothing: told nothing
    mail.outbox.clear()

    assert _run(django_capture_on_commit_callbacks) == 1

    (email,) = assert_email_left(
        space.holder.user.email, subject=SUBJECT, without=("Suivi Tension", "GlucoSuivi", "1,12")
    )
    assert "2 services connectés ont ajouté des données" in email.body
    assert "(4 ajouts" in email.body
    assert not [m for m in mail.outbox if quiet.holder.user.email in m.to]
    assert set(Connection.objects.filter(space=space).values_list("pending_writes", flat=True)) == {
        0
    }
    event = AuditEvent.objects.get(action="service_writes_notified")
    assert event.space == space and event.detail == {"services": 2, "writes": 4}


def test_at_most_once_a_day_and_later_writes_wait_for_tomorrow(
    client, django_capture_on_commit_callbacks
):
    space = factories.SpaceFactory()
    connected = connect(space)
    _write(client, connected, 2)
    mail.outbox.clear()
    assert _run(django_capture_on_commit_callbacks) == 1
    assert _run(django_capture_on_commit_callbacks) == 0  # a second run the same day
    _write(client, connected)  # after the notice
    later = timezone.make_aware(datetime(2026, 11, 30, 23, 30))
    assert _run(django_capture_on_commit_callbacks, now=later) == 0
    assert len(assert_email_left(space.holder.user.email, subject=SUBJECT)) == 1
    connected.connection.refresh_from_db()
    assert connected.connection.pending_writes == 1
    tomorrow = timezone.make_aware(datetime(2026, 12, 1, 18, 0))
    assert _run(django_capture_on_commit_callbacks, now=tomorrow) == 1
    (_first, second) = assert_email_left(space.holder.user.email, subject=SUBJECT, count=2)
    assert "Un service connecté a ajouté des données" in second.body and "(1 ajout " in second.body


def test_a_failed_run_loses_no_count_and_sends_nothing(client, django_capture_on_commit_callbacks):
    space = factories.SpaceFactory()
    connected = connect(space)
    _write(client, connected, 3)
    mail.outbox.clear()
    failing = mock.patch.object(notices, "notify_space", side_effect=RuntimeError("tué"))
    with failing, pytest.raises(RuntimeError):
        _run(django_capture_on_commit_callbacks)
    connected.connection.refresh_from_db()
    assert connected.connection.pending_writes == 3
    assert connected.connection.writes_notified_at is None
    assert not mail.outbox
    assert not AuditEvent.objects.filter(action="service_writes_notified").exists()
    assert _run(django_capture_on_commit_callbacks) == 1  # the next run tells it all
    (email,) = assert_email_left(space.holder.user.email, subject=SUBJECT)
    assert "(3 ajouts" in email.body


def test_a_write_during_the_notice_is_kept_for_the_next_one(
    client, django_capture_on_commit_callbacks
):
    space = factories.SpaceFactory()
    connected = connect(space)
    _write(client, connected, 2)
    real = notices.notify_space

    def write_meanwhile(**kwargs):
        # A service's write arriving as the notice goes (on PostgreSQL it waits for the
        # claim's lock, then adds to what the claim left).
        Connection.objects.filter(pk=connected.connection.pk).update(
            pending_writes=F("pending_writes") + 1
        )
        return real(**kwargs)

    with mock.patch.object(notices, "notify_space", side_effect=write_meanwhile):
        assert _run(django_capture_on_commit_callbacks) == 1
    connected.connection.refresh_from_db()
    assert connected.connection.pending_writes == 1


def test_a_minors_representatives_are_told(client, django_capture_on_commit_callbacks):
    representative = factories.LegalRepresentativeFactory()
    connected = connect(representative.space, user=representative.user)
    _write(client, connected)
    mail.outbox.clear()
    assert _run(django_capture_on_commit_callbacks) == 1
    assert_email_left(representative.user.email, subject=SUBJECT)


def test_the_beat_task_runs_the_sweep(client, django_capture_on_commit_callbacks):
    from catalogue.connections.tasks import send_write_notices

    space = factories.SpaceFactory()
    _write(client, connect(space))
    mail.outbox.clear()
    with (
        time_machine.travel(EVENING, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert send_write_notices.delay().get() == 1
    assert_email_left(space.holder.user.email, subject=SUBJECT)
