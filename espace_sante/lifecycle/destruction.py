"""Destruction of a closed space's content (crypto-shredding), by each registered part."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from espace_sante import parts
from espace_sante.actions import SpaceAction
from espace_sante.lifecycle._common import _locked, _move
from espace_sante.models import Space
from espace_sante.services import SpaceError
from espace_sante.tracing import Actor, trace


def destroy(*, space: Space, by: Actor) -> Space:
    """Destroy a closed space's content by destroying its keys and files.

    Only a tombstone (the space row, its state) and the audit trail remain. The
    occupational-health part, when its 40-year retention runs longer, is kept
    and destroyed when that ends.
    """
    from espace_sante import crypto

    today = timezone.localdate()
    with transaction.atomic():
        space = _locked(space)
        if space.state != Space.State.CLOSED:
            raise SpaceError(_("Seul un espace clôturé peut être détruit."))
        keep_occupational = bool(
            space.occupational_retention_until
            and space.occupational_retention_until > today
            and not space.deletion_due_at
        )
        parts.destroy(space, keep_occupational=keep_occupational)
        from espace_sante.export import shred_job

        for job in space.export_jobs.select_related("data_key"):
            shred_job(job)
        for letter in space.letters.select_related("data_key"):
            crypto.destroy_data_key(letter.data_key)
            letter.file.delete(save=False)
        space.letters.all().delete()
        space.codes.all().delete()
        if keep_occupational:
            space.retention_until = space.occupational_retention_until
            space.save(update_fields=["retention_until"])
            trace(
                actor=by,
                action=SpaceAction.SPACE_CONTENT_DESTROYED,
                space=space,
                target=space,
                detail={"kept": "occupational_health"},
            )
            return space
        holder = space.holder
        holder.email, holder.postal_address = "", ""
        holder.save(update_fields=["email", "postal_address"])
        holder.contact_changes.all().delete()
        space.representatives.all().delete()
        _move(space, Space.State.DESTROYED, by=by, action=SpaceAction.SPACE_DESTROYED)
    return space
