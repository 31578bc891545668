"""The « Mes services connectés » entry of the patient's navigation (registered with
`espace_sante.nav` by `catalogue.parts.register`)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from acces.selectors import patient_nav_space
from espace_sante.nav import NavEntry


def patient_entry(request) -> NavEntry | None:
    """The connected services of the page's space if the patient may see it, else of their
    own space (else of the first one they represent). No query of its own: the space is the
    one the other entries read (`acces.selectors.patient_nav_space`); the page itself asks
    the policy (MANAGE_ACCESS)."""
    space = patient_nav_space(request)
    if space is None:
        return None
    url = reverse("connections:list", args=[space.public_id])
    return NavEntry(label=_("Mes services connectés"), url=url, current_prefix=url)
