"""The single access policy: every read or write of a patient's data asks `decide`.

The policy decides on what a target tells it (its space, and later its kind,
its document-type code, its confidentiality flags, its author) and never
imports the apps that own those targets. For lists it returns a filter that
the database applies in one query (`spaces_visible_to`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import Q
from django.utils import timezone

from acces.models import CareRelation
from espace_sante import labels
from espace_sante.models import Space, User


class Action(StrEnum):
    VIEW_SPACE = "view_space"
    VIEW_HISTORY = "view_history"
    VIEW_NOTIFICATIONS = "view_notifications"
    EXPORT_SPACE = "export_space"
    CLOSE_SPACE = "close_space"
    REQUEST_DELETION = "request_deletion"
    VIEW_DOCUMENT = "view_document"
    ADD_DOCUMENT = "add_document"
    MANAGE_DOCUMENT = "manage_document"


class Basis(StrEnum):
    HOLDER = "holder"
    LEGAL_REPRESENTATIVE = "legal_representative"
    ATTENDING = CareRelation.Basis.ATTENDING.value
    AUTHORISED = CareRelation.Basis.AUTHORISED.value
    CARE_TEAM = CareRelation.Basis.CARE_TEAM.value


# French labels of the bases, shared with every page and export that shows them.
BASIS_LABELS = labels.BASIS_LABELS

# What each professional basis allows, until the document matrix arrives.
_PROFESSIONAL_ACTIONS = {Action.VIEW_SPACE, Action.VIEW_DOCUMENT}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    basis: Basis | None = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


DENY_NOT_OPEN = Decision(False, reason="space_not_open")
DENY_NO_BASIS = Decision(False, reason="no_basis")
DENY_ANONYMOUS = Decision(False, reason="anonymous")


def space_of(target: Any) -> Space:
    return target if isinstance(target, Space) else target.space


def decide(actor: User | None, action: Action, target: Any) -> Decision:
    """Allowed or denied, with the basis, for `actor` doing `action` on `target`."""
    if actor is None or not actor.is_authenticated:
        return DENY_ANONYMOUS
    space = space_of(target)
    if actor.kind == User.Kind.PATIENT:
        decision = _decide_for_patient(actor, action, space)
    elif actor.kind == User.Kind.PROFESSIONAL:
        decision = _decide_for_professional(actor, action, space)
    else:
        # CPAM agents, administrators, the State, insurers, employers: never medical content.
        return DENY_NO_BASIS
    if decision and _is_document(target):
        return _decide_on_document(actor, decision, target)
    return decision


def _is_document(target: Any) -> bool:
    return hasattr(target, "type_code") and hasattr(target, "masked")


DENY_HIDDEN = Decision(False, reason="document_hidden")


def _decide_on_document(actor: User, decision: Decision, document: Any) -> Decision:
    """What the document's own flags and author add to the decision on its space."""
    if decision.basis in (Basis.HOLDER, Basis.LEGAL_REPRESENTATIVE):
        if document.invisible_to_patient:
            return DENY_HIDDEN
        if decision.basis == Basis.LEGAL_REPRESENTATIVE and document.invisible_to_representatives:
            return DENY_HIDDEN
        return decision
    if document.masked and decision.basis != Basis.ATTENDING:
        professional = getattr(actor, "professional", None)
        if professional is None or document.author_professional_id != professional.pk:
            return DENY_HIDDEN
    return decision


def documents_visible_to(actor: User, decision: Decision) -> Q:
    """A filter on a space's documents matching `_decide_on_document`, for list pages.

    `decision` is the actor's allowed decision on the space (its basis matters).
    """
    if not decision:
        return Q(pk__in=[])
    if decision.basis == Basis.HOLDER:
        return Q(invisible_to_patient=False)
    if decision.basis == Basis.LEGAL_REPRESENTATIVE:
        return Q(invisible_to_patient=False, invisible_to_representatives=False)
    if decision.basis == Basis.ATTENDING:
        return Q()
    return Q(masked=False) | Q(author_professional__user=actor)


def _decide_for_patient(actor: User, action: Action, space: Space) -> Decision:
    if space.state == Space.State.DESTROYED:
        return DENY_NOT_OPEN
    if action in (Action.ADD_DOCUMENT, Action.MANAGE_DOCUMENT) and not space.is_open:
        return DENY_NOT_OPEN
    if space.holder.user_id == actor.pk:
        return Decision(True, Basis.HOLDER)
    now = timezone.now()
    represents = space.representatives.filter(user=actor, since__lte=now).filter(
        Q(until__isnull=True) | Q(until__gt=now)
    )
    if represents.exists():
        return Decision(True, Basis.LEGAL_REPRESENTATIVE)
    return DENY_NO_BASIS


def _decide_for_professional(actor: User, action: Action, space: Space) -> Decision:
    if not space.is_open:
        return DENY_NOT_OPEN
    if action not in _PROFESSIONAL_ACTIONS:
        return DENY_NO_BASIS
    relation = (
        CareRelation.objects.filter(space=space, professional__user=actor, ended_at__isnull=True)
        .order_by("basis")
        .values_list("basis", flat=True)
        .first()
    )
    if relation is None:
        return DENY_NO_BASIS
    return Decision(True, Basis(relation))


def spaces_visible_to(actor: User) -> Q:
    """A filter on Space giving every space `actor` may view, for list pages."""
    if actor.kind == User.Kind.PATIENT:
        now = timezone.now()
        return ~Q(state=Space.State.DESTROYED) & (
            Q(holder__user=actor)
            | Q(
                representatives__user=actor,
                representatives__since__lte=now,
            )
            & (Q(representatives__until__isnull=True) | Q(representatives__until__gt=now))
        )
    if actor.kind == User.Kind.PROFESSIONAL:
        return Q(
            state__in=[Space.State.CREATED, Space.State.ACTIVE],
            care_relations__professional__user=actor,
            care_relations__ended_at__isnull=True,
        )
    return Q(pk__in=[])
