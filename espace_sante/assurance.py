"""How strongly the sign-in proved who is there: its assurance level, kept in the session.

The level is recorded when the sign-in reaches it: the password (allauth's sign-in),
the email code or the TOTP (`second_factor_passed`), an external identity provider
(Pro Santé Connect, FranceConnect) with the `acr` it vouched for
(`espace_sante.identity_providers`: FranceConnect at eIDAS low stands for the email code,
Pro Santé Connect and FranceConnect+ for the TOTP). Pages and the policy
ask the level, never the name of the device that verified it.
"""

from __future__ import annotations

from enum import IntEnum

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login

LEVEL_SESSION_KEY = "assurance_level"
ACR_SESSION_KEY = "assurance_acr"


class AssuranceLevel(IntEnum):
    """Ordered: a higher level satisfies whatever asks for a lower one."""

    PASSWORD = 10
    EMAIL_CODE = 20
    # An identity provider at eIDAS low (FranceConnect): stands for the email code.
    IDENTITY_PROVIDER_BASIC = 25
    TOTP = 30
    IDENTITY_PROVIDER = 40  # its `acr` says which level the provider vouched for

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])


LEVEL_LABELS = {
    AssuranceLevel.PASSWORD: _("mot de passe"),
    AssuranceLevel.EMAIL_CODE: _("mot de passe et code reçu par e-mail"),
    AssuranceLevel.IDENTITY_PROVIDER_BASIC: _("fournisseur d'identité (niveau de garantie faible)"),
    AssuranceLevel.TOTP: _("mot de passe et application d'authentification"),
    AssuranceLevel.IDENTITY_PROVIDER: _("fournisseur d'identité"),
}
# Levels reached with a django-otp device: they hold while that device does (an
# administrator's reset deletes it, and the session loses its second factor at once).
_DEVICE_LEVELS = (AssuranceLevel.EMAIL_CODE, AssuranceLevel.TOTP)


def required_level(user) -> AssuranceLevel:
    """The level a user's sign-in must reach before any page: professionals and staff
    the strong factor (TOTP or an identity provider), patients the email code."""
    return AssuranceLevel.TOTP if user.needs_totp else AssuranceLevel.EMAIL_CODE


def set_level(request, level: AssuranceLevel, acr: str | None = None) -> None:
    request.session[LEVEL_SESSION_KEY] = int(level)
    if acr:
        request.session[ACR_SESSION_KEY] = acr
    else:
        request.session.pop(ACR_SESSION_KEY, None)


def level_of(request) -> AssuranceLevel | None:
    """The level this session's sign-in reached; None when nobody is signed in."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    try:
        return AssuranceLevel(request.session.get(LEVEL_SESSION_KEY))
    except ValueError:
        return AssuranceLevel.PASSWORD  # signed in, nothing more proved


def acr_of(request) -> str:
    return request.session.get(ACR_SESSION_KEY, "")


def has_required_level(request) -> bool:
    """Whether the signed-in user's session reached the level their kind needs."""
    user = request.user
    level = level_of(request)
    if level is None or level < required_level(user):
        return False
    return level not in _DEVICE_LEVELS or user.is_verified()


def second_factor_passed(request, device) -> None:
    """Persist the device that verified the second factor (django-otp) and its level."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    otp_login(request, device)
    level = AssuranceLevel.TOTP if isinstance(device, TOTPDevice) else AssuranceLevel.EMAIL_CODE
    set_level(request, level)


@receiver(user_logged_in)
def _password_reached(sender, request, user, **kwargs):
    # A fresh session (Django flushes it when another user signs in) starts at the password;
    # the same user signing in again keeps what their session already proved, as
    # django-otp keeps its verified device.
    if request is not None and hasattr(request, "session"):
        request.session.setdefault(LEVEL_SESSION_KEY, int(AssuranceLevel.PASSWORD))
