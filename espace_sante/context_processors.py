from django.conf import settings
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from espace_sante import navigation

# The RGAA conformity status the footer and the accessibility statement print. Without a
# full audit RGAA says « non conforme »: the browser tests' axe checks (no serious or
# critical fault on the pages they open) cover only part of the criteria.
ACCESSIBILITY_STATUS = _("non conforme")


def portal(request):
    """Which front door the page belongs to, for the header and navigation."""
    return {
        "portal": "pro" if request.path.startswith("/pro/") else "patient",
        "DEBUG": settings.DEBUG,
        "accessibility_status": ACCESSIBILITY_STATUS,
        # The apps' entries (`espace_sante.navigation`), computed only if the page shows them.
        "nav_entries": SimpleLazyObject(lambda: navigation.entries(request)),
    }
