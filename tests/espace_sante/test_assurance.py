"""The sign-in's assurance level, kept in the session: what pages and the policy ask."""

import re

import pytest
from django.core import mail
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP

from espace_sante import assurance
from espace_sante.assurance import AssuranceLevel
from tests.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

VERIFY = "/connexion/verification/"


def _signed_in_at(user, level, acr=None):
    """A session at `level`, without any second-factor device in it."""
    client = Client()
    client.force_login(user, backend="allauth.account.auth_backends.AuthenticationBackend")
    session = client.session
    session[assurance.LEVEL_SESSION_KEY] = int(level)
    if acr:
        session[assurance.ACR_SESSION_KEY] = acr
    session.save()
    return client


def _level(client):
    return client.session.get(assurance.LEVEL_SESSION_KEY)


def test_an_identity_provider_sign_in_passes_without_an_otp_device(professional, patient_space):
    client = _signed_in_at(professional.user, AssuranceLevel.IDENTITY_PROVIDER, acr="eidas3")
    assert DEVICE_ID_SESSION_KEY not in client.session
    response = client.get("/pro/")
    assert response.status_code == 200
    assert "acces/pro/dashboard.html" in [t.name for t in response.templates]
    patient = _signed_in_at(patient_space.holder.user, AssuranceLevel.IDENTITY_PROVIDER)
    assert patient.get(f"/espace/{patient_space.public_id}/").status_code == 200


@pytest.mark.parametrize("who", ["professional", "patient", "agent"])
def test_a_password_only_sign_in_is_sent_to_the_second_factor(
    who, professional, patient_space, agent
):
    user = {"professional": professional.user, "patient": patient_space.holder.user}.get(who, agent)
    client = _signed_in_at(user, AssuranceLevel.PASSWORD)
    url = {"professional": "/pro/", "agent": "/admin/"}.get(
        who, f"/espace/{patient_space.public_id}/"
    )
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(VERIFY)


def test_a_professional_with_an_email_code_level_is_sent_to_the_second_factor(professional):
    client = _signed_in_at(professional.user, AssuranceLevel.EMAIL_CODE)
    response = client.get("/pro/")
    assert response.status_code == 302 and response.url.startswith(VERIFY)


def test_a_level_reached_with_a_device_ends_with_that_device(professional):
    client = sign_in(Client(), professional.user)
    assert client.get("/pro/").status_code == 200
    professional.user.totpdevice_set.all().delete()  # an administrator's reset
    response = client.get("/pro/")
    assert response.status_code == 302 and response.url.startswith(VERIFY)


def test_the_sign_in_records_the_level_it_reaches(client, patient_space, professional):
    user = patient_space.holder.user
    client.post("/comptes/login/", {"login": user.email, "password": PASSWORD})
    assert _level(client) == AssuranceLevel.PASSWORD
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    client.post(VERIFY, {"token": code})
    assert _level(client) == AssuranceLevel.EMAIL_CODE

    pro = Client()
    pro.post("/comptes/login/", {"login": professional.user.email, "password": PASSWORD})
    assert _level(pro) == AssuranceLevel.PASSWORD
    device = professional.user.totpdevice_set.get()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    pro.post(VERIFY, {"token": f"{totp.token():06d}"})
    assert _level(pro) == AssuranceLevel.TOTP
    assert pro.get("/pro/").status_code == 200


def test_the_level_says_nothing_when_nobody_is_signed_in(rf):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.user = AnonymousUser()
    request.session = {}
    assert assurance.level_of(request) is None
