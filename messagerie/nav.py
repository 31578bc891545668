"""The "Messagerie" entries of the portals' navigation, with their unread counts
(registered with `espace_sante.nav` by `MessagerieConfig.ready`)."""

from __future__ import annotations

from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from acces.selectors import patient_nav_space
from espace_sante.models import User
from espace_sante.nav import NavEntry
from messagerie import selectors
from messagerie.models import ConversationMember, Mailbox


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


def patient_entry(request) -> NavEntry | None:
    """The "Messagerie" entry of a signed-in patient: the space of the page if they may read
    it, else their own space (else the first one they represent), with its unread count.
    Two queries: the space (shared with the other entries), the count."""
    space = patient_nav_space(request)
    if space is None:
        return None
    count = (
        ConversationMember.objects.filter(
            mailbox__space=space,
            mailbox__kind=Mailbox.Kind.PATIENT,
            deleted_at__isnull=True,
            trashed_at__isnull=True,
        ).aggregate(total=Sum("unread"))["total"]
        or 0
    )
    url = reverse("messagerie:inbox", args=[space.public_id])
    return NavEntry(
        label=_("Messagerie"),
        url=url,
        count=count,
        count_label=ngettext("%d message non lu", "%d messages non lus", count) % count,
        current_prefix=url,
    )
