"""The nightly computation: batches, idempotent, a content-free email when an item becomes
due and again before its window closes, at most one a week per person."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail

from agenda.models import PreventionStatus
from agenda.prevention import batch
from agenda.prevention.tasks import compute_prevention_reminders
from espace_sante.models import Notification, Space
from tests import factories

pytestmark = pytest.mark.django_db

SUBJECT = "Vous avez un rappel de prévention dans votre agenda santé"


def run(day, capture, **kwargs):
    with time_machine.travel(day, tick=False), capture(execute=True):
        return batch.run(**kwargs)


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_an_item_becoming_due_sends_one_content_free_email(capture):
    # Born 15 March 1976: everything she has is planned until her 50th birthday.
    space = factories.SpaceFactory(holder__birth_date=date(1976, 3, 15), holder__sex="F")
    stats = run(date(2026, 3, 1), capture)
    assert stats.spaces == 1
    first = Notification.objects.filter(space=space).count()  # the bilan 45-50 was due
    status = PreventionStatus.objects.get(space=space)
    assert status.next_check_on <= date(2026, 3, 15)
    mail.outbox.clear()
    Notification.objects.all().delete()
    PreventionStatus.objects.filter(space=space).update(last_notified_on=date(2026, 1, 1))
    stats = run(date(2026, 3, 15), capture)
    assert stats.spaces == 1 and stats.notifications == 1
    assert first == 1
    [email] = mail.outbox
    assert email.subject.endswith(SUBJECT) and email.to == [space.holder.user.email]
    body = email.body.lower()
    assert "rappel de prévention" in body
    for word in ("sein", "colorectal", "mammographie", "dépistage", "vaccin"):
        assert word not in body and word not in email.subject.lower()
    notification = Notification.objects.get(space=space)
    assert notification.link == f"/espace/{space.public_id}/agenda/prevention/"


def test_a_second_run_the_same_day_does_nothing(capture):
    factories.SpaceFactory(holder__birth_date=date(1970, 1, 1))
    factories.SpaceFactory(holder__birth_date=date(1970, 1, 1))
    assert run(date(2026, 12, 2), capture, batch_size=1).spaces == 2
    assert Notification.objects.count() == 2
    again = run(date(2026, 12, 2), capture)
    assert (again.spaces, again.notifications) == (0, 0)
    assert run(date(2026, 12, 3), capture).spaces == 0  # nothing changes the next day
    assert Notification.objects.count() == 2


def test_at_most_one_notification_a_week(capture):
    # 65 on 1 February 2026: shingles, pneumococcus and the dTP booster all open then;
    # notified on 20 January of something else, she hears of them only from the 27th.
    space = factories.SpaceFactory(holder__birth_date=date(1961, 1, 23), holder__sex="M")
    run(date(2026, 1, 20), capture)
    assert Notification.objects.filter(space=space).count() == 1
    stats = run(date(2026, 1, 23), capture)  # 65: new items, but told 3 days ago
    assert stats.spaces == 1 and stats.notifications == 0
    status = PreventionStatus.objects.get(space=space)
    assert status.next_check_on == date(2026, 1, 27)
    assert run(date(2026, 1, 26), capture).spaces == 0
    assert run(date(2026, 1, 27), capture).notifications == 1
    assert Notification.objects.filter(space=space).count() == 2


def test_again_before_the_window_closes(capture):
    # M'T dents at 24: from 1 March 2026 to the day before 25.
    space = factories.SpaceFactory(holder__birth_date=date(2002, 3, 1), holder__sex="F")
    run(date(2026, 3, 1), capture)
    told = Notification.objects.filter(space=space).count()
    assert told == 1
    closing = date(2027, 3, 1) - timedelta(days=30)
    assert run(closing - timedelta(days=1), capture).notifications == 0
    assert run(closing, capture).notifications == 1
    status = PreventionStatus.objects.get(space=space)
    assert "mt-dents-24" in status.notified_closing


def test_a_minors_representatives_are_told_not_the_child(capture):
    rep = factories.LegalRepresentativeFactory(space__holder__birth_date=date(2015, 6, 3))
    run(date(2026, 12, 3) + timedelta(days=30), capture)
    assert [n.recipient for n in Notification.objects.filter(space=rep.space)] == [rep.user]
    assert [m.to for m in mail.outbox] == [[rep.user.email]]


def test_only_active_spaces_and_the_beat_task(capture, settings):
    closed = factories.SpaceFactory(state=Space.State.CLOSED)
    factories.SpaceFactory()
    assert "compute-prevention-reminders" in settings.CELERY_BEAT_SCHEDULE
    with time_machine.travel(date(2026, 12, 2), tick=False), capture(execute=True):
        assert compute_prevention_reminders() == 1
    assert not PreventionStatus.objects.filter(space=closed).exists()


def test_answering_makes_the_space_looked_at_again(capture):
    from agenda.prevention import services
    from espace_sante.tracing import Actor

    space = factories.SpaceFactory(holder__birth_date=date(1974, 6, 1))
    run(date(2026, 12, 2), capture)
    with time_machine.travel(date(2026, 12, 2), tick=False):
        services.decline(space=space, code="depistage-sein", by=Actor.system(), decision=None)
    assert PreventionStatus.objects.get(space=space).next_check_on == date(2026, 12, 2)
    stats = run(date(2026, 12, 2), capture)
    assert stats.spaces == 1
    assert "depistage-sein" not in PreventionStatus.objects.get(space=space).notified_due
