"""The person's answers and choices on their prevention reminders, each traced.

Views call these after `space_view(Action.MANAGE_AGENDA)` let them in (the holder, or a
minor's legal representative); each writes and traces in one transaction, and asks the
nightly computation to look at the space again (`PreventionStatus.next_check_on`).
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agenda.models import (
    PreventionMark,
    PreventionPreference,
    PreventionRule,
    PreventionStatus,
)
from agenda.models.prevention import Programme
from agenda.prevention.actions import PreventionAction
from agenda.prevention.conditions import CONDITIONS
from espace_sante.tracing import trace


def _rule(code: str) -> PreventionRule:
    rule = PreventionRule.objects.filter(code=code, active=True).first()
    if rule is None:
        raise ValidationError(_("Ce rappel n'existe pas."))
    return rule


def _recheck(space) -> None:
    PreventionStatus.objects.filter(space=space).update(next_check_on=timezone.localdate())


def _trace(by, action, space, decision, detail):
    trace(
        actor=by,
        action=action,
        space=space,
        target=("agenda.prevention", space.public_id),
        basis=str(getattr(decision, "basis", "") or ""),
        detail=detail,
    )


@transaction.atomic
def mark_done(*, space, code: str, day: date, by, decision, user=None) -> PreventionMark:
    """Record that the item `code` was done on `day` (not in the future, not before birth)."""
    rule = _rule(code)
    if day > timezone.localdate():
        raise ValidationError(_("La date ne peut pas être dans le futur."))
    if day < space.holder.birth_date:
        raise ValidationError(_("La date ne peut pas être avant la naissance."))
    mark = PreventionMark.objects.create(
        space=space,
        rule_code=rule.code,
        rule_version=rule.version,
        kind=PreventionMark.Kind.DONE,
        done_on=day,
        by=user,
    )
    _trace(by, PreventionAction.MARKED_DONE, space, decision, {"rule": rule.code})
    _recheck(space)
    return mark


@transaction.atomic
def decline(*, space, code: str, by, decision, user=None) -> PreventionMark:
    """Say that the item `code` does not concern the person (once per item)."""
    rule = _rule(code)
    mark, _created = PreventionMark.objects.get_or_create(
        space=space,
        rule_code=rule.code,
        kind=PreventionMark.Kind.NOT_CONCERNED,
        defaults={"rule_version": rule.version, "by": user},
    )
    _trace(by, PreventionAction.DECLINED, space, decision, {"rule": rule.code})
    _recheck(space)
    return mark


@transaction.atomic
def remove_mark(*, space, mark_id: int, by, decision) -> None:
    """Take back an answer (a date marked done, or "ne me concerne pas")."""
    mark = PreventionMark.objects.filter(space=space, pk=mark_id).first()
    if mark is None:
        raise ValidationError(_("Cette réponse n'existe pas."))
    mark.delete()
    _trace(
        by,
        PreventionAction.MARK_REMOVED,
        space,
        decision,
        {"rule": mark.rule_code, "kind": mark.kind},
    )
    _recheck(space)


def _preference(space) -> PreventionPreference:
    preference, _created = PreventionPreference.objects.select_for_update().get_or_create(
        space=space
    )
    return preference


@transaction.atomic
def set_programme(*, space, programme: str, on: bool, by, decision) -> None:
    """Turn the reminders of `programme` off, or on again."""
    if programme not in Programme.values:
        raise ValidationError(_("Ce programme n'existe pas."))
    preference = _preference(space)
    off = set(preference.programmes_off)
    off.discard(programme) if on else off.add(programme)
    preference.programmes_off = sorted(off)
    preference.save(update_fields=["programmes_off", "updated_at"])
    action = PreventionAction.PROGRAMME_ON if on else PreventionAction.PROGRAMME_OFF
    _trace(by, action, space, decision, {"programme": programme})
    _recheck(space)


@transaction.atomic
def declare_conditions(*, space, conditions, by, decision) -> None:
    """Replace the declared conditions with `conditions` (codes of `CONDITIONS`)."""
    unknown = set(conditions) - set(CONDITIONS)
    if unknown:
        raise ValidationError(_("Situation inconnue."))
    preference = _preference(space)
    preference.conditions = sorted(set(conditions))
    preference.save(update_fields=["conditions", "updated_at"])
    # The codes are the person's health data: the trail says that they changed, not which.
    _trace(by, PreventionAction.CONDITIONS_DECLARED, space, decision, {"count": len(conditions)})
    _recheck(space)
