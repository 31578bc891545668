"""Sign-in: password, then the second factor each kind of account needs."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP

from acces.models import AuditEvent
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/comptes/login/"
VERIFY = "/connexion/verification/"


def _password_step(client, user, password=PASSWORD):
    return client.post(LOGIN, {"login": user.email, "password": password})


def _totp(device, offset=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():06d}"


def _emailed_code():
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_patient_gets_an_email_code_and_sees_nothing_before_typing_it(patient_space):
    user = patient_space.holder.user
    client = Client()
    response = _password_step(client, user)
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    blocked = client.get(reverse("espace_sante:space", args=[patient_space.public_id]))
    assert blocked.status_code == 302 and blocked.url.startswith(VERIFY)

    wrong = client.post(VERIFY, {"token": "000000" if _emailed_code() != "000000" else "111111"})
    assert "Code incorrect" in wrong.content.decode()
    assert AuditEvent.objects.filter(
        actor=user, action="sign_in_second_factor", outcome="denied"
    ).exists()

    # After a wrong code django-otp makes the next try wait (1 s, then 2 s, 4 s...).
    with time_machine.travel(timezone.now() + timedelta(seconds=3)):
        client.post(VERIFY, {"token": _emailed_code()})
    page = client.get(reverse("espace_sante:space", args=[patient_space.public_id]))
    assert page.status_code == 200
    assert patient_space.holder.last_name in page.content.decode()
    assert AuditEvent.objects.filter(
        actor=user, action="sign_in_second_factor", outcome="allowed"
    ).exists()


def test_wrong_password_is_refused_and_traced(client, patient_space):
    response = _password_step(client, patient_space.holder.user, password="mauvais")
    assert response.status_code == 200
    assert "incorrect" in response.content.decode()
    assert AuditEvent.objects.filter(action="sign_in_password", outcome="denied").exists()


def test_professional_must_use_totp_not_an_email_code(client, professional):
    device = professional.user.totpdevice_set.get()
    _password_step(client, professional.user)
    assert mail.outbox == []  # no email code for professionals
    assert client.get("/pro/").url.startswith(VERIFY)
    client.post(VERIFY, {"token": _totp(device)})
    response = client.get("/pro/")
    assert response.status_code == 200
    assert professional.user.last_name in response.content.decode()


def test_professional_without_authenticator_enrols_before_any_pro_page(client):
    pro = factories.ProfessionalFactory()
    _password_step(client, pro.user)
    response = client.get(VERIFY)
    assert response.url == reverse("espace_sante:totp_setup")
    page = client.get(response.url)
    assert "<svg" in page.content.decode()
    device = pro.user.totpdevice_set.get(confirmed=False)
    client.post(reverse("espace_sante:totp_setup"), {"token": _totp(device)})
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/pro/").status_code == 200


def test_agent_reaches_the_admin_only_after_totp(client, agent):
    _password_step(client, agent)
    assert client.get("/admin/").url.startswith(VERIFY)
    client.post(VERIFY, {"token": _totp(agent.totpdevice_set.get())})
    response = client.get("/admin/")
    assert response.status_code == 200
    assert (
        "Administration" in response.content.decode()
        or "administration" in response.content.decode()
    )


def test_patient_cannot_enter_the_admin_or_the_pro_portal(client, patient_space):
    from tests.conftest import sign_in

    sign_in(client, patient_space.holder.user)
    assert client.get("/admin/").status_code == 302  # admin login, which refuses non-staff
    assert client.get("/pro/").status_code == 403


def test_brute_force_locks_the_account_from_that_address(client, patient_space):
    user = patient_space.holder.user
    for _ in range(5):
        _password_step(client, user, password="mauvais")
    locked = _password_step(client, user)  # even the right password, now
    assert locked.status_code == 429
    assert "Trop de tentatives" in locked.content.decode()
    assert mail.outbox == []


def test_sign_up_is_closed(client):
    response = client.post(
        "/comptes/signup/", {"email": "x@exemple.fr", "password1": "a" * 14, "password2": "a" * 14}
    )
    from espace_sante.models import User

    assert not User.objects.filter(email="x@exemple.fr").exists()
    assert response.status_code == 200


def test_idle_session_expires(client, patient_space):
    from tests.conftest import sign_in

    sign_in(client, patient_space.holder.user)
    url = reverse("espace_sante:space", args=[patient_space.public_id])
    assert client.get(url).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_activity_keeps_the_session_alive(client, patient_space):
    from tests.conftest import sign_in

    sign_in(client, patient_space.holder.user)
    url = reverse("espace_sante:space", args=[patient_space.public_id])
    start = timezone.now()
    for minutes in (0, 20, 40, 60):
        with time_machine.travel(start + timedelta(minutes=minutes)):
            assert client.get(url).status_code == 200
    with time_machine.travel(start + timedelta(minutes=60 + 31)):
        assert client.get(url).status_code == 302


def test_session_written_at_most_once_a_minute(client, patient_space):
    from django.contrib.sessions.models import Session

    from tests.conftest import sign_in

    sign_in(client, patient_space.holder.user)
    url = reverse("espace_sante:space", args=[patient_space.public_id])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get(url)
    expiry = Session.objects.get().expire_date
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        client.get(url)
    assert Session.objects.get().expire_date == expiry  # not written again
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.get(url)
    assert Session.objects.get().expire_date == start + timedelta(seconds=61 + 30 * 60)


def test_idle_session_expires_even_just_after_a_write_was_skipped(client, patient_space):
    from tests.conftest import sign_in

    sign_in(client, patient_space.holder.user)
    url = reverse("espace_sante:space", args=[patient_space.public_id])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get(url)
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        client.get(url)  # within the minute: the expiry is not moved
    with time_machine.travel(start + timedelta(minutes=30, seconds=1), tick=False):
        assert client.get(url).status_code == 302  # 30 min after the last write


def test_session_cookie_is_http_only_and_expires_with_the_browser(settings):
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_AGE == 30 * 60


def test_patient_may_add_an_authenticator_and_then_sign_in_with_it(client, patient_space):
    from tests.conftest import sign_in

    user = patient_space.holder.user
    sign_in(client, user)
    assert "Utiliser une application d'authentification" in client.get("/").content.decode()
    client.get(reverse("espace_sante:totp_setup"))
    device = user.totpdevice_set.get(confirmed=False)
    client.post(reverse("espace_sante:totp_setup"), {"token": _totp(device)})
    device.refresh_from_db()
    assert device.confirmed

    client.post("/comptes/logout/")
    _password_step(client, user)
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        client.post(VERIFY, {"token": _totp(device)})
        assert (
            client.get(reverse("espace_sante:space", args=[patient_space.public_id])).status_code
            == 200
        )


def test_asking_again_within_a_minute_sends_no_second_code(client, patient_space):
    user = patient_space.holder.user
    _password_step(client, user)
    response = client.post(reverse("espace_sante:resend_code"), follow=True)
    assert len(mail.outbox) == 1
    assert "reste valable" in response.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        client.post(reverse("espace_sante:resend_code"))
    assert len(mail.outbox) == 2


def test_a_quick_retry_after_a_wrong_code_is_told_to_wait(client, patient_space):
    _password_step(client, patient_space.holder.user)
    code = _emailed_code()
    client.post(VERIFY, {"token": "000000" if code != "000000" else "111111"})
    response = client.post(VERIFY, {"token": code})
    assert "patientez quelques secondes" in response.content.decode()
    assert not response.wsgi_request.user.is_verified()


def test_the_second_factor_leads_back_to_the_whole_address_asked(client, professional):
    """The page asked before the second factor keeps its whole query (an OAuth2 request's
    client_id, redirect_uri, scope...), not what came before its first "&"."""
    device = professional.user.totpdevice_set.get()
    _password_step(client, professional.user)
    asked = "/pro/?page=2&tri=nom&filtre=a%26b"
    held = client.get(asked)
    assert held.status_code == 302 and held.url.startswith(VERIFY)
    response = client.post(held.url, {"token": _totp(device)})
    assert response.status_code == 302
    assert response.url == asked
