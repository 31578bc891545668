"""Pro Santé Connect on the pro portal's sign-in, against a local OpenID Connect provider."""

from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core import mail
from django.test import Client

from acces.models import AuditEvent
from espace_sante.assurance import ACR_SESSION_KEY, LEVEL_SESSION_KEY, AssuranceLevel
from espace_sante.models import User
from tests import factories
from tests.oidc import (
    LOGIN,
    authorize,
    configure,
    provider_conf,
    set_person,
    sign_in_through,
    start,
)

pytestmark = pytest.mark.django_db

PSC = "pro-sante-connect"


@pytest.fixture
def psc(settings, oidc_server):
    configure(settings, psc=provider_conf(oidc_server))
    return oidc_server


def _card(server_url, sub, *, rpps_claim="SubjectNameID", rpps="", acr="eidas1"):
    claims = {rpps_claim: rpps, "acr": acr, "SubjectRefPro": {"exercices": []}}
    set_person(server_url, sub, claims)


def _messages(response) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages)


@pytest.mark.parametrize(
    ("claim", "prefix"),
    [("SubjectNameID", "8"), ("SubjectNameID", ""), ("preferred_username", "8")],
)
def test_professional_signs_in_with_psc_without_totp(psc, professional, claim, prefix):
    _card(psc, f"psc-ok-{claim}-{prefix}", rpps_claim=claim, rpps=prefix + professional.rpps)
    client = Client()

    response = sign_in_through(client, PSC, f"psc-ok-{claim}-{prefix}")

    assert response.status_code == 302
    dashboard = client.get(response.url, follow=True)
    assert dashboard.redirect_chain[-1][0] == "/pro/"  # no /connexion/verification/ on the way
    assert professional.user.last_name in dashboard.content.decode()
    assert mail.outbox == []
    session = client.session
    assert session[LEVEL_SESSION_KEY] == AssuranceLevel.IDENTITY_PROVIDER
    assert session[ACR_SESSION_KEY] == "eidas1"
    event = AuditEvent.objects.get(actor=professional.user, action="sign_in_identity_provider")
    assert event.outcome == "allowed"
    assert event.detail["provider"] == PSC and event.detail["acr"] == "eidas1"
    # Traced as what it was, not as a password sign-in.
    assert not AuditEvent.objects.filter(actor=professional.user, action="sign_in_password")
    assert SocialAccount.objects.get(provider=PSC).user == professional.user


def test_unknown_rpps_is_refused_and_no_account_is_created(psc, professional):
    _card(psc, "psc-unknown", rpps="8" + "10000000009")
    accounts = User.objects.count()
    client = Client()

    response = sign_in_through(client, PSC, "psc-unknown")

    assert response.status_code == 302 and response.url == LOGIN
    assert "ne correspond à aucun compte professionnel" in _messages(response)
    assert "_auth_user_id" not in client.session
    assert client.get("/pro/").url.startswith(LOGIN)
    assert User.objects.count() == accounts
    assert not SocialAccount.objects.exists()
    refused = AuditEvent.objects.get(action="sign_in_identity_provider")
    assert refused.outcome == "denied" and refused.detail["reason"] == "unknown_rpps"


def test_an_acr_below_the_one_asked_is_refused(psc, professional):
    _card(psc, "psc-weak", rpps="8" + professional.rpps, acr="eidas0")
    client = Client()

    response = sign_in_through(client, PSC, "psc-weak")

    assert response.url == LOGIN
    assert "niveau de garantie" in _messages(response)
    assert "_auth_user_id" not in client.session


def test_wrong_state_is_refused(psc, professional):
    _card(psc, "psc-state", rpps="8" + professional.rpps)
    client = Client()
    path, params = authorize(start(client, PSC), "psc-state")

    response = client.get(path, {**params, "state": "pas-le-bon-etat"})

    assert response.status_code == 302 and response.url == LOGIN
    assert "n'a pas abouti" in _messages(response)
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="sign_in_identity_provider", outcome="denied")
    assert not AuditEvent.objects.filter(action="sign_in_identity_provider", outcome="allowed")


def test_replayed_authorization_code_is_refused(psc, professional):
    _card(psc, "psc-replay", rpps="8" + professional.rpps)
    first = Client()
    path, params = authorize(start(first, PSC), "psc-replay")
    assert first.get(path, params).status_code == 302
    assert first.session["_auth_user_id"] == str(professional.user.pk)

    # The same callback again (its state is spent), then the code under a fresh state.
    again = first.get(path, params)
    assert again.url == LOGIN
    other = Client()
    _path, fresh = authorize(start(other, PSC), "psc-replay")
    response = other.get(path, {"code": params["code"], "state": fresh["state"]})

    assert response.status_code == 302 and response.url == LOGIN
    assert "n'a pas abouti" in _messages(response)
    assert "_auth_user_id" not in other.session
    assert (
        AuditEvent.objects.filter(action="sign_in_identity_provider", outcome="allowed").count()
        == 1
    )


def test_inactive_professional_is_refused(psc):
    pro = factories.ProfessionalFactory(user__is_active=False)
    _card(psc, "psc-inactive", rpps="8" + pro.rpps)
    client = Client()

    response = sign_in_through(client, PSC, "psc-inactive")

    assert response.url == LOGIN
    assert "_auth_user_id" not in client.session


def test_authorization_asks_eidas1_with_a_fresh_nonce_whatever_the_query_says(psc):
    client = Client()
    response = client.post(
        "/comptes/oidc/pro-sante-connect/login/?auth_params=acr_values%3Deidas0&scope=email"
    )
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["acr_values"] == ["eidas1"]
    assert set(query["scope"][0].split()) == {"openid", "profile"}  # allauth: any order
    nonce = query["nonce"][0]
    assert len(nonce) >= 32
    assert client.session["identity_provider_nonce:pro-sante-connect"] == nonce


def test_id_token_for_another_nonce_is_refused(psc, professional):
    _card(psc, "psc-nonce", rpps="8" + professional.rpps)
    client = Client()
    path, params = authorize(start(client, PSC), "psc-nonce")
    session = client.session
    session["identity_provider_nonce:pro-sante-connect"] = "un-autre-nonce"
    session.save()

    response = client.get(path, params)

    assert response.url == LOGIN
    assert "_auth_user_id" not in client.session
    refused = AuditEvent.objects.get(action="sign_in_identity_provider")
    assert refused.outcome == "denied" and refused.detail["reason"] == "nonce"
