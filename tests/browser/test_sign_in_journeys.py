"""Each kind of user signs in through the one door, in Chromium, and the pages are accessible."""

import re

import pytest
from django.core import mail
from django_otp.oath import TOTP

from acces.models import CareRelation
from tests import factories
from tests.browser.conftest import assert_accessible
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _totp(user):
    device = user.totpdevice_set.get(confirmed=True)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def _password_step(page, live_server, email):
    page.goto(live_server.url + "/")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("Se connecter")).first.click()
    page.get_by_label(re.compile("e-mail", re.I)).fill(email)
    page.get_by_label(re.compile("Mot de passe", re.I)).first.fill(PASSWORD)
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("Se connecter")).click()
    page.wait_for_url(re.compile("/connexion/"))


def _second_factor(page, code):
    assert_accessible(page)
    page.get_by_label(re.compile("Code", re.I)).fill(code)
    page.get_by_role("button", name=re.compile("Valider|Continuer|Vérifier")).click()


def test_patient_signs_in_with_the_emailed_code_and_opens_their_space(page, live_server):
    space = factories.SpaceFactory(holder__last_name="Fontaine", holder__first_names="Inès")
    _password_step(page, live_server, space.holder.user.email)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    _second_factor(page, code)
    page.wait_for_url(live_server.url + "/")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"^\s*Mon espace\s*$")).click()
    page.wait_for_url(re.compile("/espace/"))
    assert "Fontaine" in page.content()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("Historique")).first.click()
    page.wait_for_url(re.compile("/historique/"))
    # The trail opens on what others did; the holder's own views are under the "Qui" filter.
    assert "Vos propres consultations et actions sont enregistrées aussi" in page.content()
    page.select_option("#id_qui", "moi")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile("qui=moi"))
    assert "Consultation de l'espace" in page.content()
    assert_accessible(page)


def test_professional_signs_in_with_totp_and_sees_their_patient(page, live_server):
    relation = factories.CareRelationFactory(
        basis=CareRelation.Basis.ATTENDING, space__holder__last_name="Garnier"
    )
    user = relation.professional.user
    factories.TOTPDeviceFactory(user=user)
    _password_step(page, live_server, user.email)
    _second_factor(page, _totp(user))
    page.wait_for_url(live_server.url + "/pro/")
    assert "Garnier" in page.content()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("Garnier")).first.click()
    page.wait_for_url(re.compile("/pro/patients/"))
    assert "Médecin traitant" in page.content()
    assert_accessible(page)


def test_cpam_agent_signs_in_with_totp_and_reaches_the_admin(page, live_server, agent):
    _password_step(page, live_server, agent.email)
    _second_factor(page, _totp(agent))
    page.wait_for_url(live_server.url + "/admin/")
    assert "administration" in page.content().lower()
