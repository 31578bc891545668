"""The history of care in Chromium: Camille reads her timeline at desktop and phone widths,
filters it, follows an entry to its document; her pharmacist sees the dispensations only."""

import importlib
import re
from datetime import date
from pathlib import Path

import pytest
from django.apps import apps
from django.core import mail

from tests import factories
from tests.agenda.history_helpers import csv_text, run_import
from tests.browser.conftest import assert_accessible
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/hi")


@pytest.fixture
def reference_data():
    """The document types, the default matrices (a transactional test flushes them)."""
    for module in (
        "dossier.migrations.0002_document_types",
        "acces.migrations.0006_default_document_access_matrix",
    ):
        importlib.import_module(module).load(apps, None)
    importlib.import_module("agenda.migrations.0003_hi_care_history").load_default_rules(apps, None)


def _sign_in(page, live_server, email, *, totp=None):
    page.goto(live_server.url + ("/pro/" if totp else "/"))
    if totp is None:
        page.get_by_role("link", name=re.compile("Se connecter")).first.click()
    page.get_by_label(re.compile("e-mail", re.I)).fill(email)
    page.get_by_label(re.compile("Mot de passe", re.I)).first.fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Se connecter")).click()
    page.wait_for_url(re.compile("/connexion/"))
    code = totp() if totp else re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    page.get_by_label(re.compile("Code", re.I)).fill(code)
    page.get_by_role("button", name=re.compile("Valider")).click()


def _fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_camille_reads_and_filters_her_history_of_care(page, live_server, reference_data):
    space = factories.SpaceFactory(holder__first_names="Camille", holder__last_name="Durand")
    pharmacist = factories.ProfessionalFactory(profession="pharmacien", specialty="")
    document = factories.make_document(space, title="Bilan sanguin annuel")
    nir = space.holder.nir
    run_import(
        csv_text(
            f"{nir};2025-03-14;dispensation;3400930000001;Amoxicilline 1 g;{pharmacist.rpps};;",
            f"{nir};2024-06-02;acte;DEQP003;Électrocardiogramme de repos;{pharmacist.rpps};;",
            f"{nir};2023-11-20;séjour;GHM05K10;Séjour en cardiologie;;440000289;CHU de Nantes",
        ),
        today=date(2026, 12, 1),
    )
    _sign_in(page, live_server, space.holder.user.email)
    page.wait_for_url(live_server.url + "/")
    url = f"{live_server.url}/espace/{space.public_id}/agenda/historique/"

    for width, name in ((1280, "desktop"), (375, "phone")):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        assert page.get_by_role("heading", name="Historique des soins", level=1).is_visible()
        assert page.get_by_text("Amoxicilline 1 g").is_visible()
        assert page.get_by_text("CHU de Nantes").is_visible()
        assert _fits(page), name
        _shot(page, f"history-{name}")
    assert_accessible(page)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Type").select_option(label="Séjour hospitalier")
    page.get_by_role("button", name="Filtrer").click()
    assert page.get_by_text("Séjour en cardiologie").is_visible()
    assert page.get_by_text("Amoxicilline 1 g").count() == 0
    _shot(page, "history-filtered")

    page.get_by_role("link", name="Effacer les filtres").click()
    page.get_by_role("link", name=re.compile("Bilan sanguin annuel")).click()
    page.wait_for_url(re.compile(str(document.public_id)))
    assert page.get_by_role("heading", name="Bilan sanguin annuel").is_visible()
