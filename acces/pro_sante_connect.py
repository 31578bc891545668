"""Pro Santé Connect: the professional is found by the RPPS number the provider vouches for.

Pro Santé Connect gives the national identifier as `SubjectNameID` (and as
`preferred_username`): "8" followed by the 11-digit RPPS. Both are read, with or without
the leading "8". Nobody gets an account here: an RPPS that no professional's account
carries is refused (the Assurance Maladie opens professionals' accounts).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from acces.models import Professional
from espace_sante.identity_providers import Identity, IdentityRefused

_RPPS_CLAIMS = ("SubjectNameID", "preferred_username")
_NATIONAL_ID = re.compile(r"^8?(\d{11})$")


def rpps_from(claims: dict) -> str | None:
    """The 11-digit RPPS in the claims, or None."""
    for name in _RPPS_CLAIMS:
        match = _NATIONAL_ID.match(str(claims.get(name) or "").strip())
        if match:
            return match.group(1)
    return None


def match_professional(*, request, identity: Identity, sociallogin):
    """The Pro Santé Connect matcher (`espace_sante.identity_providers.register_matcher`)."""
    rpps = rpps_from(identity.claims)
    professional = (
        Professional.objects.select_related("user").filter(rpps=rpps).first() if rpps else None
    )
    if professional is None or not professional.user.is_active:
        raise IdentityRefused(
            _(
                "Votre numéro RPPS ne correspond à aucun compte professionnel de Mon espace "
                "santé. Aucun compte n'a été créé : votre compte est ouvert par l'Assurance "
                "Maladie, contactez votre caisse."
            ),
            reason="unknown_rpps",
        )
    return professional.user
