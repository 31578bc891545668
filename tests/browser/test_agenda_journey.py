"""Issue 13's "Done when" journey in Chromium, at 1280 px and at 375 px: Camille (born
1985) opens "Agenda" from the navigation, adds an appointment and sees it in the list and
in the month view, marks a prevention reminder done with a date and sees it move to
"Déjà fait", creates her iCalendar feed and reads it with `icalendar` (the new
appointment, content-free), then reads her history of care: a past appointment, the act
behind a document and an imported care event. Each page fits the window and passes axe."""

import importlib
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from django.apps import apps
from django.utils import timezone

from agenda.appointments import services
from agenda.appointments.sealing import Details
from agenda.appointments.services import AppointmentData
from agenda.models import Appointment, PreventionMark
from espace_sante.tracing import Actor
from tests import factories
from tests.agenda.history_helpers import csv_text, run_import
from tests.browser.conftest import assert_accessible, sign_in_patient

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/aj")


@pytest.fixture
def reference_data():
    """The document types, the default matrices and the care-history rules (a
    transactional test flushes them; the prevention rules come back by themselves)."""
    for module in (
        "dossier.migrations.0002_document_types",
        "acces.migrations.0006_default_document_access_matrix",
    ):
        importlib.import_module(module).load(apps, None)
    importlib.import_module("agenda.migrations.0003_hi_care_history").load_default_rules(apps, None)


def _check(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"{name} is wider than the window"
    assert_accessible(page)


def _camille():
    """Camille, born 1985: a past appointment (done), a document, an imported care event."""
    space = factories.SpaceFactory(
        holder__first_names="Camille",
        holder__last_name="Durand",
        holder__birth_date=date(1985, 4, 12),
        holder__sex="F",
    )
    past = services.add_appointment(
        space=space,
        by=Actor(user=space.holder.user, role="patient"),
        data=AppointmentData(
            starts_at=timezone.make_aware(
                datetime.combine(timezone.localdate() - timedelta(days=40), datetime.min.time())
            )
            + timedelta(hours=9),
            with_kind=Appointment.WithKind.PRACTITIONER,
            details=Details(name="Dr Hélène Garnier", specialty="Dermatologie"),
        ),
    )
    Appointment.objects.filter(pk=past.pk).update(status=Appointment.Status.DONE)
    factories.make_document(space, title="Bilan sanguin annuel")
    pharmacist = factories.ProfessionalFactory(profession="pharmacien", specialty="")
    run_import(
        csv_text(
            f"{space.holder.nir};2025-03-14;dispensation;3400930000001;Amoxicilline 1 g;"
            f"{pharmacist.rpps};;"
        ),
        today=timezone.localdate(),
    )
    return space, past


@pytest.mark.parametrize("width", [1280, 375])
def test_camille_goes_through_her_agenda(page, live_server, reference_data, width):
    space, past = _camille()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_patient(page, live_server, space.holder.user.email)
    base = f"{live_server.url}/espace/{space.public_id}/agenda/"

    # "Agenda" from the space's navigation (behind the menu button on a phone).
    page.goto(f"{live_server.url}/espace/{space.public_id}/")
    if width < 1000:
        page.get_by_role("button", name="Menu").first.click()
    page.get_by_role("link", name="Agenda", exact=True).first.click()
    page.wait_for_url(base)
    assert page.get_by_role("heading", name="Mon agenda santé", level=1).is_visible()
    pages = page.get_by_role("navigation", name="Pages de l’agenda")
    for name, suffix in (
        ("Calendrier", "calendrier/"),
        ("Tous les rendez-vous", "rendez-vous/"),
        ("Rappels de prévention", "prevention/"),
        ("Historique des soins", "historique/"),
    ):
        assert (
            pages.get_by_role("link", name=name).get_attribute("href").endswith(f"/agenda/{suffix}")
        ), name
    _check(page, f"home-{width}")

    # An appointment, added through the form, in the list and in the month view.
    page.get_by_role("link", name="Ajouter un rendez-vous").first.click()
    page.wait_for_url(re.compile(r"/rendez-vous/nouveau/$"))
    day = timezone.localdate() + timedelta(days=3)
    page.get_by_label("Avec qui ?").select_option("establishment")
    page.get_by_label(re.compile("Nom du professionnel ou de l'établissement")).fill(
        "Centre d'imagerie de l'Erdre"
    )
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Heure").fill("14:30")
    page.get_by_label("Spécialité").fill("Radiologie")
    page.get_by_label("Motif").fill("Échographie pelvienne")
    page.get_by_role("button", name="Ajouter le rendez-vous").click()
    page.wait_for_url(re.compile(r"/rendez-vous/[0-9a-f-]{36}/$"))
    assert page.get_by_text("Le rendez-vous est ajouté à votre agenda.").is_visible()
    added = Appointment.objects.get(space=space, status=Appointment.Status.PLANNED)

    page.goto(base)
    pages.get_by_role("link", name="Tous les rendez-vous").click()
    page.wait_for_url(re.compile(r"/rendez-vous/$"))
    assert page.get_by_text("Centre d'imagerie de l'Erdre").first.is_visible()
    _check(page, f"list-{width}")

    page.goto(f"{base}calendrier/?vue=mois&date={day.isoformat()}")
    link = page.locator(f"a[href$='/rendez-vous/{added.public_id}/']")
    assert link.count() >= 1
    _check(page, f"calendar-month-{width}")

    # A prevention reminder: the cervical HPV test, marked done with a date.
    page.goto(base)
    pages.get_by_role("link", name="Rappels de prévention").click()
    page.wait_for_url(f"{base}prevention/")
    card = page.locator("#rappel-depistage-col-hpv")
    assert card.get_by_role(
        "heading", name="Test HPV de dépistage du cancer du col de l'utérus"
    ).is_visible()
    _check(page, f"prevention-{width}")
    card.get_by_role("link", name=re.compile("Indiquer comme fait")).click()
    page.get_by_label(re.compile("Date à laquelle")).fill("2026-02-03")
    _check(page, f"prevention-done-form-{width}")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"{base}prevention/")
    assert page.get_by_text(re.compile("C.est noté")).is_visible()
    done = page.locator("section", has=page.get_by_role("heading", name=re.compile("Déjà fait")))
    assert done.get_by_role(
        "heading", name="Test HPV de dépistage du cancer du col de l'utérus"
    ).is_visible()
    assert PreventionMark.objects.get(space=space).done_on == date(2026, 2, 3)
    _check(page, f"prevention-after-{width}")

    # The iCalendar feed: created from the agenda page, fetched, parsed with icalendar.
    page.goto(base)
    page.get_by_role("button", name="Créer l'adresse de mon flux").click()
    address = page.get_by_label(re.compile("Adresse du flux")).input_value()
    assert re.search(r"/agenda/[A-Za-z0-9_-]{40,}\.ics$", address)
    _check(page, f"feed-created-{width}")
    response = page.request.get(address)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.body())
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    (event,) = [e for uid, e in events.items() if str(added.public_id) in uid]
    assert str(event["SUMMARY"]) == "Rendez-vous santé"
    start = event.decoded("DTSTART")
    assert timezone.localtime(start).date() == day
    assert (timezone.localtime(start).hour, timezone.localtime(start).minute) == (14, 30)
    for secret in ("Radiologie", "Échographie", "Erdre", "Dermatologie"):
        assert secret not in response.text(), secret

    # The history of care: the past appointment, the document's act, the care event.
    page.goto(base)
    pages.get_by_role("link", name="Historique des soins").click()
    page.wait_for_url(f"{base}historique/")
    assert page.get_by_role("heading", name="Historique des soins", level=1).is_visible()
    timeline = page.get_by_role("list", name=re.compile("Historique des soins"))
    entry = timeline.get_by_role("listitem").filter(
        has=page.locator(f"a[href$='/rendez-vous/{past.public_id}/']")
    )
    assert entry.get_by_text("Effectué").is_visible()  # the past appointment, done
    assert timeline.get_by_role("link", name=re.compile("Bilan sanguin annuel")).is_visible()
    assert timeline.get_by_text("Amoxicilline 1 g").is_visible()  # the imported care event
    assert "Échographie" not in timeline.inner_text()  # the coming one is not history yet
    _check(page, f"history-{width}")
