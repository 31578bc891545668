"""The single access policy: every read or write of a patient's data asks `decide`.

It decides for a principal (`acces.principal`): a person, at the assurance level
their sign-in reached, or an app acting for a person within the scopes they
granted, never beyond what the person may do. It decides on what a target tells
it (`acces.targets`: its space, its part; for a document its type code, category,
confidentiality flags and author) and never imports the apps that own those
targets. For lists it returns a filter that the database applies in one query
(`spaces_visible_to`, `documents_visible_to`).

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
- a professional declares consent only for a space found by an exact search, and
  opens an emergency access only in a mode their profession allows and the
  patient left on; a patient adds only the document types a patient may add;
- messages (`decide_on_conversation`): the holder and a minor's legal representatives
  read the space's conversations; a professional reads only those they take part in;
  a professional (or an organisation's member) with a basis starts one, unless blocked
  or refused as a sender; the patient writes only to professionals who wrote to them
  (or sends a prescription to a pharmacy that accepts them), and replies only while the
  exchange is not ended and the last professional message allows a reply;
- CPAM agents, administrators and anyone else never see medical content;
- each action needs a sign-in of some assurance (`ACTION_ASSURANCE`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acces import matrix
from acces.models import AccessSettings, Block, CareRelation, EmergencyAccess, Professional
from acces.principal import Principal, principal_of
from acces.targets import (
    CONVERSATION_PART,
    DOCUMENT_PART,
    ConsentDeclaration,
    ConversationTarget,
    EmergencyRequest,
    NewDocument,
    part_of,
)
from espace_sante import labels
from espace_sante.assurance import AssuranceLevel, required_level
from espace_sante.models import LegalRepresentative, Space, User

__all__ = [
    "ConsentDeclaration",
    "ConversationTarget",
    "EmergencyRequest",
    "NewDocument",
    "Principal",
]

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
    OPEN_EMERGENCY = "open_emergency"  # on an `EmergencyRequest`: break the glass, the SAMU's
    DECLARE_CONSENT = "declare_consent"  # on a `ConsentDeclaration`: join the care team
    # Messaging, on a `ConversationTarget` (a space's messages as a whole for its patient).
    READ_MESSAGES = "read_messages"
    START_CONVERSATION = "start_conversation"
    REPLY = "reply_message"
    FILE_ATTACHMENT = "file_attachment"  # a NewDocument: a message's attachment into the DMP
    # Agenda. The patient's: read the agenda (appointments, reminders, history of care) and
    # change it (appointments, reminder choices, the feed); a professional's: add an
    # appointment, read the care events the matrix lets their profession see.
    VIEW_AGENDA = "view_agenda"
    MANAGE_AGENDA = "manage_agenda"
    ADD_APPOINTMENT = "add_appointment"
    VIEW_CARE_HISTORY = "view_care_history"


class Basis(StrEnum):
    HOLDER = "holder"
    LEGAL_REPRESENTATIVE = "legal_representative"
    ATTENDING = CareRelation.Basis.ATTENDING.value
    AUTHORISED = CareRelation.Basis.AUTHORISED.value
    CARE_TEAM = CareRelation.Basis.CARE_TEAM.value
    OCCUPATIONAL = CareRelation.Basis.OCCUPATIONAL.value
    EMERGENCY = "emergency"
    SAMU = "samu"
    # A professional reading or writing in a conversation they take part in, whatever
    # their access to the DMP (messaging is not DMP access).
    CORRESPONDENT = "correspondent"


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
    Action.FILE_ATTACHMENT,
    Action.ADD_APPOINTMENT,
    Action.VIEW_CARE_HISTORY,
}
# The occupational physician has no business with the medical profile, the patient's
# agenda or their history of care.
_OCCUPATIONAL_ACTIONS = _PROFESSIONAL_ACTIONS - {
    Action.VIEW_PROFILE,
    Action.ADD_APPOINTMENT,
    Action.VIEW_CARE_HISTORY,
}
_MESSAGING_ACTIONS = {Action.READ_MESSAGES, Action.START_CONVERSATION, Action.REPLY}
# The bases on which a professional may write first to a patient.
_MESSAGING_BASES = {Basis.ATTENDING, Basis.AUTHORISED, Basis.CARE_TEAM, Basis.EMERGENCY, Basis.SAMU}
# Professions that may break the glass, and the specialty of the SAMU's regulating physician.
BREAK_GLASS_PROFESSIONS = {"medecin", "sage_femme", "infirmier"}
SAMU_SPECIALTY = "medecine_urgence"
OCCUPATIONAL_SPECIALTY = "medecine_travail"


# What an app or a professional's software may do for the person, scope by scope (SMART
# on FHIR names). A placeholder the catalogue fills: an action no granted scope covers is
# refused, and never beyond what the person may do themself.
APP_SCOPES: dict[str, frozenset[Action]] = {
    "patient/Patient.read": frozenset({Action.VIEW_SPACE}),
    "patient/DocumentReference.read": frozenset({Action.VIEW_SPACE, Action.VIEW_DOCUMENT}),
    "patient/DocumentReference.write": frozenset({Action.VIEW_SPACE, Action.ADD_OWN_DOCUMENT}),
    "patient/AllergyIntolerance.read": frozenset({Action.VIEW_SPACE, Action.VIEW_PROFILE}),
    "patient/Immunization.read": frozenset({Action.VIEW_SPACE, Action.VIEW_PROFILE}),
    "patient/Observation.read": frozenset({Action.VIEW_SPACE, Action.VIEW_PROFILE}),
    # The profile's entry forms (measurements among them) ask MANAGE_DOCUMENT.
    "patient/Observation.write": frozenset({Action.VIEW_SPACE, Action.MANAGE_DOCUMENT}),
    "patient/Appointment.read": frozenset({Action.VIEW_SPACE, Action.VIEW_AGENDA}),
    "patient/Appointment.write": frozenset({Action.VIEW_SPACE, Action.MANAGE_AGENDA}),
    "user/DocumentReference.read": frozenset({Action.VIEW_SPACE, Action.VIEW_DOCUMENT}),
    "user/DocumentReference.write": frozenset({Action.VIEW_SPACE, Action.ADD_DOCUMENT}),
    # A professional's software declaring the patient's consent, or breaking the glass.
    "user/Consent.write": frozenset({Action.DECLARE_CONSENT, Action.OPEN_EMERGENCY}),
}

# The sign-in each action needs: everything on a space needs the second factor; opening
# an emergency access and declaring consent the strong one (TOTP, Pro Santé Connect).
# Whatever the action, a professional or staff member needs the level of their kind
# (`espace_sante.assurance.required_level`).
ACTION_ASSURANCE: dict[Action, AssuranceLevel] = {
    **dict.fromkeys(Action, AssuranceLevel.EMAIL_CODE),
    Action.OPEN_EMERGENCY: AssuranceLevel.TOTP,
    Action.DECLARE_CONSENT: AssuranceLevel.TOTP,
}


def required_assurance(user: User, action: Action) -> AssuranceLevel:
    return max(ACTION_ASSURANCE.get(action, AssuranceLevel.EMAIL_CODE), required_level(user))


# Why a refusal, in the words shown to whoever was refused (the reason code goes to the trail).
REFUSALS = {
    "space_not_open": _("Ce dossier n'est pas accessible."),
    "blocked": _("Le patient ne vous a pas autorisé à accéder à son dossier."),
    "not_searched": _("Recherchez d'abord le patient."),
    "emergency_access_off": _("Le patient n'autorise pas l'accès en urgence à son dossier."),
    "samu_access_off": _("Le patient n'autorise pas l'accès du SAMU à son dossier."),
    "not_a_regulating_physician": _("Cet accès est réservé aux médecins régulateurs du SAMU."),
    "profession_may_not_break_glass": _("Votre profession ne permet pas l'accès en urgence."),
    "type_reserved_to_professionals": _(
        "Ce type de document est réservé aux professionnels de santé."
    ),
    "assurance_too_low": _(
        "Cette action demande une connexion plus sûre : confirmez votre connexion avec votre "
        "second facteur (code reçu par e-mail, application d'authentification) ou Pro Santé "
        "Connect."
    ),
    "scope_not_granted": _("Cette application n'a pas reçu l'autorisation de faire cela."),
    "sender_refused": _("Le patient a refusé de recevoir vos messages."),
    "not_a_participant": _("Vous ne participez pas à cette conversation."),
    "no_basis_to_write": _(
        "Vous pouvez écrire à un patient si vous êtes son médecin traitant, s'il vous a "
        "autorisé, si vous faites partie de son équipe de soins ou en cas d'urgence."
    ),
    "patient_writes_to_writers": _(
        "Vous pouvez écrire seulement à un professionnel de santé qui vous a déjà écrit."
    ),
    "conversation_ended": _(
        "Le professionnel a mis fin à vos échanges : vous ne pouvez plus répondre dans "
        "cette conversation."
    ),
    "reply_not_allowed": _("Ce message n'attend pas de réponse."),
    "conversation_imported": _(
        "Cette conversation est reprise de votre ancien dossier : ses correspondants n'y sont "
        "connus que par leur nom, sans messagerie dans ce service, vous ne pouvez donc pas y "
        "répondre."
    ),
    "reply_all_not_allowed": _("Vous pouvez répondre seulement à l'auteur de ce message."),
    "default": _("Ce dossier n'est pas accessible."),
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    basis: Basis | None = None
    reason: str = ""
    # For a professional: who they are, for the document rules and list filters.
    professional_id: int | None = None
    profession: str = ""
    sees_masked: bool = False
    # The app or software that acted for the person, when one did (its client id).
    app_id: str = ""

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def message(self) -> str:
        """The refusal in French, for the person refused ("" when allowed)."""
        if self.allowed:
            return ""
        return str(REFUSALS.get(self.reason, REFUSALS["default"]))


DENY_NOT_OPEN = Decision(False, reason="space_not_open")
DENY_NO_BASIS = Decision(False, reason="no_basis")
DENY_ANONYMOUS = Decision(False, reason="anonymous")
DENY_BLOCKED = Decision(False, reason="blocked")
DENY_ACTION = Decision(False, reason="action_not_allowed")
DENY_HIDDEN = Decision(False, reason="document_hidden")
DENY_TYPE = Decision(False, reason="document_type_not_allowed")
DENY_RESERVED_TYPE = Decision(False, reason="type_reserved_to_professionals")
DENY_NOT_SEARCHED = Decision(False, reason="not_searched")
DENY_ASSURANCE = Decision(False, reason="assurance_too_low")
DENY_TARGET = Decision(False, reason="unknown_target")


def space_of(target: Any) -> Space:
    return target if isinstance(target, Space) else target.space


def decide(actor: Principal | User | None, action: Action, target: Any) -> Decision:
    """Allowed or denied, with the basis, for `actor` doing `action` on `target`.

    `actor` is a `Principal` (a bare User is taken as a principal acting themself).
    `target` is a space, or anything of a space that tells its part (`acces.targets`):
    a document, a document about to be added (`NewDocument`), an emergency access or
    a consent about to be declared (`EmergencyRequest`, `ConsentDeclaration`).
    """
    principal = principal_of(actor)
    user = principal.user
    if user is None or not user.is_authenticated:
        return DENY_ANONYMOUS
    part = part_of(target)
    if not part:
        return DENY_TARGET  # a target must say what it is: nothing is decided on a guess
    if user.kind == User.Kind.PATIENT:
        decision = _decide_for_patient(user, action, space_of(target))
    elif user.kind == User.Kind.PROFESSIONAL:
        decision = _decide_for_professional(user, action, space_of(target), target)
    else:
        # CPAM agents, administrators, the State, insurers, employers: never medical content.
        decision = DENY_NO_BASIS
    if decision and part == DOCUMENT_PART:
        decision = decide_on_document(decision, target, action=action)
    if decision and action in _MESSAGING_ACTIONS and decision.basis in PATIENT_BASES:
        decision = decide_on_conversation(decision, target, action=action)
    if decision and principal.assurance < required_assurance(user, action):
        # The person may, but their sign-in did not prove it strongly enough for this.
        decision = replace(DENY_ASSURANCE, basis=decision.basis)
    if principal.is_app:
        decision = _within_scopes(principal, action, decision, target)
    return decision


def _within_scopes(
    principal: Principal, action: Action, decision: Decision, target: Any = None
) -> Decision:
    """An app does what the person may do, and of that only what a granted scope covers."""
    decision = replace(decision, app_id=principal.app_id)
    if not decision:
        return decision
    masked = part_of(target) == DOCUMENT_PART and getattr(target, "masked", False)
    if masked and not principal.shows_masked:
        # Masked from professionals: shown to an app only if the patient said so.
        return replace(DENY_HIDDEN, basis=decision.basis, app_id=principal.app_id)
    if any(_scope_covers(scope, action, target) for scope in principal.scopes):
        return decision
    return replace(decision, allowed=False, reason="scope_not_granted", sees_masked=False)


def _scope_covers(scope: str, action: Action, target: Any) -> bool:
    """Whether `scope` covers `action` on `target`. A target naming the FHIR resource asked
    (`fhir_resource`, the catalogue's API) is covered by that resource's scopes only: the
    vaccinations and the measurements are both VIEW_PROFILE. A scope limited to a category
    (`...DocumentReference.read?category=biology`) covers that category's documents only,
    and the space as a whole (to list them)."""
    base, _sep, query = scope.partition("?")
    if action not in APP_SCOPES.get(base, ()):
        return False
    resource = getattr(target, "fhir_resource", "")
    if resource and base.partition("/")[2].rpartition(".")[0] != resource:
        return False
    if query.startswith("category="):
        category = getattr(target, "category", None)
        return category is None or category == query.removeprefix("category=")
    return True


def decide_on_document(decision: Decision, document: Any, *, action: Action) -> Decision:
    """What a document's type, flags and author add to an allowed decision on its space."""
    if decision.basis in PATIENT_BASES:
        if isinstance(document, NewDocument):
            return decision if document.patient_may_add else DENY_RESERVED_TYPE
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


def types_addable_under(decision: Decision) -> Q:
    """A filter on document types matching `decide_on_document` for a `NewDocument`: the
    types a reader with `decision` on a space may add (the choices of an upload form)."""
    if not decision:
        return Q(pk__in=[])
    if decision.basis in PATIENT_BASES:
        return Q(patient_may_add=True)
    if decision.basis == Basis.OCCUPATIONAL:
        return Q(category=OCCUPATIONAL_CATEGORY)
    return Q(code__in=sorted(matrix.type_codes_for(decision.profession))) & ~Q(
        category=OCCUPATIONAL_CATEGORY
    )


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


def documents_visible_to_app(principal: Principal, decision: Decision) -> Q:
    """`documents_visible_to` for an app acting for the person (`principal.is_app`): what
    the person sees, masked documents only if the patient let the app see them, and only
    the categories its read scopes cover. The same answer as `decide` on each document
    (`_within_scopes`), as a filter for the API's paged searches."""
    visible = documents_visible_to(decision)
    if not decision or not principal.is_app:
        return visible
    if not principal.shows_masked:
        visible &= Q(masked=False)
    categories: set[str] = set()
    for scope in principal.scopes:
        base, _sep, query = scope.partition("?")
        if Action.VIEW_DOCUMENT not in APP_SCOPES.get(base, ()):
            continue
        if not query.startswith("category="):
            return visible
        categories.add(query.removeprefix("category="))
    return visible & Q(category__in=sorted(categories))


def _decide_for_patient(actor: User, action: Action, space: Space) -> Decision:
    if space.state == Space.State.DESTROYED:
        return DENY_NOT_OPEN
    if action in (
        Action.ANNOUNCE_DOCUMENT,
        Action.OPEN_EMERGENCY,
        Action.DECLARE_CONSENT,
        Action.FILE_ATTACHMENT,
        Action.ADD_APPOINTMENT,
    ):
        return DENY_ACTION
    if (
        action
        in (
            Action.ADD_DOCUMENT,
            Action.ADD_OWN_DOCUMENT,
            Action.MANAGE_DOCUMENT,
            Action.MANAGE_ACCESS,
            Action.START_CONVERSATION,
            Action.REPLY,
            Action.MANAGE_AGENDA,
        )
        and not space.is_open
    ):
        return DENY_NOT_OPEN
    if space.holder.user_id == actor.pk:
        return Decision(True, Basis.HOLDER)
    if space.representatives.current().filter(user=actor).exists():
        return Decision(True, Basis.LEGAL_REPRESENTATIVE)
    return DENY_NO_BASIS


def professional_of(actor: User) -> Professional | None:
    try:
        return actor.professional
    except Professional.DoesNotExist:
        return None


def _decide_for_professional(actor: User, action: Action, space: Space, target: Any) -> Decision:
    professional = professional_of(actor)
    if action == Action.DECLARE_CONSENT:
        if professional is None or not isinstance(target, ConsentDeclaration):
            return DENY_ACTION
        return _decide_consent(professional, space, target)
    if not space.is_open:
        return DENY_NOT_OPEN
    if professional is None:
        return DENY_NO_BASIS
    if action in _MESSAGING_ACTIONS:
        return _decide_messaging(professional, action, space, target)
    if _blocked(space, professional):
        return DENY_BLOCKED
    if action == Action.OPEN_EMERGENCY:
        if not isinstance(target, EmergencyRequest):
            return DENY_ACTION
        return _decide_emergency(professional, space, target.mode)
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


# The reply modes (`messagerie.models.Message.ReplyMode`) a patient may answer under.
REPLY_MODE_REPLY = "reply"
REPLY_MODE_REPLY_ALL = "reply_all"


def decide_on_conversation(decision: Decision, target: Any, *, action: Action) -> Decision:
    """What a conversation adds to a patient's (holder's or representative's) decision.

    Reading: every conversation of the space. Writing first: only to professionals who
    wrote to the patient, or a prescription to a pharmacy that accepts them. Replying:
    in a conversation not ended, whose last professional message allows it.
    """
    if action == Action.READ_MESSAGES:
        return decision
    if not isinstance(target, ConversationTarget):
        return DENY_TARGET
    if action == Action.START_CONVERSATION:
        if target.prescription_accepted:
            return decision
        writes_to_writers = target.professional_ids and target.professional_ids <= (
            target.writer_ids
        )
        return (
            decision if writes_to_writers else Decision(False, reason="patient_writes_to_writers")
        )
    # REPLY
    if target.imported:
        return Decision(False, reason="conversation_imported")
    if not target.writer_ids:
        return Decision(False, reason="patient_writes_to_writers")
    if target.ended:
        return Decision(False, reason="conversation_ended")
    if target.reply_mode not in (REPLY_MODE_REPLY, REPLY_MODE_REPLY_ALL):
        return Decision(False, reason="reply_not_allowed")
    if target.reply_to_all and target.reply_mode != REPLY_MODE_REPLY_ALL:
        return Decision(False, reason="reply_all_not_allowed")
    return decision


def _decide_messaging(
    professional: Professional, action: Action, space: Space, target: Any
) -> Decision:
    """A professional's messaging on an open space (`action` in _MESSAGING_ACTIONS).

    Reading a conversation needs only to take part in it: what they wrote and received is
    their correspondence, even if the patient blocked their access to the DMP. Writing
    needs not to be blocked nor refused as a sender; writing first needs a basis
    (attending, authorised, care team, emergency); writing again, to take part.
    """
    if not isinstance(target, ConversationTarget):
        # A space's messages as a whole are the patient's: a professional reads a conversation.
        # A blocked professional is told so, as on every other page of the space.
        if _blocked(space, professional):
            return DENY_BLOCKED
        return DENY_TARGET if part_of(target) != CONVERSATION_PART else DENY_ACTION
    if action == Action.START_CONVERSATION:
        if _blocked(space, professional):
            return DENY_BLOCKED
        if professional.pk in target.refused_professional_ids:
            return Decision(False, reason="sender_refused")
        if professional.specialty == OCCUPATIONAL_SPECIALTY:
            return Decision(False, reason="no_basis_to_write")
        basis = _relation_basis(space, professional) or _emergency_basis(space, professional)
        if basis not in _MESSAGING_BASES:
            return Decision(False, reason="no_basis_to_write")
        return _as(professional, basis)
    if professional.pk not in target.professional_ids:
        return Decision(False, reason="not_a_participant")
    if action == Action.REPLY:
        if _blocked(space, professional):
            return DENY_BLOCKED
        if professional.pk in target.refused_professional_ids:
            return Decision(False, reason="sender_refused")
    return _as(professional, Basis.CORRESPONDENT)


def _blocked(space: Space, professional: Professional) -> bool:
    return Block.objects.active().filter(space=space, professional=professional).exists()


def _as(professional: Professional, basis: Basis) -> Decision:
    return Decision(
        True, basis, professional_id=professional.pk, profession=professional.profession
    )


def _decide_consent(
    professional: Professional, space: Space, declaration: ConsentDeclaration
) -> Decision:
    """Declaring that the patient consented: only for a space found by an exact search,
    open, and whose patient did not block the professional. They join as care team (the
    occupational physician as such, for the occupational-health part only)."""
    if not declaration.found_by_search:
        return DENY_NOT_SEARCHED
    if not space.is_open:
        return DENY_NOT_OPEN
    if _blocked(space, professional):
        return DENY_BLOCKED
    occupational = professional.specialty == OCCUPATIONAL_SPECIALTY
    return _as(professional, Basis.OCCUPATIONAL if occupational else Basis.CARE_TEAM)


def _decide_emergency(professional: Professional, space: Space, mode: str) -> Decision:
    """Opening an emergency access of `mode` (the space is open, no block: checked before)."""
    settings = emergency_settings(space)
    if mode == EmergencyAccess.Mode.SAMU:
        if professional.specialty != SAMU_SPECIALTY:
            return Decision(False, reason="not_a_regulating_physician")
        if not settings.samu_access:
            return Decision(False, reason="samu_access_off")
        return _as(professional, Basis.SAMU)
    if EmergencyAccess.Mode.BREAK_GLASS not in emergency_modes_for(professional):
        return Decision(False, reason="profession_may_not_break_glass")
    if not settings.emergency_access:
        return Decision(False, reason="emergency_access_off")
    return _as(professional, Basis.EMERGENCY)


def _relation_basis(space: Space, professional: Professional) -> Basis | None:
    bases = set(
        CareRelation.objects.live()
        .filter(space=space, professional=professional)
        .values_list("basis", flat=True)
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
    blocked = Block.objects.active().filter(space=space).values("professional_id")
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


def emergency_modes_for(professional: Professional) -> list[str]:
    """The emergency accesses `professional` may ever open, whatever the space: what the pro
    portal offers them (the space's switches and blocks are decided when they ask,
    `Action.OPEN_EMERGENCY`)."""
    modes = []
    if professional.specialty == SAMU_SPECIALTY:
        modes.append(EmergencyAccess.Mode.SAMU)
    if (
        professional.profession in BREAK_GLASS_PROFESSIONS
        and professional.specialty != OCCUPATIONAL_SPECIALTY
    ):
        modes.append(EmergencyAccess.Mode.BREAK_GLASS)
    return modes


def spaces_visible_to(actor: Principal | User) -> Q:
    """A filter on Space giving every space `actor` may view, for list pages."""
    principal = principal_of(actor)
    actor = principal.user
    nothing = Q(pk__in=[])
    if actor is None or not decide_without_space(principal, Action.VIEW_SPACE):
        return nothing
    if actor.kind == User.Kind.PATIENT:
        represented = LegalRepresentative.objects.current().filter(user=actor)
        # One `IN` over a UNION, not "holder is the actor OR represented": the OR across the
        # holder's join made PostgreSQL read every space (0.4-1 s with 100,000 spaces, on
        # every patient page through the navigation's entry; bench/http.py).
        own = Space.objects.filter(holder__user=actor).values("pk")
        return ~Q(state=Space.State.DESTROYED) & Q(
            pk__in=own.union(represented.values("space_id"), all=True)
        )
    if actor.kind == User.Kind.PROFESSIONAL:
        professional = professional_of(actor)
        if professional is None:
            return Q(pk__in=[])
        open_states = [Space.State.CREATED, Space.State.ACTIVE]
        blocked = Block.objects.active().filter(professional=professional)
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
    if space.representatives.current(now).exists():
        return Decision(True, Basis.LEGAL_REPRESENTATIVE)
    return Decision(True, Basis.HOLDER)


def spaces_open_in_emergency_to(actor: Principal | User) -> Q:
    """A filter on Space: the open spaces `actor` holds a live emergency access to, while
    the patient allows its mode and has not blocked them, as `_emergency_basis` counts it
    (`spaces_visible_to` lists relations only)."""
    principal = principal_of(actor)
    user = principal.user
    if user is None or not decide_without_space(principal, Action.VIEW_SPACE):
        return Q(pk__in=[])
    defaults = Q(space__access_settings__isnull=True)
    emergency = (
        EmergencyAccess.objects.filter(professional__user=user, expires_at__gt=timezone.now())
        .filter(
            Q(mode=EmergencyAccess.Mode.BREAK_GLASS)
            & (defaults | Q(space__access_settings__emergency_access=True))
            | Q(mode=EmergencyAccess.Mode.SAMU)
            & (defaults | Q(space__access_settings__samu_access=True))
        )
        .values("space_id")
    )
    blocked = Block.objects.active().filter(professional__user=user).values("space_id")
    return Q(pk__in=emergency, state__in=[Space.State.CREATED, Space.State.ACTIVE]) & ~Q(
        pk__in=blocked
    )


def decide_without_space(principal: Principal, action: Action) -> bool:
    """What holds for `action` whatever the space: the sign-in's level, the app's scopes."""
    user = principal.user
    if user is None or not user.is_authenticated:
        return False
    if principal.assurance < required_assurance(user, action):
        return False
    return not principal.is_app or any(
        action in APP_SCOPES.get(scope, ()) for scope in principal.scopes
    )
