"""A woman of 52 in Chromium: her prevention reminders at desktop and phone widths, the
breast screening marked done with a date, a programme turned off after a confirmation."""

import re
from datetime import date
from pathlib import Path

import pytest

from agenda.models import PreventionMark, PreventionPreference
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/pv")


def _fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_woman_of_52_marks_her_mammography_done_and_turns_a_programme_off(page, live_server):
    space = factories.SpaceFactory(
        holder__birth_date=date(1974, 6, 1), holder__sex="F", holder__first_names="Nathalie"
    )
    sign_in_patient(page, live_server, space.holder.user.email)
    url = f"{live_server.url}/espace/{space.public_id}/agenda/prevention/"
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        assert page.get_by_role("heading", name="Mes rappels de prévention").is_visible()
        assert page.get_by_text("Mammographie de dépistage du cancer du sein").first.is_visible()
        assert _fits(page), f"the page overflows at {width} px"
        _shot(page, f"prevention-{width}")
    assert_accessible(page)

    # "Pourquoi ce rappel ?" opens the rule's reason and its source.
    card = page.locator("#rappel-depistage-sein")
    card.get_by_text("Pourquoi ce rappel ?").click()
    assert card.get_by_text(re.compile("Les femmes de 50 à 74 ans")).is_visible()

    card.get_by_role("link", name=re.compile("Indiquer comme fait")).click()
    page.get_by_label(re.compile("Date à laquelle")).fill("2026-03-10")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(url)
    assert page.get_by_text(re.compile("C.est noté")).is_visible()
    done = page.locator("section", has=page.get_by_role("heading", name=re.compile("Déjà fait")))
    assert done.get_by_role(
        "heading", name="Mammographie de dépistage du cancer du sein"
    ).is_visible()
    assert PreventionMark.objects.get(space=space).done_on == date(2026, 3, 10)
    assert_accessible(page)
    _shot(page, "prevention-done-375")

    # Turning the colorectal programme off asks first.
    page.get_by_role("link", name=re.compile("Désactiver.*colorectal")).click()
    assert page.get_by_role("heading", name="Désactiver ces rappels ?").is_visible()
    page.get_by_role("button", name="Désactiver les rappels").click()
    page.wait_for_url(url)
    assert PreventionPreference.objects.get(space=space).programmes_off == ["depistage_colorectal"]
    assert page.get_by_role("button", name=re.compile("Réactiver")).is_visible()
