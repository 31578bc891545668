"""Reads that several views share."""

from django.db.models import QuerySet
from django.utils import timezone

from acces.models import AuditEvent, CareRelation
from acces.policy import spaces_visible_to
from espace_sante.models import LegalRepresentative, Space, User


def spaces_for_patient(user: User) -> QuerySet[Space]:
    """The user's own space and those of the minors they represent, own first."""
    return (
        Space.objects.filter(spaces_visible_to(user))
        .select_related("holder")
        .distinct()
        .order_by("holder__birth_date")
    )


def patients_of(user: User) -> QuerySet[Space]:
    """The spaces a professional may open, most recent relation first."""
    return (
        Space.objects.filter(spaces_visible_to(user))
        .select_related("holder")
        .distinct()
        .order_by("holder__last_name", "holder__first_names")
    )


def care_team(space: Space) -> QuerySet[CareRelation]:
    return (
        CareRelation.objects.filter(space=space, ended_at__isnull=True)
        .select_related("professional__user")
        .order_by("basis", "started_at")
    )


def representatives(space: Space) -> QuerySet[LegalRepresentative]:
    now = timezone.now()
    return (
        space.representatives.filter(since__lte=now).exclude(until__lte=now).select_related("user")
    )


def history(space: Space) -> QuerySet[AuditEvent]:
    """The space's trail, newest first, for the holder to read."""
    return (
        AuditEvent.objects.filter(space=space)
        .order_by("-occurred_at", "-seq")
        .only("occurred_at", "actor_label", "role", "basis", "action", "outcome", "detail")
    )
