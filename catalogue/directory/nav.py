"""The « Catalogue » entry of the patient's navigation (registered with `espace_sante.nav`)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from espace_sante.nav import NavEntry


def patient_entry(request) -> NavEntry | None:
    """The public catalogue, for every signed-in patient: no query."""
    url = reverse("catalogue:list")
    return NavEntry(label=_("Catalogue"), url=url, current_prefix=url)
