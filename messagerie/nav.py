"""The "Messagerie" entries of the portals' navigation, with their unread counts
(registered with `espace_sante.nav` by `MessagerieConfig.ready`)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from espace_sante.models import User
from espace_sante.nav import NavEntry
from messagerie import selectors


def pro_entry(request) -> NavEntry | None:
    """A professional's messaging: unread in their own and their organisations' mailboxes
    (one query)."""
    user = request.user
    if not user.is_authenticated or user.kind != User.Kind.PROFESSIONAL:
        return None
    professional = getattr(user, "professional", None)
    if professional is None:
        return None
    return NavEntry(
        label=_("Messagerie"),
        url=reverse("messagerie_pro:inbox"),
        count=selectors.unread_for_professional(professional),
    )
