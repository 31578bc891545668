"""FranceConnect for holders: the verified civil identity matched to a space's holder.

The identity pivot (`family_name`, the birth name; `given_name`, every first name;
`birthdate`; `gender`) must match exactly one holder, after the usual normalisation
(case, accents, hyphens and apostrophes). `birthplace` is not compared: the enrolment
file does not carry it. An identity that matches nobody is refused, and no account is made.

A first FranceConnect sign-in for an identity does not sign anyone in yet:

- the holder has an account: the identity waits in the session until that account's own
  password **and** second factor are passed in the same session (`complete_pending_link`,
  called by the second factor's view); the link (allauth's SocialAccount) is then stored,
  and the next FranceConnect sign-in goes straight in;
- the holder has none (space announced or created, not activated): the activation asks
  the provisional code and the account's email and password (`activate`), as the
  activation with the Carte Vitale does, the identity standing for NIR and serial.
"""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import date

from allauth.socialaccount.models import SocialAccount
from django.contrib import messages
from django.contrib.auth import login, logout
from django.db import transaction
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from espace_sante import identity_providers, lifecycle
from espace_sante.actions import SpaceAction
from espace_sante.identity_providers import FRANCECONNECT, Identity, IdentityRefused
from espace_sante.models import Patient, SpaceError, User
from espace_sante.tracing import Actor, trace

PENDING_SESSION_KEY = "franceconnect_pending"
# Long enough to sign in with the password and type a code, short enough not to linger.
PENDING_SECONDS = 15 * 60
_GENDERS = {"female": Patient.Sex.FEMALE, "male": Patient.Sex.MALE}

NO_MATCH = gettext_lazy(
    "L'identité transmise par FranceConnect ne correspond à aucun titulaire d'un espace "
    "Mon espace santé. Aucun compte n'a été créé. Connectez-vous avec votre adresse e-mail "
    "et votre mot de passe, ou activez votre espace avec votre carte Vitale."
)


def normalise_name(value: str) -> str:
    """Case, accents, hyphens, apostrophes and runs of spaces do not tell names apart."""
    text = unicodedata.normalize("NFKD", value or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.split(r"[\s\-'’]+", text)).strip()


def _birth_date(value) -> date | None:
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        return None


def find_holder(claims: dict) -> Patient | None:
    """The one holder whose identity the claims describe, or None (none, or several)."""
    birth = _birth_date(claims.get("birthdate"))
    sex = _GENDERS.get(str(claims.get("gender") or "").lower())
    last_name = normalise_name(str(claims.get("family_name") or ""))
    given = normalise_name(str(claims.get("given_name") or ""))
    if birth is None or sex is None or not last_name or not given:
        return None
    candidates = [
        patient
        for patient in Patient.objects.filter(
            birth_date=birth, sex=sex, death_date__isnull=True
        ).select_related("user")
        if normalise_name(patient.last_name) == last_name
        and normalise_name(patient.first_names) == given
    ]
    return candidates[0] if len(candidates) == 1 else None


def match_holder(*, request, identity: Identity, sociallogin):
    """The FranceConnect matcher (`identity_providers.register_matcher`)."""
    if sociallogin.is_existing:
        return sociallogin.user  # linked after the account's own password and second factor
    patient = find_holder(identity.claims)
    if patient is None:
        raise IdentityRefused(str(NO_MATCH), reason="no_holder")
    if request.user.is_authenticated:
        logout(request)  # the link is made by this account's own sign-in, below
    request.session[PENDING_SESSION_KEY] = {
        "uid": identity.uid,
        "extra_data": identity.extra_data,
        "acr": identity.acr,
        "patient": patient.pk,
        "at": int(time.time()),
    }
    if patient.user_id is None:
        return redirect("espace_sante:franceconnect_activate")
    messages.info(
        request,
        _(
            "Votre identité FranceConnect est reconnue. Pour la lier à votre compte, "
            "connectez-vous une première fois avec votre adresse e-mail, votre mot de passe "
            "et votre code de vérification ; vous pourrez ensuite utiliser FranceConnect."
        ),
    )
    return redirect("account_login")


def pending(request) -> dict | None:
    data = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(data, dict) or time.time() - data.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_SESSION_KEY, None)
        return None
    return data


def pending_holder(request) -> Patient | None:
    data = pending(request)
    if data is None:
        return None
    return Patient.objects.filter(pk=data["patient"]).select_related("space").first()


def _link(user: User, data: dict, *, by: Actor) -> bool:
    """Store the link (one FranceConnect identity, one account); False if taken."""
    if SocialAccount.objects.filter(provider=FRANCECONNECT, uid=data["uid"]).exists():
        return False
    if SocialAccount.objects.filter(provider=FRANCECONNECT, user=user).exists():
        return False
    SocialAccount.objects.create(
        user=user, provider=FRANCECONNECT, uid=data["uid"], extra_data=data["extra_data"]
    )
    trace(actor=by, action=SpaceAction.FRANCECONNECT_LINKED, detail={"acr": data["acr"]})
    return True


def complete_pending_link(request) -> None:
    """After the account's password and second factor: link the identity waiting in the
    session, if it is this account's holder's (otherwise it is dropped)."""
    data = pending(request)
    request.session.pop(PENDING_SESSION_KEY, None)
    if data is None:
        return
    user = request.user
    if not Patient.objects.filter(pk=data["patient"], user=user).exists():
        messages.warning(
            request,
            _("L'identité FranceConnect ne correspond pas à ce compte : elle n'a pas été liée."),
        )
        return
    with transaction.atomic():
        linked = _link(user, data, by=Actor.from_request(request))
    if linked:
        messages.success(
            request,
            _(
                "Votre identité FranceConnect est liée à votre compte : vous pourrez "
                "désormais vous connecter avec FranceConnect."
            ),
        )


def activate(request, *, code: str, email: str, password: str) -> User:
    """Activate the pending holder's space with its provisional code, open the account,
    link the FranceConnect identity to it and sign the holder in at FranceConnect's level;
    SpaceError or ValidationError (nothing done) otherwise."""
    data = pending(request)
    patient = pending_holder(request)
    if data is None or patient is None:
        raise SpaceError(_("Votre identification FranceConnect a expiré : recommencez-la."))
    by = Actor.from_request(request)
    claim = lifecycle.Claim(
        nir=patient.nir, carte_vitale_serial=patient.carte_vitale_serial, code=code
    )
    # Not in one transaction with the link: a wrong code must stay counted (lifecycle).
    user = lifecycle.activate(claim=claim, email=email, password=password, by=by)
    with transaction.atomic():
        _link(user, data, by=Actor(user=user, role=user.kind, ip=by.ip))
    request.session.pop(PENDING_SESSION_KEY, None)
    identity_providers.mark_signing_in(request, FRANCECONNECT)
    login(request, user, backend="allauth.account.auth_backends.AuthenticationBackend")
    identity = Identity(
        provider_id=FRANCECONNECT, uid=data["uid"], claims={"acr": data["acr"]}, extra_data={}
    )
    identity_providers.record_sign_in(request, user, identity)
    return user
