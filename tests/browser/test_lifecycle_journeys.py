"""The lifecycle journeys in Chromium: activation, opposition, closure with download."""

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from espace_sante import lifecycle
from espace_sante.models import Space
from espace_sante.tracing import Actor
from tests import factories
from tests.browser.conftest import assert_accessible
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "Une-phrase-de-passe-neuve-2026"


def _fill_claim(page, space, code):
    page.get_by_label(re.compile("Numéro de sécurité sociale")).fill(space.holder.nir)
    page.get_by_label(re.compile("Numéro de série de la carte Vitale")).fill(
        space.holder.carte_vitale_serial
    )
    page.get_by_label(re.compile("Code provisoire")).fill(code)


def _sign_in(page, live_server, email, password):
    page.goto(live_server.url + "/comptes/login/")
    page.get_by_label(re.compile("e-mail", re.I)).fill(email)
    page.get_by_label(re.compile("Mot de passe", re.I)).first.fill(password)
    page.get_by_role("button", name=re.compile("Se connecter")).click()
    page.wait_for_url(re.compile("/connexion/"))
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert_accessible(page)
    page.get_by_label(re.compile("Code", re.I)).fill(code)
    page.get_by_role("button", name=re.compile("Valider")).click()
    page.wait_for_url(live_server.url + "/")


def test_holder_activates_their_space_then_signs_in(page, live_server):
    space = factories.SpaceFactory(
        state=Space.State.CREATED, holder__user=None, holder__last_name="Moreau"
    )
    code = lifecycle.issue_code(space=space, channel="email", by=Actor.system())

    page.goto(live_server.url + "/")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("Activer mon espace")).first.click()
    page.wait_for_url(re.compile("/activer/"))
    assert_accessible(page)
    _fill_claim(page, space, code)
    page.get_by_label(re.compile("Adresse e-mail")).fill("camille.moreau@exemple.fr")
    page.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label(re.compile("Confirmation du mot de passe")).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Activer mon espace").click()
    page.wait_for_url(re.compile("/comptes/login/"))
    assert "Votre espace est activé" in page.content()
    assert_accessible(page)

    _sign_in(page, live_server, "camille.moreau@exemple.fr", NEW_PASSWORD)
    assert_accessible(page)
    assert "Mon espace" in page.content()
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE


def test_person_opposes_the_creation_after_confirming(page, live_server):
    space = factories.SpaceFactory(
        state=Space.State.ANNOUNCED,
        holder__user=None,
        opposition_deadline=timezone.now() + Space.OPPOSITION_WINDOW,
    )
    code = lifecycle.issue_code(space=space, channel="letter", by=Actor.system())

    page.goto(live_server.url + "/")
    page.get_by_role("link", name=re.compile("M'opposer à la création")).click()
    page.wait_for_url(re.compile("/opposition/"))
    assert_accessible(page)
    _fill_claim(page, space, code)
    page.get_by_role("button", name=re.compile("Confirmer mon opposition")).click()
    page.get_by_text("Cochez cette case pour confirmer votre opposition").first.wait_for()
    assert_accessible(page)
    space.refresh_from_db()
    assert space.state == Space.State.ANNOUNCED

    page.get_by_label(re.compile("Je confirme m'opposer")).check(force=True)
    page.get_by_role("button", name=re.compile("Confirmer mon opposition")).click()
    page.wait_for_url(re.compile("/opposition/enregistree/"))
    assert "Votre opposition est prise en compte" in page.content()
    assert_accessible(page)
    space.refresh_from_db()
    assert space.state == Space.State.OPPOSED


def test_holder_downloads_their_data_then_closes_their_space(page, live_server):
    space = factories.SpaceFactory(holder__last_name="Lemaire")
    _sign_in(page, live_server, space.holder.user.email, PASSWORD)
    page.get_by_role("link", name=re.compile(r"^\s*Mon espace\s*$")).click()
    page.wait_for_url(re.compile("/espace/"))
    assert "Gérer mon espace" in page.content()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("Clôturer l'espace")).click()
    page.wait_for_url(re.compile("/cloture/"))
    assert_accessible(page)

    # The archive is prepared by a task (eager here), then the page offers it and leads back.
    page.get_by_role("button", name=re.compile("Préparer le téléchargement")).click()
    page.wait_for_url(re.compile("/telecharger/"))
    assert "Votre archive est prête" in page.content()
    assert_accessible(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Télécharger l'archive")).click()
    download = download_info.value
    assert re.fullmatch(r"mon-espace-sante-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    with open(download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    identity = json.loads(archive.read("identite.json"))
    assert identity["titulaire"]["nom_de_naissance"] == "Lemaire"

    page.get_by_role("link", name=re.compile("Revenir à la clôture")).click()
    page.wait_for_url(re.compile("/cloture/"))
    page.get_by_label(re.compile("Votre mot de passe actuel")).fill(PASSWORD)
    page.get_by_label(re.compile("Je confirme vouloir clôturer")).check(force=True)
    page.get_by_role("button", name="Clôturer l'espace").click()
    page.wait_for_url(re.compile(rf"/espace/{space.public_id}/$"))
    assert "Cet espace est clôturé" in page.content()
    assert_accessible(page)
    space.refresh_from_db()
    assert space.state == Space.State.CLOSED


def test_lost_code_then_reactivation_of_a_closed_space(page, live_server):
    """The holder of a closed space asks for a new code, then reopens the space with it."""
    space = factories.SpaceFactory(holder__email="paul.renaud@exemple.fr")
    space = lifecycle.close(space=space, by=Actor.system())
    page.goto(live_server.url + "/")
    page.get_by_role("link", name=re.compile("perdu mon code")).first.click()
    page.wait_for_url(re.compile("/code-perdu/"))
    assert_accessible(page)
    page.get_by_label(re.compile("Numéro de sécurité sociale")).fill(space.holder.nir)
    page.get_by_label(re.compile("Numéro de série de la carte Vitale")).fill(
        space.holder.carte_vitale_serial
    )
    page.get_by_role("button", name="Recevoir un nouveau code").click()
    page.wait_for_load_state()
    assert "nouveau code" in page.content()
    assert_accessible(page)
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", mail.outbox[-1].body).group(0)

    page.goto(live_server.url + "/reactiver/")
    assert_accessible(page)
    _fill_claim(page, space, code)
    page.get_by_role("button", name="Réactiver mon espace").click()
    page.wait_for_load_state()
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE
    assert_accessible(page)


def test_holder_asks_for_definitive_deletion(page, live_server):
    space = factories.SpaceFactory(holder__last_name="Lenoir")
    _sign_in(page, live_server, space.holder.user.email, PASSWORD)
    page.goto(f"{live_server.url}/espace/{space.public_id}/suppression/")
    assert_accessible(page)
    page.get_by_label(re.compile("mot de passe actuel")).fill("pas le bon")
    page.check("#id_confirm", force=True)
    page.get_by_role("button", name="Demander la suppression définitive").click()
    page.wait_for_load_state()
    assert "Mot de passe incorrect" in page.content()
    space.refresh_from_db()
    assert space.deletion_due_at is None

    page.get_by_label(re.compile("mot de passe actuel")).fill(PASSWORD)
    page.check("#id_confirm", force=True)
    page.get_by_role("button", name="Demander la suppression définitive").click()
    page.wait_for_load_state()
    assert_accessible(page)
    space.refresh_from_db()
    assert space.state == Space.State.CLOSED and space.deletion_due_at is not None
    assert space.deletion_due_at - timezone.now() < timedelta(days=92)
