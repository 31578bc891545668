"""A lost provisional code asked again online, rate-limited per space and per address.

The journey is anonymous: whatever happens (unknown identity, a space that cannot
use a code, a limit reached), the caller answers the same neutral message, so the
answer never tells whether a NIR exists. The limits count what they are about, not
the audit trail: the codes sent for the space (`CodeRequest` rows of kind
"new_code", by anyone, agents included) and the requests from one address (cache).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from espace_sante import lifecycle
from espace_sante.actions import SpaceAction
from espace_sante.models import CodeRequest, Space, SpaceError
from espace_sante.tracing import Actor, trace

PER_SPACE = 3  # new codes per SPACE_WINDOW, whoever asked
SPACE_WINDOW = timedelta(hours=24)
PER_IP = 10  # valid requests per hour from one address
IP_WINDOW_SECONDS = 3600


def request_new_code(
    *, nir: str, carte_vitale_serial: str, by_letter: bool = False, by: Actor
) -> None:
    """Send a new code if the identity names a space that may use one and no limit is reached.

    Returns nothing on purpose: the caller's answer must not depend on what happened.
    A request refused by the space's limit is traced in the space's chain.
    """
    if not _ip_allowance(by.ip):
        return
    space = (
        Space.objects.filter(
            holder__nir=nir,
            holder__carte_vitale_serial=carte_vitale_serial,
            state__in=lifecycle.CODE_STATES,
        )
        .only("pk")
        .first()
    )
    if space is None:
        return
    with transaction.atomic():
        # Locked: two requests at once for one space count each other.
        space = (
            Space.objects.select_for_update(of=("self",))
            .select_related("holder__user")
            .get(pk=space.pk)
        )
        if _codes_sent_recently(space) >= PER_SPACE:
            trace(
                actor=by,
                action=SpaceAction.CODE_REQUESTED,
                space=space,
                target=space,
                outcome="denied",
                detail={"reason": "rate_limited"},
            )
            return
        try:
            lifecycle.send_new_code(space=space, by=by, by_letter=by_letter)
        except SpaceError:
            return


def _codes_sent_recently(space: Space) -> int:
    """The new codes sent for this space within the window (each one is a `CodeRequest`)."""
    return CodeRequest.objects.filter(
        space=space, kind="new_code", created_at__gte=timezone.now() - SPACE_WINDOW
    ).count()


def _ip_allowance(ip: str | None) -> bool:
    """At most PER_IP valid requests an hour from one address (a fixed window)."""
    key = f"lost-code:ip:{ip or 'unknown'}"
    cache.add(key, 0, timeout=IP_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=IP_WINDOW_SECONDS)
        count = 1
    return count <= PER_IP
