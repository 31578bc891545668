"""The announcement's six weeks, and the person's opposition to their space."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from espace_sante.actions import SpaceAction
from espace_sante.lifecycle._common import _locked, _move, _reason
from espace_sante.lifecycle.codes import Claim, _check_claim, _use
from espace_sante.models import ProvisionalCode, Space
from espace_sante.notifications import notify_space
from espace_sante.services import SpaceError
from espace_sante.tracing import Actor


def announce_deadline(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + Space.OPPOSITION_WINDOW


def oppose(*, claim: Claim, by: Actor) -> Space:
    """The person refuses the creation of their space, within the six weeks (no account)."""
    space, code = _check_claim(claim, by=by)
    with transaction.atomic():
        space = _locked(space)
        _oppose(space, by=by)
        _use(code)
    return space


def record_opposition(*, space: Space, by: Actor, reason: str = "") -> Space:
    """A CPAM agent records the opposition the person expressed by phone or at the desk."""
    with transaction.atomic():
        space = _locked(space)
        _oppose(space, by=by, reason=reason)
    return space


def _oppose(space: Space, *, by: Actor, reason: str = "") -> None:
    if space.state != Space.State.ANNOUNCED or (
        space.opposition_deadline and space.opposition_deadline <= timezone.now()
    ):
        raise SpaceError(
            _(
                "Le délai d'opposition de six semaines est passé ou l'espace n'est plus en cours "
                "de création : vous pouvez en revanche demander sa clôture à tout moment."
            )
        )
    _move(
        space, Space.State.OPPOSED, by=by, action=SpaceAction.SPACE_OPPOSED, detail=_reason(reason)
    )
    ProvisionalCode.objects.filter(space=space, used_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    notify_space(space=space, template="space_opposed")
