"""The pages each reader gets, in Chromium at desktop and phone widths, with axe: the
professional's profile in the pro portal, the parent's activation of a child's space,
the consent page naming the patient found, the directory saying who has access."""

import os
import re
from datetime import date

import pytest
from django.conf import settings as django_settings
from django.test import Client

from acces.models import CareRelation
from espace_sante import lifecycle, services
from espace_sante.tracing import Actor
from tests import factories
from tests.browser.conftest import assert_accessible
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1280, 375)
SHOTS = os.environ.get("SCREENSHOT_DIR", "")


def _as(page, live_server, user):
    """Open the browser as `user`, second factor done (the sign-in has its own journeys)."""
    client = sign_in(Client(), user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def _check(page, url, name):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        assert_accessible(page)
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)


def test_the_pro_profile_and_the_consent_page_in_the_pro_portal(page, live_server):
    space = factories.SpaceFactory(holder__first_names="Inès", holder__last_name="Fontaine")
    doctor = factories.ProfessionalFactory(user__last_name="Marchand")
    factories.TOTPDeviceFactory(user=doctor.user)
    factories.CareRelationFactory(
        space=space, professional=doctor, basis=CareRelation.Basis.ATTENDING
    )
    _as(page, live_server, doctor.user)
    _check(page, f"{live_server.url}/pro/patients/{space.public_id}/profil/", "pro-profile")
    assert "Portail des professionnels de santé" in page.content()

    other = factories.SpaceFactory(holder__first_names="Odile", holder__last_name="Vautrin")
    page.goto(f"{live_server.url}/pro/patients/recherche/")
    page.get_by_label(re.compile("INS")).fill(other.holder.nir)
    page.get_by_label("Nom de naissance").fill(other.holder.last_name)
    page.get_by_label("Date de naissance").fill(other.holder.birth_date.isoformat())
    page.get_by_role("button", name=re.compile("Rechercher")).click()
    page.wait_for_url(re.compile("/consentement/"))
    assert "Odile Vautrin" in page.locator(".fr-callout").inner_text()
    _check(page, page.url, "pro-consent")


def test_a_parent_activates_the_childs_space_and_searches_the_directory(page, live_server):
    leo = services.enrol_person(
        nir=factories.next_nir(sex="1", born=date(2016, 2, 1)),
        last_name="Durand",
        first_names="Léo",
        birth_date=date(2016, 2, 1),
        sex="M",
        carte_vitale_serial="1002003098",
        announce=False,
        by=Actor.system(),
    )
    parent = factories.PatientFactory(first_names="Camille", last_name="Durand").user
    factories.LegalRepresentativeFactory(space=leo, user=parent)
    code = lifecycle.issue_code(space=leo, channel="letter", by=Actor.system())
    attending = factories.ProfessionalFactory(user__last_name="Traitante")
    _as(page, live_server, parent)
    _check(page, f"{live_server.url}/espace/{leo.public_id}/", "child-space-to-activate")
    page.get_by_label(re.compile("Code provisoire")).fill(code)
    page.get_by_role("button", name="Activer l'espace de Léo").click()
    page.wait_for_load_state()
    assert "L'espace de Léo est activé" in page.content()
    factories.CareRelationFactory(
        space=leo, professional=attending, basis=CareRelation.Basis.ATTENDING
    )
    _check(
        page,
        f"{live_server.url}/espace/{leo.public_id}/acces/?query=Traitante",
        "child-access-directory",
    )
    assert page.get_by_role("heading", level=1).inner_text() == "Qui a accès au dossier de Léo"
