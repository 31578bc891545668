"""An administrator never gets the means to sign in as someone else.

Changing another account's password in the admin resets its sign-in instead:
the password becomes unusable, the second factors and sessions are revoked, the
way back in goes to the account's own email, the owner is told, and it is traced.
"""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from acces.models import AuditEvent, Professional
from espace_sante.auth import email_device
from espace_sante.models import Notification, User
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

OLD_PASSWORD = "Ancien-Mot-De-Passe-42"
CHOSEN_BY_ADMIN = "Choisi-Par-L-Admin-77"
NEW_PASSWORD = "Nouveau-Secret-Du-Medecin-31"


@pytest.fixture
def superuser():
    user = factories.UserFactory(
        kind=User.Kind.ADMIN, is_staff=True, is_superuser=True, email="technique@exemple.fr"
    )
    factories.TOTPDeviceFactory(user=user)
    return user


@pytest.fixture
def admin_client(superuser):
    return sign_in(Client(), superuser)


@pytest.fixture
def doctor():
    professional = factories.ProfessionalFactory(user__email="dr.lefort@exemple.fr")
    professional.user.set_password(OLD_PASSWORD)
    professional.user.save()
    factories.TOTPDeviceFactory(user=professional.user)
    email_device(professional.user)
    return professional.user


def _password_url(user):
    return reverse("admin:auth_user_password_change", args=[user.pk])


def test_password_page_of_another_account_asks_no_password_and_changes_nothing(
    admin_client, doctor
):
    page = admin_client.get(_password_url(doctor))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Réinitialiser les moyens de connexion" in text
    assert 'name="password1"' not in text
    doctor.refresh_from_db()
    assert doctor.check_password(OLD_PASSWORD)
    assert TOTPDevice.objects.filter(user=doctor).exists()
    assert not AuditEvent.objects.filter(action="sign_in_reset").exists()


def test_admin_reset_revokes_password_second_factors_and_sessions(admin_client, doctor, superuser):
    doctor_browser = sign_in(Client(), doctor)
    assert doctor_browser.get("/pro/").status_code == 200
    response = admin_client.post(
        _password_url(doctor),
        {"reason": "téléphone perdu", "password1": CHOSEN_BY_ADMIN, "password2": CHOSEN_BY_ADMIN},
    )
    assert response.status_code == 302
    doctor.refresh_from_db()
    assert not doctor.has_usable_password()
    assert not doctor.check_password(CHOSEN_BY_ADMIN)
    assert not TOTPDevice.objects.filter(user=doctor).exists()
    assert not EmailDevice.objects.filter(user=doctor).exists()
    # The doctor's open session is over.
    assert doctor_browser.get("/pro/")["Location"].startswith(reverse("account_login"))
    # One audit event, with the administrator as actor; the admin's own history too.
    event = AuditEvent.objects.get(action="sign_in_reset")
    assert event.actor_id == superuser.pk
    assert event.detail["account"] == doctor.pk and event.detail["devices"] == 2
    assert event.detail["sessions"] >= 1
    assert LogEntry.objects.filter(object_id=str(doctor.pk)).exists()


def _reset(admin_client, user, capture):
    with capture(execute=True):
        return admin_client.post(_password_url(user), {"reason": "téléphone perdu"})


def test_the_owner_is_told_and_alone_gets_the_link(
    admin_client, doctor, django_capture_on_commit_callbacks
):
    _reset(admin_client, doctor, django_capture_on_commit_callbacks)
    assert {tuple(message.to) for message in mail.outbox} == {(doctor.email,)}
    subjects = [message.subject for message in mail.outbox]
    assert any("moyens de connexion ont été réinitialisés" in s for s in subjects)
    assert any("Choisissez votre nouveau mot de passe" in s for s in subjects)
    notice = Notification.objects.get(recipient=doctor, kind="sign_in_reset")
    assert notice.email_state == Notification.EmailState.SENT
    # The link opens the account: it is in no stored row an administrator could read.
    link_mail = next(m for m in mail.outbox if "Choisissez" in m.subject)
    link = re.search(r"https?://\S+/comptes/password/reset/key/\S+", link_mail.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert not Notification.objects.filter(body__contains=path.rsplit("/", 2)[-2]).exists()
    assert not AuditEvent.objects.filter(detail__icontains="reset/key").exists()


def test_the_owner_chooses_a_password_then_enrols_a_new_authenticator(
    admin_client, doctor, django_capture_on_commit_callbacks
):
    _reset(admin_client, doctor, django_capture_on_commit_callbacks)
    link_mail = next(m for m in mail.outbox if "Choisissez" in m.subject)
    link = re.search(r"https?://\S+", link_mail.body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    browser = Client()
    form_page = browser.get(path, follow=True)
    assert form_page.status_code == 200
    browser.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    doctor.refresh_from_db()
    assert doctor.check_password(NEW_PASSWORD)
    signed_in = browser.post(
        reverse("account_login"), {"login": doctor.email, "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302
    # Without a device, the next page is the enrolment of a new authenticator app.
    assert "/connexion/totp/" in browser.get("/pro/", follow=True).redirect_chain[-1][0]


def test_a_superuser_changes_their_own_password_with_djangos_form(admin_client, superuser):
    page = admin_client.get(_password_url(superuser))
    assert 'name="password1"' in page.content.decode()


def test_agents_cannot_open_an_accounts_password_page(agent, doctor):
    client = sign_in(Client(), agent)
    response = client.post(_password_url(doctor), {"reason": "x"})
    assert response.status_code == 403
    doctor.refresh_from_db()
    assert doctor.check_password(OLD_PASSWORD)


def test_admin_cannot_change_the_email_the_link_goes_to(admin_client, doctor):
    url = reverse("admin:espace_sante_user_change", args=[doctor.pk])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    assert "email" not in form.fields
    joined = timezone.localtime(doctor.date_joined)
    data = {
        "email": "pirate@exemple.fr",
        "first_name": doctor.first_name,
        "last_name": "Lefort",
        "kind": doctor.kind,
        "is_active": "on",
        "date_joined_0": joined.strftime("%d/%m/%Y"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302  # the rest of the form was accepted
    doctor.refresh_from_db()
    assert doctor.last_name == "Lefort"
    assert doctor.email == "dr.lefort@exemple.fr"


def test_an_account_made_by_an_administrator_has_no_password_its_owner_gets_the_link(
    admin_client, superuser, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:espace_sante_user_add"),
            {"email": "nouvel.agent@cpam.exemple.fr", "kind": User.Kind.AGENT},
        )
    assert response.status_code == 302
    created = User.objects.get(email="nouvel.agent@cpam.exemple.fr")
    assert not created.has_usable_password()
    assert [m.to for m in mail.outbox] == [["nouvel.agent@cpam.exemple.fr"]]
    assert AuditEvent.objects.filter(action="account_created", actor=superuser).exists()


def test_admin_neither_adds_a_professional_nor_points_one_at_another_account(
    admin_client, doctor, superuser
):
    assert admin_client.get(reverse("admin:acces_professional_add")).status_code == 403
    professional = doctor.professional
    url = reverse("admin:acces_professional_change", args=[professional.pk])
    admin_client.post(
        url,
        {
            "user": superuser.pk,
            "rpps": professional.rpps,
            "profession": professional.profession,
            "specialty": professional.specialty,
        },
    )
    assert Professional.objects.get(pk=professional.pk).user_id == doctor.pk


def test_admin_cannot_add_a_sign_in_address_to_another_account(admin_client, doctor):
    """An allauth address signs in and receives the reset link: none is added by the admin."""
    from allauth.account.models import EmailAddress

    assert admin_client.get(reverse("admin:account_emailaddress_add")).status_code == 403
    admin_client.post(
        reverse("admin:account_emailaddress_add"),
        {"user": doctor.pk, "email": "pirate@exemple.fr", "verified": "on", "primary": "on"},
    )
    assert not EmailAddress.objects.filter(email="pirate@exemple.fr").exists()
    address = EmailAddress.objects.create(user=doctor, email=doctor.email, verified=True)
    url = reverse("admin:account_emailaddress_change", args=[address.pk])
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"user": doctor.pk, "email": "pirate@exemple.fr", "verified": "on"})
    address.refresh_from_db()
    assert address.email == doctor.email
