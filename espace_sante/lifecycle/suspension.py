"""Suspension on suspicion of fraud, and its end."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from espace_sante.actions import SpaceAction
from espace_sante.lifecycle._common import _locked, _move, _reason
from espace_sante.models import Space
from espace_sante.notifications import notify_space
from espace_sante.services import SpaceError
from espace_sante.tracing import Actor


def suspend(*, space: Space, by: Actor, reason: str) -> Space:
    """Suspend on suspicion of fraud; without objection for six weeks the space closes."""
    if not reason.strip():
        raise SpaceError(_("Indiquez le motif de la suspension."))
    with transaction.atomic():
        space = _locked(space)
        if space.state not in (Space.State.ACTIVE, Space.State.CREATED):
            raise SpaceError(_("Seul un espace créé ou activé peut être suspendu."))
        _move(
            space,
            Space.State.SUSPENDED,
            by=by,
            action=SpaceAction.SPACE_SUSPENDED,
            detail={"reason": reason[:200]},
        )
        notify_space(space=space, template="space_suspended")
    return space


def lift_suspension(*, space: Space, by: Actor, reason: str = "") -> Space:
    with transaction.atomic():
        space = _locked(space)
        if space.state != Space.State.SUSPENDED:
            raise SpaceError(_("Cet espace n'est pas suspendu."))
        target = Space.State.ACTIVE if space.holder.user_id else Space.State.CREATED
        _move(
            space, target, by=by, action=SpaceAction.SPACE_SUSPENSION_LIFTED, detail=_reason(reason)
        )
        notify_space(
            space=space,
            template="space_reactivated",
            link=reverse("espace_sante:space", args=[space.public_id]),
        )
    return space
