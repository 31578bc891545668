"""Small things a user sees in Chromium: a refused file is marked like any field in error, the
authenticator's secret never breaks inside a group, the directory's button stands clear of
the fields, and hiding everything from emergencies asks first."""

import re

import pytest

from dossier.models import Document
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient
from tests.browser.test_documents import (
    _fill_document,
    prescription_type,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.django_db(transaction=True)

ERROR_RED = "rgb(206, 5, 0)"  # DSFR's --border-plain-error, light theme


def _bar(page, selector):
    """Colour and width of the bar DSFR draws at the left of a field group in error."""
    return page.eval_on_selector(
        selector,
        """e => { const s = getComputedStyle(e, '::before');
                  const color = s.backgroundImage.match(/rgb\\([^)]*\\)/);
                  return {content: s.content, width: parseFloat(s.width) || e.offsetWidth
                                                       - parseFloat(s.left) - parseFloat(s.right),
                          color: color ? color[0] : s.backgroundColor}; }""",
    )


def test_a_refused_file_is_marked_like_the_other_fields_in_error(
    page,
    live_server,
    tmp_path,
    prescription_type,  # noqa: F811
):
    space = factories.SpaceFactory()
    sign_in_patient(page, live_server, space.holder.user.email)
    page.goto(f"{live_server.url}/espace/{space.public_id}/documents/ajouter/")
    fake = tmp_path / "resultats.pdf"
    fake.write_bytes(b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
    _fill_document(page, fake, "Résultats piégés")
    page.wait_for_load_state()

    assert page.locator(".fr-upload-group--error").count() == 1
    error = page.locator(".fr-upload-group--error .fr-error-text").inner_text()
    assert "Formats acceptés : PDF, JPEG, PNG ou texte brut" in error
    upload = _bar(page, ".fr-upload-group--error")
    label_colour = page.eval_on_selector(
        ".fr-upload-group--error label", "e => getComputedStyle(e).color"
    )
    assert_accessible(page)

    # A text field in error, for comparison: a real PDF without a title.
    pdf = tmp_path / "ordonnance.pdf"
    pdf.write_bytes(factories.PDF_BYTES)
    _fill_document(page, pdf, "")
    page.wait_for_load_state()
    assert page.locator(".fr-upload-group--error").count() == 0
    text_field = _bar(page, ".fr-input-group--error")

    assert upload["content"] != "none" and upload["width"] > 0
    assert upload["color"] == text_field["color"] == ERROR_RED
    assert label_colour == ERROR_RED
    assert not Document.objects.exists()


def test_the_totp_secret_breaks_only_between_groups_of_four_and_can_be_cancelled(page, live_server):
    space = factories.SpaceFactory()
    sign_in_patient(page, live_server, space.holder.user.email)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(live_server.url + "/connexion/totp/")
        groups = page.locator(".portail-secret__groupe")
        assert groups.count() == 8
        assert all(re.fullmatch(r"[A-Z2-7]{4}", text) for text in groups.all_inner_texts())
        lines = page.eval_on_selector_all(
            ".portail-secret__groupe", "els => els.map(e => e.getClientRects().length)"
        )
        assert lines == [1] * 8, f"a group breaks across lines at {width} px"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(page)
    page.get_by_role("link", name="Annuler").click()
    page.wait_for_url(live_server.url + "/")


def test_the_directory_button_stands_clear_of_the_fields_above_it(page, live_server):
    space = factories.SpaceFactory()
    sign_in_patient(page, live_server, space.holder.user.email)
    page.goto(f"{live_server.url}/espace/{space.public_id}/acces/")
    button = page.get_by_role("button", name="Rechercher dans l'annuaire")
    town = page.get_by_label(re.compile("Commune"))
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        gap = button.bounding_box()["y"] - (
            town.bounding_box()["y"] + town.bounding_box()["height"]
        )
        assert gap >= 16, f"{gap} px between the last field and the button at {width} px"


def test_hiding_everything_from_emergencies_asks_first(page, live_server):
    space = factories.SpaceFactory()
    factories.make_document(space)
    sign_in_patient(page, live_server, space.holder.user.email)
    page.goto(f"{live_server.url}/espace/{space.public_id}/acces/")

    page.get_by_role("link", name="Tout masquer, urgences comprises").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Tout masquer, urgences comprises ?"
    assert_accessible(page)
    page.get_by_role("link", name="Annuler").click()
    page.wait_for_url(re.compile(r"/acces/$"))
    assert not Document.objects.filter(masked=True).exists()

    page.get_by_role("link", name="Tout masquer, urgences comprises").click()
    page.get_by_role("button", name="Oui, tout masquer, urgences comprises").click()
    page.wait_for_url(re.compile(r"/acces/$"))
    assert "1 document masqué aux professionnels de santé." in page.content()
    assert page.get_by_role("button", name="Tout rendre de nouveau visible").is_visible()
    assert Document.objects.filter(masked=True).count() == 1
