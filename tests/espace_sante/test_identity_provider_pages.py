"""The national sign-in buttons: on the sign-in page when configured, and nowhere else."""

import pytest
from django.core.checks import run_checks
from django.test import Client

from tests.oidc import LOGIN, configure, provider_conf

pytestmark = pytest.mark.django_db

ROUTES = [
    "/comptes/oidc/pro-sante-connect/login/",
    "/comptes/oidc/pro-sante-connect/login/callback/",
    "/comptes/oidc/franceconnect/login/",
    "/comptes/oidc/franceconnect/login/callback/",
]


@pytest.mark.parametrize("route", ROUTES)
def test_off_when_not_configured_routes_refuse(settings, route):
    configure(settings)
    client = Client()
    assert client.post(route).status_code == 404
    assert client.get(route, {"code": "x", "state": "y"}).status_code == 404


def test_off_when_not_configured_no_buttons(settings):
    configure(settings)
    page = Client().get(LOGIN).content.decode()
    assert "Pro Santé Connect" not in page
    assert "FranceConnect" not in page
    assert "fr-connect" not in page


def test_buttons_follow_each_provider_branding(settings, oidc_server):
    configure(settings, psc=provider_conf(oidc_server), franceconnect=provider_conf(oidc_server))
    response = Client().get(LOGIN)
    page = response.content.decode()
    assert "Se connecter avec Pro Santé Connect" in page
    assert 'action="/comptes/oidc/pro-sante-connect/login/"' in page
    assert 'class="fr-connect"' in page
    assert "S&#x27;identifier avec" in page or "S'identifier avec" in page
    assert "Qu&#x27;est-ce que FranceConnect ?" in page or "Qu'est-ce que FranceConnect ?" in page
    assert 'action="/comptes/oidc/franceconnect/login/"' in page
    # The forms redirect to the provider: the page's form-action names it, and only it.
    csp = response["Content-Security-Policy"]
    form_action = next(d for d in csp.split(";") if d.strip().startswith("form-action"))
    assert oidc_server in form_action and "'self'" in form_action


def test_only_one_provider_shows_only_its_button(settings, oidc_server):
    configure(settings, psc=provider_conf(oidc_server))
    page = Client().get(LOGIN).content.decode()
    assert "Se connecter avec Pro Santé Connect" in page
    assert "fr-connect" not in page
    assert Client().post("/comptes/oidc/franceconnect/login/").status_code == 404


def test_other_pages_keep_their_form_action(settings, oidc_server):
    configure(settings, psc=provider_conf(oidc_server))
    response = Client().get("/activer/")
    assert oidc_server not in response["Content-Security-Policy"]


def test_half_a_configuration_stops_start_up(settings):
    configure(settings)
    settings.PRO_SANTE_CONNECT = {**settings.PRO_SANTE_CONNECT, "client_id": "seul"}
    errors = [e.id for e in run_checks() if e.id == "espace_sante.E003"]
    assert errors == ["espace_sante.E003"]
