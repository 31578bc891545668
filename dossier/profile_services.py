"""Services of the medical profile: every change is validated, written, traced and kept.

Each service runs in one transaction that writes the row, one audit event
(`profile_<part>_<added|changed|removed>`) and one ProfileChange carrying the new
values. Those values are medical content: they stay in the profile pages, never in
notifications, emails or the admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dossier.actions import profile_action
from dossier.models import MedicalProfile, ProfileChange
from dossier.profile import ENTRY_PARTS, SINGLE_PARTS, EntryPart
from espace_sante.models import Notification, Space, SpaceError
from espace_sante.notifications import notify_space
from espace_sante.tracing import Actor, trace


class ProfileError(SpaceError):
    """A change to the profile that cannot be carried out; the message is for the user."""


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _summary(obj: models.Model, fields) -> dict:
    return {name: _plain(getattr(obj, name)) for name in fields}


def _editable_fields(model: type[models.Model]) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name != "space"
    ]


def _check_open(space: Space) -> None:
    if not space.is_open:
        raise ProfileError(_("Le profil médical d'un espace fermé ne peut plus être modifié."))


# A burst of edits (ten vaccinations typed in a row) makes one notification, not ten.
NOTIFY_AT_MOST_EVERY = timedelta(hours=1)


def _record(*, space: Space, part: str, action: str, obj, summary: dict, by: Actor) -> None:
    trace(actor=by, action=profile_action(part, action), space=space, target=obj)
    ProfileChange.objects.create(
        space=space, part=part, action=action, by_label=by.label, summary=summary
    )
    _tell_the_others(space=space, by=by)


def _tell_the_others(*, space: Space, by: Actor) -> None:
    """A content-free "your profile changed" to the holder and representatives, but not `by`."""
    recent = Notification.objects.filter(
        space=space,
        kind="profile_changed",
        created_at__gte=timezone.now() - NOTIFY_AT_MOST_EVERY,
    )
    if recent.exists():
        return
    notify_space(
        space=space,
        template="profile_changed",
        context={"actor_label": by.label},
        link=reverse("profil:changes", args=[space.public_id]),
        except_user=by.user,
    )


def _entry_part(model: type[models.Model]) -> EntryPart:
    for part in ENTRY_PARTS.values():
        if part.model is model:
            return part
    raise ProfileError(_("Cette partie du profil n'existe pas."))


@transaction.atomic
def update_profile(
    *, space: Space, part: str, values: Mapping[str, Any], by: Actor
) -> MedicalProfile:
    """Set the fields of one single-valued part (blood group, trusted person...).

    Only that part's fields are written; the profile row is created on first use.
    """
    if part not in SINGLE_PARTS:
        raise ProfileError(_("Cette partie du profil n'existe pas."))
    _check_open(space)
    fields = SINGLE_PARTS[part].fields
    profile, _created = MedicalProfile.objects.select_for_update().get_or_create(space=space)
    for name in fields:
        setattr(profile, name, values.get(name, getattr(profile, name)))
    profile.full_clean()
    profile.save()
    _record(
        space=space,
        part=part,
        action=ProfileChange.Action.CHANGED,
        obj=profile,
        summary=_summary(profile, fields),
        by=by,
    )
    return profile


@transaction.atomic
def add_entry(*, space: Space, part: str, values: Mapping[str, Any], by: Actor) -> models.Model:
    """Add one entry (allergy, treatment, measurement...) to the space's profile."""
    if part not in ENTRY_PARTS:
        raise ProfileError(_("Cette partie du profil n'existe pas."))
    _check_open(space)
    model = ENTRY_PARTS[part].model
    fields = _editable_fields(model)
    entry = model(space=space, **{k: v for k, v in values.items() if k in fields})
    entry.full_clean()
    entry.save()
    _record(
        space=space,
        part=part,
        action=ProfileChange.Action.ADDED,
        obj=entry,
        summary=_summary(entry, fields),
        by=by,
    )
    return entry


@transaction.atomic
def change_entry(*, entry: models.Model, values: Mapping[str, Any], by: Actor) -> models.Model:
    """Change an existing entry; the history keeps its new values."""
    part = _entry_part(type(entry))
    space = entry.space
    _check_open(space)
    fields = _editable_fields(type(entry))
    for name in fields:
        if name in values:
            setattr(entry, name, values[name])
    entry.full_clean()
    entry.save()
    _record(
        space=space,
        part=part.key,
        action=ProfileChange.Action.CHANGED,
        obj=entry,
        summary=_summary(entry, fields),
        by=by,
    )
    return entry


@transaction.atomic
def remove_entry(*, entry: models.Model, by: Actor) -> None:
    """Remove an entry; the history records what was removed."""
    part = _entry_part(type(entry))
    space = entry.space
    _check_open(space)
    summary = _summary(entry, _editable_fields(type(entry)))
    _record(
        space=space,
        part=part.key,
        action=ProfileChange.Action.REMOVED,
        obj=entry,
        summary=summary,
        by=by,
    )
    entry.delete()


# Every row of a space's medical profile: its history, each repeating part, the single row.
PROFILE_MODELS: tuple[type[models.Model], ...] = (
    ProfileChange,
    *(part.model for part in ENTRY_PARTS.values()),
    MedicalProfile,
)


def destroy_profile(space: Space, *, keep_occupational: bool) -> int:
    """Delete every row of the space's medical profile (the "profile" part's `destroy`,
    `dossier.parts`): one DELETE per model, whatever the profile's size.

    The profile holds nothing of the occupational-health part: it goes even when
    `keep_occupational` is true. Its fields are not encrypted, so deleting the rows
    is the whole destruction; only the audit trail keeps a trace.
    """
    deleted = 0
    for model in PROFILE_MODELS:
        count, _by_model = model.objects.filter(space=space).delete()
        deleted += count
    return deleted
