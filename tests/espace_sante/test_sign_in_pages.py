"""What the sign-in pages show: nothing says "signed in" before the second factor, and the
authenticator page gives its secret in groups of four with a way out."""

import base64
import html
import re

import pytest
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories
from tests.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/comptes/login/"
VERIFY = "/connexion/verification/"
TOTP_SETUP = "/connexion/totp/"


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _header(response) -> str:
    return re.search(r"<header.*?</header>", _text(response), re.S).group(0)


def test_neither_success_banner_nor_name_shows_before_the_second_factor():
    user = factories.SpaceFactory().holder.user
    client = Client()

    page = client.post(LOGIN, {"login": user.email, "password": PASSWORD}, follow=True)

    assert page.request["PATH_INFO"] == VERIFY
    assert "réussie" not in _text(page)
    assert "fr-alert--success" not in _text(page)
    assert user.get_full_name() not in _header(page)
    assert "Notifications" not in _text(page)
    assert "Se déconnecter" in _header(page)  # the way out stays


def test_the_success_banner_and_the_name_show_once_the_code_is_typed():
    user = factories.SpaceFactory().holder.user
    client = Client()
    client.post(LOGIN, {"login": user.email, "password": PASSWORD})
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)

    page = client.post(VERIFY, {"token": code}, follow=True)

    assert _text(page).count("Connexion réussie.") == 1
    assert user.get_full_name() in _header(page)
    assert "Notifications" in _header(page)


def _secret_groups(response) -> list[str]:
    paragraph = re.search(r'<p class="portail-secret" id="cle-secrete">(.*?)</p>', _text(response))
    return re.findall(r'<span class="portail-secret__groupe">(\w+)</span>', paragraph.group(1))


def test_the_totp_secret_shows_in_groups_of_four_that_make_the_key():
    user = factories.SpaceFactory().holder.user
    client = sign_in(Client(), user)

    page = client.get(TOTP_SETUP)

    groups = _secret_groups(page)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert "".join(groups) == base64.b32encode(device.bin_key).decode()
    assert len(groups) == 8 and all(len(group) == 4 for group in groups)


def test_a_patient_may_cancel_the_totp_setup_back_home():
    user = factories.SpaceFactory().holder.user
    client = sign_in(Client(), user)

    page = _text(client.get(TOTP_SETUP))

    assert '<a class="fr-btn fr-btn--secondary" href="/">Annuler</a>' in page
    assert "Annuler et me déconnecter" not in page


def test_a_professional_enrolling_at_first_sign_in_may_cancel_by_signing_out():
    professional = factories.ProfessionalFactory()  # no authenticator yet
    client = Client()
    client.post(LOGIN, {"login": professional.user.email, "password": PASSWORD})

    page = client.get(TOTP_SETUP)

    text = _text(page)
    assert page.status_code == 200
    assert 'form="annuler-deconnexion"' in text and "Annuler et me déconnecter" in text
    assert re.search(r'action="/comptes/logout/" id="annuler-deconnexion"', text)
    assert ">Annuler</a>" not in text
    # The button signs out.
    client.post("/comptes/logout/")
    assert "_auth_user_id" not in client.session
