"""The agenda in Chromium: Camille opens it from the navigation, adds an appointment,
sees it in the week and month views, then subscribes the iCalendar feed, which parses;
at 1280 px and 375 px, with an accessibility check on each page."""

import re
from datetime import timedelta
from pathlib import Path

import icalendar
import pytest
from django.utils import timezone

from agenda.models import Appointment
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/ap")


def _fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _check(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert _fits(page), f"{name} is wider than the window"
    assert_accessible(page)


@pytest.mark.parametrize("width", [1280, 375])
def test_camille_adds_an_appointment_and_subscribes_her_feed(page, live_server, width):
    space = factories.SpaceFactory(holder__last_name="Martin", holder__first_names="Camille")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_patient(page, live_server, space.holder.user.email)

    page.goto(f"{live_server.url}/espace/{space.public_id}/")
    if width < 1000:
        page.get_by_role("button", name="Menu").first.click()
    page.get_by_role("link", name="Agenda", exact=True).first.click()
    page.wait_for_url(re.compile(r"/agenda/$"))
    assert "Aucun rendez-vous à venir." in page.content()
    _check(page, f"home-empty-{width}")

    page.get_by_role("link", name="Ajouter un rendez-vous").first.click()
    page.wait_for_url(re.compile(r"/rendez-vous/nouveau/$"))
    _check(page, f"add-{width}")
    day = timezone.localdate() + timedelta(days=2)
    page.get_by_label("Avec qui ?").select_option("establishment")
    page.get_by_label(re.compile("Nom du professionnel ou de l'établissement")).fill(
        "CHU de Nantes"
    )
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Heure").fill("10:00")
    page.get_by_label("Spécialité").fill("Radiologie")
    page.get_by_label("Motif").fill("Échographie abdominale")
    page.get_by_role("button", name="Ajouter le rendez-vous").click()
    page.wait_for_url(re.compile(r"/rendez-vous/[0-9a-f-]{36}/$"))
    assert "Le rendez-vous est ajouté à votre agenda." in page.content()
    assert "Échographie abdominale" in page.content()
    _check(page, f"detail-{width}")
    appointment = Appointment.objects.get(space=space)
    assert timezone.localtime(appointment.starts_at).date() == day

    base = f"{live_server.url}/espace/{space.public_id}/agenda/"
    for view in ("semaine", "mois", "jour"):
        page.goto(f"{base}calendrier/?vue={view}&date={day.isoformat()}")
        assert f"/rendez-vous/{appointment.public_id}/" in page.content()
        _check(page, f"calendar-{view}-{width}")
    page.goto(f"{base}rendez-vous/")
    assert "CHU de Nantes" in page.content()
    _check(page, f"list-{width}")

    # The feed: created from the agenda page, its address shown once, and it parses.
    page.goto(base)
    assert "CHU de Nantes" in page.content()
    page.get_by_role("button", name="Créer l'adresse de mon flux").click()
    address = page.get_by_label(re.compile("Adresse du flux")).input_value()
    assert re.search(r"/agenda/[A-Za-z0-9_-]{40,}\.ics$", address)
    _check(page, f"feed-created-{width}")
    response = page.request.get(address)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/calendar")
    (event,) = icalendar.Calendar.from_ical(response.body()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Rendez-vous santé"
    assert "Radiologie" not in response.text()

    # Revoking asks first; then the address answers nothing.
    page.goto(base)
    _check(page, f"home-feed-{width}")
    page.get_by_role("link", name="Révoquer le flux").click()
    _check(page, f"feed-revoke-{width}")
    page.locator("label", has_text="Je comprends").click()
    page.get_by_role("button", name="Révoquer le flux").click()
    page.wait_for_url(re.compile(r"/agenda/$"))
    assert "Le flux est révoqué" in page.content()
    assert page.request.get(address).status == 404
