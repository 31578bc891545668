"""MESSAGES_RETENTION_DAYS: optional, checked at start-up, applied by a nightly task."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from messagerie import tasks
from messagerie.models import Conversation
from tests import factories
from tests.espace_sante.test_settings import _run
from tests.messagerie import helpers


def test_retention_is_unset_by_default():
    assert django_settings.MESSAGES_RETENTION_DAYS is None


def test_a_retention_of_no_days_stops_start_up():
    result = _run("check", MESSAGES_RETENTION_DAYS="0")
    assert result.returncode != 0
    assert "MESSAGES_RETENTION_DAYS" in result.stderr


def test_the_purge_is_scheduled_nightly():
    schedule = django_settings.CELERY_BEAT_SCHEDULE["purge-expired-conversations"]
    assert schedule["task"] == "messagerie.tasks.purge_expired_conversations"


@pytest.mark.django_db
def test_the_nightly_task_destroys_only_expired_conversations(settings):
    space, gp = factories.SpaceFactory(), factories.ProfessionalFactory()
    old = helpers.start(space, gp, subject="Ancien", when=timezone.now() - timedelta(days=40))
    helpers.start(space, gp, subject="Récent")
    assert tasks.purge_expired_conversations.delay().get() == 0  # kept while unset
    settings.MESSAGES_RETENTION_DAYS = 30
    assert tasks.purge_expired_conversations.delay().get() == 1
    assert not Conversation.objects.filter(pk=old.pk).exists()
    assert Conversation.objects.filter(space=space).count() == 1
