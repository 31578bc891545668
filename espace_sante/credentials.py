"""An administrator's reset of someone else's sign-in: the administrator never holds the keys.

A technical administrator may help a person who lost their password or their
authenticator app, but must never be able to sign in as them. So the admin
never sets a password nor a second factor on another account: it revokes them
(password, every second-factor device, every open session) and the way back in
goes to the account's own email address (a link to choose a password; the
authenticator app is enrolled again at the next sign-in). The owner is told,
and the reset is an audit event.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from espace_sante import emails
from espace_sante.actions import SpaceAction
from espace_sante.models import User
from espace_sante.notifications import notify
from espace_sante.tracing import Actor, trace

_DB_SESSION_ENGINES = {
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
}


class CredentialsError(Exception):
    """A reset that may not be made (an administrator's own account, say)."""


def reset_sign_in(*, user: User, by: Actor, reason: str) -> None:
    """Revoke `user`'s password, second factors and sessions; send the way back in to them.

    Guarantees, in one transaction with its audit event: the password is unusable
    (whatever the administrator typed is never stored), every TOTP and email
    device is gone, every session of the account is ended; after commit the
    account's own email address receives a link to choose a new password, and the
    owner is notified. An administrator may not reset their own account here.
    """
    if by.user is not None and by.user.pk == user.pk:
        raise CredentialsError(
            _("Changez votre propre mot de passe depuis la page « Changer de mot de passe ».")
        )
    with transaction.atomic():
        user.set_unusable_password()
        user.save(update_fields=["password"])
        devices = revoke_second_factors(user)
        sessions = end_sessions(user)
        trace(
            actor=by,
            action=SpaceAction.SIGN_IN_RESET,
            target=user,
            detail={"account": user.pk, "devices": devices, "sessions": sessions, "reason": reason},
        )
        notify(
            recipient=user,
            template="sign_in_reset",
            context={"when": timezone.now(), "user": user},
            link=reverse("account_login"),
        )
        transaction.on_commit(lambda: send_set_password_link(user.pk))


def revoke_second_factors(user: User) -> int:
    """Delete every second-factor device of `user`; the number deleted."""
    totp, _detail = TOTPDevice.objects.filter(user=user).delete()
    email, _detail = EmailDevice.objects.filter(user=user).delete()
    return totp + email


def end_sessions(user: User) -> int:
    """End every open session of `user`; the number ended.

    The password change alone already invalidates them (Django checks the session's
    password hash on each request); stored sessions are deleted too.
    """
    if settings.SESSION_ENGINE not in _DB_SESSION_ENGINES:
        return 0
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def set_password_url(user: User) -> str:
    """The link to choose a password (allauth's reset link), valid until used or changed."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    return settings.SITE_URL.rstrip("/") + path


def send_set_password_link(user_id: int) -> None:
    """Email the set-password link to the account's own address.

    Sent directly, not kept in the outbox: the link opens the account, so it is
    stored nowhere an administrator reads. If it is lost, the owner asks for
    another one with « Mot de passe oublié ».
    """
    user = User.objects.get(pk=user_id)
    subject, body = emails.render(
        "sign_in_reset_link", {"user": user, "url": set_password_url(user)}
    )
    emails.send(to=user.email, subject=subject, body=body)
