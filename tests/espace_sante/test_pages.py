"""What the patient's pages show, and that they cost the same queries whatever the size."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from acces import audit
from espace_sante import notifications
from espace_sante.models import Notification
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in
from tests.mailbox import assert_email_left, delivered

pytestmark = pytest.mark.django_db


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def _fill_history(space, count):
    for i in range(count):
        audit.record(actor=Actor.system(), action=f"action_{i}", space=space)


def test_history_page_costs_the_same_queries_for_1_and_200_events(client, patient_space):
    sign_in(client, patient_space.holder.user)
    url = reverse("espace_sante:history", args=[patient_space.public_id])
    _fill_history(patient_space, 1)
    small = _queries(client, url)
    _fill_history(patient_space, 200)
    assert _queries(client, url) == small


def test_history_shows_who_did_what_on_which_basis(client):
    relation = factories.CareRelationFactory(
        basis="attending", professional__user__last_name="Houssay"
    )
    space = relation.space
    from acces.policy import Action
    from acces.services import check_and_trace

    user = relation.professional.user
    check_and_trace(
        actor=Actor(user=user, role=user.kind, ip="203.0.113.5"),
        space=space,
        action=Action.VIEW_SPACE,
    )
    sign_in(client, space.holder.user)
    body = client.get(reverse("espace_sante:history", args=[space.public_id])).content.decode()
    assert "Houssay" in body
    assert "Médecin traitant" in body
    assert "Consultation de l&#x27;espace" in body or "Consultation de l'espace" in body


def test_notifications_page_costs_the_same_queries_for_1_and_60(client):
    user = factories.UserFactory()
    sign_in(client, user)
    url = reverse("espace_sante:notifications")
    for _ in range(1):
        notifications.notify(recipient=user, template="sign_in", context={"when": timezone.now()})
    small = _queries(client, url)
    for _ in range(60):
        notifications.notify(recipient=user, template="sign_in", context={"when": timezone.now()})
    assert _queries(client, url) == small
    assert delivered(Notification.objects.filter(recipient=user))
    assert len(mail.outbox) == 61


def test_notifications_are_listed_and_marked_read(client):
    user = factories.UserFactory()
    other = factories.UserFactory()
    mine = notifications.notify(
        recipient=user, template="sign_in", context={"when": timezone.now()}
    )
    notifications.notify(recipient=other, template="space_opened")
    sign_in(client, user)
    body = client.get(reverse("espace_sante:notifications")).content.decode()
    assert mine.subject in body
    assert "Votre espace santé est ouvert" not in body  # someone else's
    client.post(reverse("espace_sante:notification_read"), {"notification": mine.pk})
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert delivered(Notification.objects.all())
    assert_email_left(user.email, subject=mine.subject)
    assert_email_left(other.email, subject="Votre espace santé est ouvert")


def test_a_user_cannot_mark_someone_elses_notification_read(client):
    theirs = notifications.notify(recipient=factories.UserFactory(), template="space_opened")
    sign_in(client, factories.UserFactory())
    client.post(reverse("espace_sante:notification_read"), {"notification": theirs.pk})
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert delivered([theirs])


def test_home_lists_own_space_and_represented_minor_only(client):
    representation = factories.LegalRepresentativeFactory(space__holder__first_names="Noé")
    parent = representation.user
    own = factories.SpaceFactory(holder__user=parent, holder__first_names="Parent")
    stranger = factories.SpaceFactory(holder__first_names="Inconnu")
    sign_in(client, parent)
    body = client.get("/").content.decode()
    assert str(own.public_id) in body
    assert str(representation.space.public_id) in body
    assert str(stranger.public_id) not in body
