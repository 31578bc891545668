"""The single access policy: every read or write of a patient's data asks `decide`.

The policy decides on what a target tells it (its space; for a document its
type code, category, confidentiality flags and author) and never imports the
apps that own those targets. For lists it returns a filter that the database
applies in one query (`spaces_visible_to`, `documents_visible_to`).

The rules (DESIGN.md, rule 1):
- the holder, and a minor's legal representatives, see everything but what a
  professional made invisible to them;
- a professional sees nothing unless they are the attending physician, the
  patient authorised them, they joined the care team by declaring the patient's
  consent, or they hold a live emergency access (bris de glace, SAMU) that the
  patient allows; a block beats every basis;
- a professional sees only the document types of their profession's row in the
  matrix (`acces.matrix`); masked documents only as the attending physician, as
  their author, or in an emergency unless the patient masked them from
  emergencies too; the occupational physician sees and feeds only the
  occupational-health part, which no other professional sees;
- CPAM agents, administrators and anyone else never see medical content.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import Q
from django.utils import timezone

from acces import matrix
from acces.models import AccessSettings, Block, CareRelation, EmergencyAccess, Professional
from espace_sante import labels
from espace_sante.models import Space, User

OCCUPATIONAL_CATEGORY = "occupational"


class Action(StrEnum):
    VIEW_SPACE = "view_space"
    VIEW_PROFILE = "view_profile"
    VIEW_HISTORY = "view_history"
    VIEW_NOTIFICATIONS = "view_notifications"
    EXPORT_SPACE = "export_space"
    CLOSE_SPACE = "close_space"
    REQUEST_DELETION = "request_deletion"
    MANAGE_ACCESS = "manage_access"
    VIEW_DOCUMENT = "view_document"
    ADD_DOCUMENT = "add_document"  # a professional's, of a type their profession may add
    ADD_OWN_DOCUMENT = "add_own_document"  # the patient's own, from the patient's pages
    MANAGE_DOCUMENT = "manage_document"
    ANNOUNCE_DOCUMENT = "announce_document"


class Basis(StrEnum):
    HOLDER = "holder"
    LEGAL_REPRESENTATIVE = "legal_representative"
    ATTENDING = CareRelation.Basis.ATTENDING.value
    AUTHORISED = CareRelation.Basis.AUTHORISED.value
    CARE_TEAM = CareRelation.Basis.CARE_TEAM.value
    OCCUPATIONAL = CareRelation.Basis.OCCUPATIONAL.value
    EMERGENCY = "emergency"
    SAMU = "samu"


# French labels of the bases, shared with every page and export that shows them.
BASIS_LABELS = labels.BASIS_LABELS

PATIENT_BASES = (Basis.HOLDER, Basis.LEGAL_REPRESENTATIVE)
EMERGENCY_BASES = (Basis.EMERGENCY, Basis.SAMU)
# When a professional has several bases, the strongest one is the one recorded.
_RELATION_RANK = [Basis.ATTENDING, Basis.AUTHORISED, Basis.CARE_TEAM, Basis.OCCUPATIONAL]

# What professionals may do on a space they have a basis for. Managing documents
# (masking, versions) and access, closing, exporting belong to the patient.
_PROFESSIONAL_ACTIONS = {
    Action.VIEW_SPACE,
    Action.VIEW_PROFILE,
    Action.VIEW_HISTORY,
    Action.VIEW_DOCUMENT,
    Action.ADD_DOCUMENT,
    Action.ANNOUNCE_DOCUMENT,
}
# The occupational physician has no business with the medical profile.
_OCCUPATIONAL_ACTIONS = _PROFESSIONAL_ACTIONS - {Action.VIEW_PROFILE}
# Professions that may break the glass, and the specialty of the SAMU's regulating physician.
BREAK_GLASS_PROFESSIONS = {"medecin", "sage_femme", "infirmier"}
SAMU_SPECIALTY = "medecine_urgence"
OCCUPATIONAL_SPECIALTY = "medecine_travail"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    basis: Basis | None = None
    reason: str = ""
    # For a professional: who they are, for the document rules and list filters.
    professional_id: int | None = None
    profession: str = ""
    sees_masked: bool = False

    def __bool__(self) -> bool:
        return self.allowed


DENY_NOT_OPEN = Decision(False, reason="space_not_open")
DENY_NO_BASIS = Decision(False, reason="no_basis")
DENY_ANONYMOUS = Decision(False, reason="anonymous")
DENY_BLOCKED = Decision(False, reason="blocked")
DENY_ACTION = Decision(False, reason="action_not_allowed")
DENY_HIDDEN = Decision(False, reason="document_hidden")
DENY_TYPE = Decision(False, reason="document_type_not_allowed")


def space_of(target: Any) -> Space:
    return target if isinstance(target, Space) else target.space


def decide(actor: User | None, action: Action, target: Any) -> Decision:
    """Allowed or denied, with the basis, for `actor` doing `action` on `target`.

    `target` is a space, or anything of a space that says what it is: a document
    (type_code, category, masked, invisible_to_*, author_professional_id), or a
    document about to be added (`NewDocument`).
    """
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
        return decide_on_document(decision, target, action=action)
    return decision


@dataclass(frozen=True)
class NewDocument:
    """What the policy needs to know of a document before it exists (ADD_DOCUMENT)."""

    space: Space
    type_code: str
    category: str


def _is_document(target: Any) -> bool:
    return hasattr(target, "type_code") and hasattr(target, "category")


def decide_on_document(decision: Decision, document: Any, *, action: Action) -> Decision:
    """What a document's type, flags and author add to an allowed decision on its space."""
    if decision.basis in PATIENT_BASES:
        if isinstance(document, NewDocument):
            return decision
        if document.invisible_to_patient:
            return DENY_HIDDEN
        if decision.basis == Basis.LEGAL_REPRESENTATIVE and document.invisible_to_representatives:
            return DENY_HIDDEN
        return decision
    occupational = document.category == OCCUPATIONAL_CATEGORY
    if decision.basis == Basis.OCCUPATIONAL:
        return decision if occupational else DENY_TYPE
    if isinstance(document, NewDocument):
        allowed = not occupational and matrix.allows(decision.profession, document.type_code)
        return decision if allowed else DENY_TYPE
    if document.author_professional_id == decision.professional_id:
        return decision
    if action == Action.ANNOUNCE_DOCUMENT:
        return DENY_ACTION  # only the author announces a document to the patient
    if occupational or not matrix.allows(decision.profession, document.type_code):
        return DENY_TYPE
    if document.masked and not decision.sees_masked:
        return DENY_HIDDEN
    return decision


def documents_visible_to(decision: Decision) -> Q:
    """A filter on a space's documents matching `decide_on_document`, for list pages.

    `decision` is the actor's allowed decision on the space: its basis and, for
    a professional, their profession and id say the rest, so the filter costs no query
    (the matrix is cached).
    """
    if not decision:
        return Q(pk__in=[])
    if decision.basis == Basis.HOLDER:
        return Q(invisible_to_patient=False)
    if decision.basis == Basis.LEGAL_REPRESENTATIVE:
        return Q(invisible_to_patient=False, invisible_to_representatives=False)
    if decision.basis == Basis.OCCUPATIONAL:
        return Q(category=OCCUPATIONAL_CATEGORY)
    visible = Q(type_code__in=sorted(matrix.type_codes_for(decision.profession))) & ~Q(
        category=OCCUPATIONAL_CATEGORY
    )
    if not decision.sees_masked:
        visible &= Q(masked=False)
    return visible | Q(author_professional_id=decision.professional_id)


def _decide_for_patient(actor: User, action: Action, space: Space) -> Decision:
    if space.state == Space.State.DESTROYED:
        return DENY_NOT_OPEN
    if action == Action.ANNOUNCE_DOCUMENT:
        return DENY_ACTION
    if (
        action
        in (
            Action.ADD_DOCUMENT,
            Action.ADD_OWN_DOCUMENT,
            Action.MANAGE_DOCUMENT,
            Action.MANAGE_ACCESS,
        )
        and not space.is_open
    ):
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


def professional_of(actor: User) -> Professional | None:
    try:
        return actor.professional
    except Professional.DoesNotExist:
        return None


def _decide_for_professional(actor: User, action: Action, space: Space) -> Decision:
    if not space.is_open:
        return DENY_NOT_OPEN
    professional = professional_of(actor)
    if professional is None:
        return DENY_NO_BASIS
    if Block.objects.filter(
        space=space, professional=professional, lifted_at__isnull=True
    ).exists():
        return DENY_BLOCKED
    basis = _relation_basis(space, professional) or _emergency_basis(space, professional)
    if basis is None:
        return DENY_NO_BASIS
    allowed = _OCCUPATIONAL_ACTIONS if basis == Basis.OCCUPATIONAL else _PROFESSIONAL_ACTIONS
    if action not in allowed:
        return DENY_ACTION
    sees_masked = basis == Basis.ATTENDING or (
        basis in EMERGENCY_BASES and not emergency_settings(space).masked_from_emergencies
    )
    return Decision(
        True,
        basis,
        professional_id=professional.pk,
        profession=professional.profession,
        sees_masked=sees_masked,
    )


def _relation_basis(space: Space, professional: Professional) -> Basis | None:
    bases = set(
        CareRelation.objects.filter(
            space=space, professional=professional, ended_at__isnull=True
        ).values_list("basis", flat=True)
    )
    if professional.specialty == OCCUPATIONAL_SPECIALTY:
        # The occupational physician acts as such only: never through another basis.
        return Basis.OCCUPATIONAL if Basis.OCCUPATIONAL in bases else None
    bases.discard(Basis.OCCUPATIONAL)
    return next((basis for basis in _RELATION_RANK if basis in bases), None)


def relations_in_force(space: Space) -> Q:
    """A filter on CareRelation giving the relations that open `space` to their professional
    now, as `_relation_basis` counts them, for the pages that list who has access.

    A block beats every basis: a blocked professional's relations open nothing while the
    block lasts (they come back when it is lifted). An occupational relation counts only
    for an occupational physician, and she counts through it only. (While the space is not
    open these relations open nothing either; the pages say so beside the list.)
    """
    blocked = Block.objects.filter(space=space, lifted_at__isnull=True).values("professional_id")
    occupational = Q(professional__specialty=OCCUPATIONAL_SPECIALTY)
    return (
        Q(space=space, ended_at__isnull=True)
        & ~Q(professional_id__in=blocked)
        & (
            occupational & Q(basis=Basis.OCCUPATIONAL)
            | ~occupational & ~Q(basis=Basis.OCCUPATIONAL)
        )
    )


def _emergency_basis(space: Space, professional: Professional) -> Basis | None:
    """A live emergency access, while the patient still allows its mode."""
    modes = set(
        EmergencyAccess.objects.filter(
            space=space, professional=professional, expires_at__gt=timezone.now()
        ).values_list("mode", flat=True)
    )
    if not modes:
        return None
    settings = emergency_settings(space)
    if EmergencyAccess.Mode.SAMU in modes and settings.samu_access:
        return Basis.SAMU
    if EmergencyAccess.Mode.BREAK_GLASS in modes and settings.emergency_access:
        return Basis.EMERGENCY
    return None


def emergency_settings(space: Space) -> AccessSettings:
    """The space's emergency switches (defaults when the patient never changed them)."""
    try:
        return space.access_settings
    except AccessSettings.DoesNotExist:
        return AccessSettings(space=space)


def may_open_emergency_access(professional: Professional, space: Space, mode: str) -> str:
    """Why `professional` may not open an emergency access of `mode` on `space` ("" if they may)."""
    if not space.is_open:
        return "space_not_open"
    if Block.objects.filter(
        space=space, professional=professional, lifted_at__isnull=True
    ).exists():
        return "blocked"
    settings = emergency_settings(space)
    if mode == EmergencyAccess.Mode.SAMU:
        if professional.specialty != SAMU_SPECIALTY:
            return "not_a_regulating_physician"
        return "" if settings.samu_access else "samu_access_off"
    if professional.profession not in BREAK_GLASS_PROFESSIONS:
        return "profession_may_not_break_glass"
    if professional.specialty == OCCUPATIONAL_SPECIALTY:
        return "profession_may_not_break_glass"
    return "" if settings.emergency_access else "emergency_access_off"


def emergency_modes_for(professional: Professional) -> list[str]:
    """The emergency accesses `professional` may ever open, whatever the space: what the pro
    portal offers them (the space's switches and blocks are checked when they ask)."""
    modes = []
    if professional.specialty == SAMU_SPECIALTY:
        modes.append(EmergencyAccess.Mode.SAMU)
    if (
        professional.profession in BREAK_GLASS_PROFESSIONS
        and professional.specialty != OCCUPATIONAL_SPECIALTY
    ):
        modes.append(EmergencyAccess.Mode.BREAK_GLASS)
    return modes


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
        professional = professional_of(actor)
        if professional is None:
            return Q(pk__in=[])
        open_states = [Space.State.CREATED, Space.State.ACTIVE]
        blocked = Block.objects.filter(professional=professional, lifted_at__isnull=True)
        # The bases `_relation_basis` counts for this professional, and no other: a relation
        # left from a former specialty (the directory changes it) opens nothing.
        if professional.specialty == OCCUPATIONAL_SPECIALTY:
            bases = [Basis.OCCUPATIONAL]
        else:
            bases = [basis for basis in _RELATION_RANK if basis != Basis.OCCUPATIONAL]
        return Q(
            state__in=open_states,
            care_relations__professional=professional,
            care_relations__basis__in=bases,
            care_relations__ended_at__isnull=True,
        ) & ~Q(pk__in=blocked.values("space_id"))
    return Q(pk__in=[])


def export_decision(space: Space, requester: User | None) -> Decision:
    """The decision under which the full download of `space` is built for `requester`.

    Denied when `requester` may not export the space (`decide`, EXPORT_SPACE); None is the
    system (a build the platform runs itself). Allowed, it is the same for every requester:
    while the space has legal representatives, what they may see, so that an archive never
    holds what is hidden from those who manage the space; otherwise what the holder sees.
    Every part of the archive (documents, trail, summary) is filtered by this one decision.
    """
    if requester is not None:
        allowed = decide(requester, Action.EXPORT_SPACE, space)
        if not allowed:
            return allowed
    now = timezone.now()
    representatives = space.representatives.filter(since__lte=now).filter(
        Q(until__isnull=True) | Q(until__gt=now)
    )
    if representatives.exists():
        return Decision(True, Basis.LEGAL_REPRESENTATIVE)
    return Decision(True, Basis.HOLDER)
