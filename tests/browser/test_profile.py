"""The holder's medical profile in Chromium: add an allergy and measurements, see the chart."""

import re

import pytest

from dossier.models import Allergy, Measurement
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient

pytestmark = pytest.mark.django_db(transaction=True)


def test_holder_fills_the_profile_and_sees_the_chart(page, live_server):
    space = factories.SpaceFactory()
    sign_in_patient(page, live_server, space.holder.user.email)
    page.goto(f"{live_server.url}/espace/{space.public_id}/")
    page.get_by_role("link", name="Mon profil médical").click()
    assert_accessible(page)

    page.get_by_role("link", name="Ajouter une allergie").click()
    page.get_by_label(re.compile("Substance")).fill("Pénicilline")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_role("cell", name="Pénicilline", exact=True).is_visible()

    for value, day in [("72", "2024-01-05"), ("70.5", "2024-06-05")]:
        page.get_by_role("link", name="Ajouter une mesure").first.click()
        page.get_by_label("Mesure", exact=True).select_option("weight")
        page.get_by_label(re.compile("Valeur .tension systolique")).fill(value)
        page.get_by_label(re.compile("Date de la mesure")).fill(day)
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_url(re.compile("/courbes/"))
    points = page.locator("svg polyline").first.get_attribute("points").split()
    assert len(points) == 2
    assert_accessible(page)

    page.get_by_role("link", name="Ajouter une mesure").click()
    page.get_by_label("Mesure", exact=True).select_option("height")
    page.get_by_label(re.compile("Valeur .tension systolique")).fill("900")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("La taille doit être comprise entre 20 et 260 cm.").is_visible()
    assert Allergy.objects.filter(space=space).count() == 1
    assert Measurement.objects.filter(space=space).count() == 2
