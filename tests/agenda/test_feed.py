"""The iCalendar feed: a per-person secret address (only its hash stored), revocable and
renewable with confirmation, RFC 5545 parsed by `icalendar` and by `vobject` (a second
parser nobody here wrote); content-free by default; traced without a session."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from unittest import mock

import icalendar
import pytest
import vobject
from django.test import Client
from django.utils import timezone

from acces.models import AuditEvent
from agenda.appointments import services
from agenda.appointments.sealing import Details
from agenda.appointments.services import AppointmentData
from agenda.models import CalendarFeed
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

REASON = "Bilan de la maladie de Crohn"
SPECIALTY = "Gastro-entérologie"
PLACE = "Hôpital Hôtel-Dieu"


def _at(days=3, hour=10):
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _patient(space):
    return Actor(user=space.holder.user, role="patient")


def _add(space, days=3, hour=10):
    return services.add_appointment(
        space=space,
        by=_patient(space),
        data=AppointmentData(
            starts_at=_at(days, hour),
            duration_minutes=40,
            details=Details(name="Dr Hugo Perrin", specialty=SPECIALTY, reason=REASON, place=PLACE),
        ),
    )


def _feed(space, **kwargs):
    return services.create_feed(space=space, by=_patient(space), **kwargs)


def _get(token):
    return Client().get(f"/agenda/{token}.ics")


def _unfolded(response) -> str:
    return response.content.decode().replace("\r\n ", "")


def test_the_feed_is_rfc5545_for_two_parsers_and_says_only_rendez_vous_sante():
    space = factories.SpaceFactory()
    appointment = _add(space)
    _feed_obj, token = _feed(space)
    response = _get(token)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = _unfolded(response)
    for secret in (REASON, SPECIALTY, PLACE, "Perrin", space.holder.last_name):
        assert secret not in body
    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["VERSION"]) == "2.0" and "PRODID" in calendar
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Rendez-vous santé"
    assert event["UID"].startswith(str(appointment.public_id))
    assert event.decoded("DTSTART") == appointment.starts_at
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=40)
    # A parser nobody here wrote reads the same thing.
    parsed = vobject.readOne(response.content.decode())
    (vevent,) = parsed.vevent_list
    assert vevent.summary.value == "Rendez-vous santé"
    assert vevent.dtstart.value == appointment.starts_at
    assert not hasattr(vevent, "location") and not hasattr(vevent, "description")


def test_details_only_when_the_person_opts_in():
    space = factories.SpaceFactory()
    _add(space)
    feed, token = _feed(space)
    client = sign_in(Client(), space.holder.user)
    client.post(f"/espace/{space.public_id}/agenda/flux/details/", {"include_details": "on"})
    feed.refresh_from_db()
    assert feed.include_details
    response = _get(token)
    (event,) = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert SPECIALTY in str(event["SUMMARY"])
    assert str(event["LOCATION"]) == PLACE
    assert REASON in str(event["DESCRIPTION"])
    vevent = vobject.readOne(response.content.decode()).vevent
    assert vevent.location.value == PLACE
    client.post(f"/espace/{space.public_id}/agenda/flux/details/", {})
    assert SPECIALTY not in _unfolded(_get(token))


def test_cancelled_appointments_are_marked_so_and_reminders_are_todos():
    space = factories.SpaceFactory()
    appointment = _add(space)
    services.cancel_appointment(appointment=appointment, by=_patient(space))
    _feed_obj, token = _feed(space)

    @dataclass
    class Item:
        key: str = "col-hpv-2026"
        label: str = "Dépistage du cancer du col de l'utérus"
        state: str = "due"
        state_label: str = "À faire"
        window_start: date = date(2026, 1, 1)
        window_end: date = date(2026, 12, 31)
        url: str = "/espace/x/agenda/prevention/"

    with mock.patch("agenda.appointments.feed_views.due_reminders", return_value=[Item()]):
        response = _get(token)
    calendar = icalendar.Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    (todo,) = calendar.walk("VTODO")
    assert str(todo["SUMMARY"]) == "Rappel de prévention"
    assert "col" not in str(todo["SUMMARY"])
    assert todo.decoded("DUE") == date(2026, 12, 31)
    assert str(todo["URL"]).startswith("http")
    parsed = vobject.readOne(response.content.decode())
    assert parsed.vtodo.summary.value == "Rappel de prévention"


def test_only_the_hash_is_stored_and_each_opening_is_traced_without_a_session():
    space = factories.SpaceFactory()
    feed, token = _feed(space)
    assert token not in feed.token_hash and len(feed.token_hash) == 64
    assert not CalendarFeed.objects.filter(token_hash=token).exists()
    _get(token)
    _get(token)
    events = AuditEvent.objects.filter(space=space, action="calendar_feed_opened")
    assert events.count() == 2
    event = events.first()
    assert event.actor_id is None
    assert event.role == "calendar_feed"
    assert event.actor_label == "Flux iCalendar"
    assert event.outcome == "allowed" and event.basis == "holder"
    assert event.target_id == str(feed.public_id)
    feed.refresh_from_db()
    assert feed.last_opened_at is not None


def test_a_token_of_space_a_gives_nothing_of_space_b():
    space_a, space_b = factories.SpaceFactory(), factories.SpaceFactory()
    _add(space_a, days=1)
    theirs = _add(space_b, days=2)
    _feed_a, token_a = _feed(space_a)
    body = _unfolded(_get(token_a))
    assert str(theirs.public_id) not in body
    assert len(icalendar.Calendar.from_ical(body).walk("VEVENT")) == 1
    assert not AuditEvent.objects.filter(space=space_b, action="calendar_feed_opened").exists()


def test_revoked_renewed_and_unknown_tokens_give_404():
    space = factories.SpaceFactory()
    _add(space)
    client = sign_in(Client(), space.holder.user)
    base = f"/espace/{space.public_id}/agenda/"
    page = client.post(base + "flux/creer/")
    html = page.content.decode()
    assert "Copiez cette adresse maintenant" in html
    token = _token_in(html)
    assert _get(token).status_code == 200
    # Renewal asks first; without the box ticked, the address still works.
    assert (
        "L'adresse actuelle cessera de fonctionner"
        in client.get(base + "flux/renouveler/").content.decode()
    )
    client.post(base + "flux/renouveler/", {})
    assert _get(token).status_code == 200
    renewed = client.post(base + "flux/renouveler/", {"confirm": "on"}).content.decode()
    new_token = _token_in(renewed)
    assert new_token != token
    assert _get(token).status_code == 404
    assert _get(new_token).status_code == 200
    # Revocation, confirmed: the new one stops too.
    client.post(base + "flux/revoquer/", {"confirm": "on"})
    assert _get(new_token).status_code == 404
    assert _get("inconnu-" + "x" * 30).status_code == 404
    assert not CalendarFeed.objects.live().exists()
    refused = AuditEvent.objects.filter(
        space=space, action="calendar_feed_opened", outcome="denied"
    )
    assert refused.count() == 2
    assert {e.detail["reason"] for e in refused} == {"feed_revoked"}
    assert "Créer l'adresse de mon flux" in client.get(base).content.decode()


def _token_in(html: str) -> str:
    import re

    return re.search(r"/agenda/([A-Za-z0-9_-]{40,})\.ics", html).group(1)


def test_a_feed_stops_when_its_person_loses_the_right():
    representative = factories.LegalRepresentativeFactory()
    space = representative.space
    _feed_obj, token = services.create_feed(space=space, by=Actor(representative.user, "patient"))
    assert _get(token).status_code == 200
    representative.until = timezone.now() - timedelta(minutes=1)
    representative.save()
    assert _get(token).status_code == 404


def test_each_person_has_their_own_feed():
    representative = factories.LegalRepresentativeFactory()
    space = representative.space
    other = factories.LegalRepresentativeFactory(space=space)
    first, token1 = services.create_feed(space=space, by=Actor(representative.user, "patient"))
    second, token2 = services.create_feed(space=space, by=Actor(other.user, "patient"))
    assert first.pk != second.pk and token1 != token2
    assert CalendarFeed.objects.live().filter(space=space).count() == 2
    services.revoke_feed(space=space, by=Actor(other.user, "patient"))
    assert _get(token1).status_code == 200 and _get(token2).status_code == 404


def test_the_feed_takes_only_get():
    space = factories.SpaceFactory()
    _feed_obj, token = _feed(space)
    assert Client().post(f"/agenda/{token}.ics").status_code == 405
