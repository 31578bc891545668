from django.conf import settings
from django.utils.translation import gettext_lazy as _

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
    }
