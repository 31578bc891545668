"""Sign-in: no self sign-up, and the second factor each kind of account needs."""

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from espace_sante import identity_providers
from espace_sante.models import User


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Spaces are opened by activation with the Carte Vitale, never by a sign-up form.
        return False

    def add_message(self, request, level, message_template=None, *args, **kwargs):
        # allauth says "signed in" after the password; the sign-in ends with the second
        # factor, and `verify` says it then.
        if message_template == "account/messages/logged_in.txt":
            return
        super().add_message(request, level, message_template, *args, **kwargs)

    def post_login(self, request, user, **kwargs):
        sociallogin = (kwargs.get("signal_kwargs") or {}).get("sociallogin")
        if sociallogin is not None and identity_providers.signing_in_with(request):
            # Pro Santé Connect or FranceConnect vouched for the person: no code to send.
            identity_providers.record_sign_in(
                request, user, identity_providers.identity_of(sociallogin)
            )
            return super().post_login(request, user, **kwargs)
        response = super().post_login(request, user, **kwargs)
        if not user.needs_totp and not has_totp(user):
            send_email_code(user)
        return response


def has_totp(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def email_device(user: User) -> EmailDevice:
    device, _ = EmailDevice.objects.get_or_create(
        user=user, name="e-mail", defaults={"confirmed": True}
    )
    return device


def send_email_code(user: User) -> bool:
    """Send a fresh one-time sign-in code to the account's email address.

    Sent at once, not on commit: the code protects the session, not a record.
    Returns False when the last code left less than a minute ago (django-otp's
    cool-down): that code is still valid and no new one is sent.
    """
    device = email_device(user)
    allowed, _info = device.generate_is_allowed()
    if not allowed:
        return False
    device.generate_challenge()
    return True


def axes_username(request, credentials=None) -> str:
    """The identifier django-axes counts failures against (allauth passes `email`)."""
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if not value and request is not None:
        value = request.POST.get("login", "")
    return (value or "").strip().lower()


def allowed_devices(user: User) -> list:
    """The devices that may complete this user's sign-in, TOTP first."""
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    if not user.needs_totp:
        devices.append(email_device(user))
    return devices


def home_url_for(user: User) -> str:
    if user.kind == User.Kind.PROFESSIONAL:
        return reverse("pro:dashboard")
    if user.is_staff:
        return reverse("admin:index")
    return reverse("espace_sante:home")
