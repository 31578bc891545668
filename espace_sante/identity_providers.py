"""National sign-in through OpenID Connect: Pro Santé Connect and FranceConnect.

Both are apps of django-allauth's `openid_connect` provider (settings: `PRO_SANTE_CONNECT`,
`FRANCECONNECT`, docs/INTEROP.md). Neither ever creates an account: the identity the
provider vouches for is matched to an existing one by the provider's **matcher**, or the
sign-in is refused with a French message. The matchers are declared, not discovered: the
space core matches FranceConnect identities to holders (`espace_sante.franceconnect`), and
`acces` registers the Pro Santé Connect one (RPPS) from its `AppConfig.ready`, so the core
never imports `acces`.

Each authorization request carries a fresh `nonce`, kept in the session and compared with
the ID token's (`prepare_authorization`, called by `signin.identity_provider_login` in front
of allauth's view). A matched sign-in is recorded at the level the provider vouched for
(its `acr`), so no second factor is asked, and traced as `sign_in_identity_provider` (not
as a password sign-in). A refused one, or a failed exchange (wrong `state`, replayed
code), is traced as denied, with the reason and no identity.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import QueryDict
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from espace_sante import assurance
from espace_sante.actions import SpaceAction
from espace_sante.tracing import Actor, client_ip, trace

PRO_SANTE_CONNECT = "pro-sante-connect"
FRANCECONNECT = "franceconnect"
PROVIDERS = {PRO_SANTE_CONNECT: "PRO_SANTE_CONNECT", FRANCECONNECT: "FRANCECONNECT"}

# Set on the request once a matcher accepted the identity, until the sign-in is recorded:
# the password sign-in's trace (acces.signals) and email code (auth) stand aside.
_REQUEST_ATTRIBUTE = "_identity_provider_sign_in"


class IdentityRefused(Exception):
    """The provider's identity matches no account that may sign in; the message is French."""

    def __init__(self, message: str, *, reason: str, redirect_to: str = "account_login"):
        super().__init__(message)
        self.reason = reason
        self.redirect_to = redirect_to


@dataclass(frozen=True)
class Identity:
    """What the provider vouched for: its id, the subject and the merged claims."""

    provider_id: str
    uid: str
    claims: dict
    extra_data: dict

    @property
    def acr(self) -> str:
        return str(self.claims.get("acr") or "")


Matcher = Callable[..., object]
_matchers: dict[str, Matcher] = {}


def register_matcher(provider_id: str, matcher: Matcher) -> None:
    """`matcher(request=, identity=, sociallogin=)` returns the account to sign in (or an
    HttpResponse to answer instead), or raises IdentityRefused."""
    _matchers[provider_id] = matcher


def conf(provider_id: str) -> dict:
    return getattr(settings, PROVIDERS[provider_id])


def is_configured(provider_id: str) -> bool:
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    return any(app.get("provider_id") == provider_id for app in apps)


def configured_origins() -> list[str]:
    """The providers' origins: the sign-in form posts to us, and we redirect there."""
    origins = set()
    for app in settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", []):
        parts = urlsplit(app.get("settings", {}).get("server_url", ""))
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)


def identity_of(sociallogin) -> Identity:
    data = sociallogin.account.extra_data or {}
    # The ID token is signed by the provider: its claims win over the userinfo's.
    claims = {**(data.get("userinfo") or {}), **(data.get("id_token") or {})}
    return Identity(
        provider_id=sociallogin.account.provider,
        uid=str(sociallogin.account.uid),
        claims=claims,
        extra_data=data,
    )


def level_for(provider_id: str, acr: str) -> assurance.AssuranceLevel:
    """Pro Santé Connect is a strong sign-in; FranceConnect stands for the email code,
    FranceConnect+ (an `acr` the settings list as strong) for the TOTP."""
    if provider_id == FRANCECONNECT and acr not in conf(FRANCECONNECT)["strong_acr_values"]:
        return assurance.AssuranceLevel.IDENTITY_PROVIDER_BASIC
    return assurance.AssuranceLevel.IDENTITY_PROVIDER


def signing_in_with(request) -> str | None:
    """The provider through which this request is signing someone in, if any."""
    return getattr(request, _REQUEST_ATTRIBUTE, None)


def mark_signing_in(request, provider_id: str) -> None:
    setattr(request, _REQUEST_ATTRIBUTE, provider_id)


def record_sign_in(request, user, identity: Identity) -> None:
    """The sign-in went through: its level and `acr` in the session, one event traced."""
    assurance.set_level(request, level_for(identity.provider_id, identity.acr), identity.acr)
    with transaction.atomic():
        trace(
            actor=Actor(user=user, role=user.kind, ip=client_ip(request)),
            action=SpaceAction.SIGN_IN_IDENTITY_PROVIDER,
            detail={"provider": identity.provider_id, "acr": identity.acr},
        )


def refuse(request, provider_id: str, *, reason: str, message: str, to: str = "account_login"):
    """Trace the refusal (without the identity) and send the person back with the message."""
    with transaction.atomic():
        trace(
            actor=Actor(user=None, role=Actor.ANONYMOUS, ip=client_ip(request)),
            action=SpaceAction.SIGN_IN_IDENTITY_PROVIDER,
            outcome="denied",
            detail={"provider": provider_id, "reason": reason},
        )
    messages.error(request, message)
    return redirect(to)


def _nonce_key(provider_id: str) -> str:
    return f"identity_provider_nonce:{provider_id}"


def prepare_authorization(request, provider_id: str) -> None:
    """Before allauth sends the person to the provider: a fresh `nonce` (which allauth's
    OpenID Connect provider neither sends nor checks) kept in the session, and nothing
    else from the request's query (allauth would add its `scope` and `auth_params`: a
    lower `acr_values` among them) but `next`."""
    nonce = secrets.token_urlsafe(32)
    request.session[_nonce_key(provider_id)] = nonce
    query = QueryDict(mutable=True)
    next_url = request.POST.get("next") or request.GET.get("next")
    if next_url:
        query["next"] = next_url
    query["auth_params"] = urlencode({"nonce": nonce})
    request.GET = query


def _nonce_matches(request, identity: Identity) -> bool:
    expected = request.session.pop(_nonce_key(identity.provider_id), None)
    received = (identity.extra_data.get("id_token") or {}).get("nonce")
    return bool(expected and received) and hmac.compare_digest(str(expected), str(received))


def _accepted_acr(provider_id: str) -> set[str]:
    accepted = set(conf(provider_id)["acr_values"])
    if provider_id == FRANCECONNECT:
        accepted |= set(conf(FRANCECONNECT)["strong_acr_values"])
    return accepted


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """No account is ever made from a provider's identity: it is matched, or refused."""

    def is_open_for_signup(self, request, sociallogin):
        return False

    def is_auto_signup_allowed(self, request, sociallogin):
        return False

    def can_authenticate_by_email(self, login, email):
        # An address the provider gives proves nothing about our accounts.
        return False

    def pre_social_login(self, request, sociallogin):
        identity = identity_of(sociallogin)
        provider_id = identity.provider_id
        matcher = _matchers.get(provider_id)
        try:
            if matcher is None:
                raise IdentityRefused(
                    _("Ce mode de connexion n'est pas disponible."), reason="no_matcher"
                )
            if not _nonce_matches(request, identity):
                # An ID token issued for another sign-in (or replayed): not this person's.
                raise IdentityRefused(
                    _(
                        "La connexion n'a pas pu être vérifiée. Recommencez depuis la page "
                        "de connexion."
                    ),
                    reason="nonce",
                )
            if identity.acr not in _accepted_acr(provider_id):
                raise IdentityRefused(
                    _(
                        "Le niveau de garantie de cette identification n'est pas suffisant "
                        "pour accéder à Mon espace santé."
                    ),
                    reason="acr",
                )
            user = matcher(request=request, identity=identity, sociallogin=sociallogin)
        except IdentityRefused as refusal:
            raise ImmediateHttpResponse(
                refuse(
                    request,
                    provider_id,
                    reason=refusal.reason,
                    message=str(refusal),
                    to=refusal.redirect_to,
                )
            ) from refusal
        if not hasattr(user, "pk"):  # the matcher answers instead (a step before linking)
            raise ImmediateHttpResponse(user)
        if sociallogin.is_existing and sociallogin.user.pk != user.pk:
            raise ImmediateHttpResponse(
                refuse(
                    request,
                    provider_id,
                    reason="linked_elsewhere",
                    message=_(
                        "Cette identité est liée à un autre compte : contactez votre caisse "
                        "d'assurance maladie."
                    ),
                )
            )
        if not sociallogin.is_existing:
            # The link, without `SocialLogin.save` (which saves the whole account row).
            sociallogin.user = user
            sociallogin.account.user = user
            sociallogin.account.save()
        mark_signing_in(request, provider_id)

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ):
        # A wrong or replayed `state`, a code the provider refuses (replayed, expired), a
        # cancelled sign-in: the person starts again from the sign-in page.
        provider_id = getattr(getattr(provider, "app", None), "provider_id", "") or str(
            getattr(provider, "id", "")
        )
        raise ImmediateHttpResponse(
            refuse(
                request,
                provider_id,
                reason=str(error or "error"),
                message=_(
                    "La connexion par %(provider)s n'a pas abouti. Recommencez depuis cette "
                    "page ; si le problème persiste, connectez-vous avec votre mot de passe."
                )
                % {"provider": getattr(provider, "name", provider_id)},
            )
        )
