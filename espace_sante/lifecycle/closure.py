"""Closure, the archive period, the holder's death, and the request for definitive deletion."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from espace_sante.actions import SpaceAction
from espace_sante.lifecycle._common import _add_years, _locked, _move, _reason
from espace_sante.models import Patient, Space
from espace_sante.notifications import notify_space
from espace_sante.services import SpaceError
from espace_sante.tracing import Actor, trace


def close(*, space: Space, by: Actor, reason: str = "", channel: str = "online") -> Space:
    """Close a space: archived ten years (or ten years after death), invisible to every
    professional, reactivable until then."""
    with transaction.atomic():
        space = _locked(space)
        _close(space, by=by, reason=reason, channel=channel)
    return space


def _close(space: Space, *, by: Actor, reason: str, channel: str) -> None:
    if space.state not in (Space.State.ACTIVE, Space.State.CREATED, Space.State.SUSPENDED):
        raise SpaceError(
            _("Cet espace ne peut pas être clôturé dans son état actuel (%(state)s).")
            % {"state": space.get_state_display().lower()}
        )
    now = timezone.now()
    space.closed_at = now
    space.retention_until = retention_end(space.holder, closed_on=timezone.localdate(now))
    _move(
        space,
        Space.State.CLOSED,
        by=by,
        action=SpaceAction.SPACE_CLOSED,
        extra_fields=["closed_at", "retention_until"],
        detail={"channel": channel, **({"reason": reason[:200]} if reason else {})},
    )
    notify_space(
        space=space,
        template="space_closed",
        link=reverse("espace_sante:space", args=[space.public_id]),
    )


def retention_end(patient: Patient, *, closed_on: date) -> date:
    """Ten years from closure; after the holder's death, ten years from the death."""
    start = patient.death_date or closed_on
    return _add_years(start, Space.ARCHIVE_YEARS)


def record_death(*, space: Space, death_date: date, by: Actor, reason: str = "") -> Space:
    """A CPAM agent records the holder's death: the space closes, kept ten years from then."""
    with transaction.atomic():
        space = _locked(space)
        space.holder.death_date = death_date
        space.holder.save(update_fields=["death_date"])
        trace(
            actor=by,
            action=SpaceAction.DEATH_RECORDED,
            space=space,
            target=space,
            detail=_reason(reason),
        )
        if space.state == Space.State.CLOSED:
            space.retention_until = retention_end(space.holder, closed_on=death_date)
            space.save(update_fields=["retention_until"])
        else:
            _close(space, by=by, reason="décès", channel="agent")
    return space


def request_deletion(*, space: Space, by: Actor) -> Space:
    """Early definitive deletion: the space closes now and is destroyed within three months."""
    with transaction.atomic():
        space = _locked(space)
        if space.state == Space.State.DESTROYED:
            raise SpaceError(_("Cet espace est déjà détruit."))
        if space.deletion_due_at:
            raise SpaceError(_("La suppression définitive de cet espace est déjà demandée."))
        if space.state != Space.State.CLOSED:
            _close(space, by=by, reason="suppression demandée", channel="online")
        space.deletion_due_at = timezone.now() + Space.DELETION_DELAY
        space.save(update_fields=["deletion_due_at"])
        trace(
            actor=by,
            action=SpaceAction.DELETION_REQUESTED,
            space=space,
            target=space,
            detail={"due": space.deletion_due_at.date().isoformat()},
        )
        notify_space(
            space=space, template="deletion_requested", context={"due": space.deletion_due_at}
        )
    return space
