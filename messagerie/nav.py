"""The "Messagerie" entries of the portals' navigation, with their unread counts
(registered with `espace_sante.nav` by `MessagerieConfig.ready`)."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, Sum, Value, When
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from acces.policy import spaces_visible_to
from espace_sante.models import Space, User
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


def _space_of_page(request):
    match = getattr(request, "resolver_match", None)
    return match.kwargs.get("space_id") if match else None


def patient_entry(request) -> NavEntry | None:
    """The "Messagerie" entry of a signed-in patient: the space of the page if they may read
    it, else their own space (else the first one they represent), with its unread count.
    Two queries: the space (the policy's list filter), the count."""
    user = request.user
    verified = getattr(user, "is_verified", None)  # set by django-otp's middleware
    if not user.is_authenticated or user.kind != User.Kind.PATIENT or not (verified and verified()):
        return None
    spaces = Space.objects.filter(spaces_visible_to(user))
    current = _space_of_page(request)
    own_first = Case(When(holder__user=user, then=Value(0)), default=Value(1))
    order = [own_first, "pk"]
    if current is not None:
        order.insert(0, Case(When(public_id=current, then=Value(0)), default=Value(1)))
    space = (
        spaces.annotate(
            unread_total=Sum(
                "mailbox__memberships__unread",
                filter=_unread_filter(),
                output_field=IntegerField(),
            )
        )
        .order_by(*order)
        .only("pk", "public_id")
        .first()
    )
    if space is None:
        return None
    count = space.unread_total or 0
    url = reverse("messagerie:inbox", args=[space.public_id])
    return NavEntry(
        label=_("Messagerie"),
        url=url,
        count=count,
        count_label=ngettext("%d message non lu", "%d messages non lus", count) % count,
        current_prefix=url,
    )


def _unread_filter() -> Q:
    # As `selectors.unread_count`: the conversations of the inbox, not the trash.
    return Q(
        mailbox__memberships__deleted_at__isnull=True,
        mailbox__memberships__trashed_at__isnull=True,
    )
