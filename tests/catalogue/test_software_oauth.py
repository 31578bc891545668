"""A professional authorises their software: the authorization code + PKCE flow of
django-oauth-toolkit, with the professional present and strongly signed in; the tokens act
for that professional only."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from oauth2_provider.models import Application

from acces.models import AuditEvent, CareRelation
from catalogue.models import Software, SoftwareToken
from catalogue.tokens import SoftwareAccess, access_for
from espace_sante import assurance
from tests import factories
from tests.catalogue.oauth_helpers import pkce_pair
from tests.catalogue.software_helpers import INS, REDIRECT_URI
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

SCOPES = "user/DocumentReference.read user/DocumentReference.write offline_access"
SECRET = "secret-du-logiciel-de-cabinet"


@pytest.fixture
def software():
    application = Application.objects.create(
        name="Cabinet Plus",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        client_secret=SECRET,
        algorithm="",
    )
    return Software.objects.create(
        name="Cabinet Plus",
        slug="cabinet-plus",
        editor="Éditions Médicales",
        homologation_ref="SEGUR-DMP-2026-001",
        application=application,
    )


@pytest.fixture
def gp():
    gp = factories.ProfessionalFactory()
    factories.TOTPDeviceFactory(user=gp.user)
    return gp


def _url(software, challenge, state="etat-7", scope=SCOPES):
    return "/oauth/authorize/?" + urlencode(
        {
            "response_type": "code",
            "client_id": software.application.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )


def _answer(client, software, challenge, allow=True):
    page = client.get(_url(software, challenge))
    assert page.status_code == 200, page.content.decode()[:1500]
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if form[name].is_hidden}
    if allow:
        data["allow"] = "on"
    return client.post("/oauth/authorize/", data)


def _exchange(client, software, code, verifier, secret=SECRET):
    return client.post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": software.application.client_id,
            "client_secret": secret,
            "code_verifier": verifier,
        },
    )


def _code(response) -> str:
    assert response.status_code == 302, response.content.decode()[:1500]
    assert response["Location"].startswith(REDIRECT_URI)
    return parse_qs(urlsplit(response["Location"]).query)["code"][0]


def test_the_professional_authorises_and_the_token_acts_for_them(software, gp):
    client = sign_in(Client(), gp.user)
    verifier, challenge = pkce_pair()
    page = client.get(_url(software, challenge)).content.decode()
    assert "Autoriser le logiciel Cabinet Plus" in page
    assert "Éditions Médicales" in page and "SEGUR-DMP-2026-001" in page
    assert "Ajouter des documents au DMP de vos patients" in page

    code = _code(_answer(client, software, challenge))
    token = _exchange(Client(), software, code, verifier)
    assert token.status_code == 200, token.content
    body = token.json()
    assert "patient" not in body and body["refresh_token"]
    assert set(body["scope"].split()) == set(SCOPES.split())

    access = access_for(body["access_token"])
    assert isinstance(access, SoftwareAccess)
    assert access.professional == gp and access.software == software
    assert access.principal.assurance == assurance.AssuranceLevel.TOTP
    assert AuditEvent.objects.filter(action="software_authorised", actor=gp.user).exists()

    space = factories.SpaceFactory()
    CareRelation.objects.create(space=space, professional=gp, basis=CareRelation.Basis.ATTENDING)
    found = Client().get(
        f"/fhir/DocumentReference?patient.identifier={INS}|{space.holder.nir}",
        HTTP_AUTHORIZATION=f"Bearer {body['access_token']}",
    )
    assert found.status_code == 200 and found.json()["total"] == 0

    # The refresh keeps the professional; the used code gives nothing again.
    refreshed = Client().post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": software.application.client_id,
            "client_secret": SECRET,
        },
    )
    assert refreshed.status_code == 200, refreshed.content
    assert access_for(refreshed.json()["access_token"]).professional == gp
    assert _exchange(Client(), software, code, verifier).status_code == 400


def test_a_wrong_secret_or_verifier_gets_no_token(software, gp):
    client = sign_in(Client(), gp.user)
    verifier, challenge = pkce_pair()
    code = _code(_answer(client, software, challenge))
    assert _exchange(Client(), software, code, verifier, secret="faux").status_code == 401
    assert _exchange(Client(), software, code, "x" * 50).status_code == 400
    assert not SoftwareToken.objects.filter(access_token__isnull=False).exists()


def test_refusing_redirects_with_access_denied(software, gp):
    client = sign_in(Client(), gp.user)
    _verifier, challenge = pkce_pair()
    response = _answer(client, software, challenge, allow=False)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["access_denied"]


def test_a_patient_or_an_agent_cannot_authorise_a_software(software):
    _verifier, challenge = pkce_pair()
    patient = sign_in(Client(), factories.SpaceFactory().holder.user)
    page = patient.get(_url(software, challenge))
    assert page.status_code == 403
    assert "compte professionnel" in page.content.decode()


def test_an_inactive_software_is_refused(software, gp):
    software.is_active = False
    software.save()
    client = sign_in(Client(), gp.user)
    _verifier, challenge = pkce_pair()
    page = client.get(_url(software, challenge))
    assert page.status_code == 404
    assert "plus, autorisé" in page.content.decode()


def test_a_sign_in_below_the_strong_one_is_refused(software, gp):
    client = sign_in(Client(), gp.user)
    session = client.session
    session[assurance.LEVEL_SESSION_KEY] = int(assurance.AssuranceLevel.EMAIL_CODE)
    session.save()
    _verifier, challenge = pkce_pair()
    page = client.get(_url(software, challenge))
    assert page.status_code in (302, 403)
    assert not SoftwareToken.objects.exists()


def test_signed_out_goes_to_sign_in(software):
    _verifier, challenge = pkce_pair()
    page = Client().get(_url(software, challenge))
    assert page.status_code == 302 and "/comptes/login/" in page["Location"]
