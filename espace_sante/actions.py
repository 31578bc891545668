"""The audit trail's vocabulary: each app names its actions in an enum, with their French labels.

An app declares `class XxxAction(AuditAction)` in its own `actions.py` and registers it
from its `AppConfig.ready`; every page and export that shows an action asks `label()`.
The stored code is the member's value, so a member compares equal to the string in the
trail. An unknown code is shown as it is, so a new action is never hidden from the patient.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class AuditAction(StrEnum):
    """An action the trail records: its code, its French label and, for the lifecycle events
    a CPAM agent reads on a space, the agents' wording (`agent_label`, empty otherwise)."""

    label: str
    agent_label: str

    def __new__(cls, value: str, label: str, agent_label: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.agent_label = agent_label
        return member


class SpaceAction(AuditAction):
    """What the space core traces: sign-in, enrolment, lifecycle, notifications, export."""

    SIGN_IN_PASSWORD = "sign_in_password", _("Connexion (mot de passe)")
    SIGN_IN_SECOND_FACTOR = "sign_in_second_factor", _("Connexion (second facteur)")
    SIGN_IN_IDENTITY_PROVIDER = (
        "sign_in_identity_provider",
        _("Connexion (Pro Santé Connect ou FranceConnect)"),
    )
    FRANCECONNECT_LINKED = "franceconnect_linked", _("Identité FranceConnect liée au compte")
    SIGN_OUT = "sign_out", _("Déconnexion")
    TOTP_ENROLLED = "totp_enrolled", _("Application d'authentification enregistrée")
    SIGN_IN_RESET = (
        "sign_in_reset",
        _("Réinitialisation des moyens de connexion par un administrateur"),
    )
    ACCOUNT_CREATED = "account_created", _("Création d'un compte par un administrateur")
    EXPORT_REQUESTED = "export_requested", _("Préparation de l'archive des données")
    EXPORT_DOWNLOADED = "export_downloaded", _("Téléchargement de l'archive des données")
    DEMO_RESET = "demo_reset", _("Remise à l'étape de départ (démonstration)")
    # The lifecycle, which agents read on a space's admin page in their own words.
    SPACE_ANNOUNCED = (
        "space_announced",
        _("Annonce de la création de l'espace"),
        _("Annonce de la création de l'espace"),
    )
    SPACE_CREATED = (
        "space_created",
        _("Création de l'espace"),
        _("Création de l'espace (fin du délai d'opposition)"),
    )
    SPACE_OPPOSED = (
        "space_opposed",
        _("Opposition à la création de l'espace"),
        _("Opposition à la création de l'espace"),
    )
    SPACE_ACTIVATED = "space_activated", _("Activation de l'espace"), _("Activation de l'espace")
    SPACE_CLOSED = "space_closed", _("Clôture de l'espace"), _("Clôture de l'espace")
    SPACE_REACTIVATED = (
        "space_reactivated",
        _("Réactivation de l'espace"),
        _("Réactivation de l'espace"),
    )
    SPACE_SUSPENDED = (
        "space_suspended",
        _("Suspension de l'espace"),
        _("Suspension (suspicion de fraude)"),
    )
    SPACE_SUSPENSION_LIFTED = (
        "space_suspension_lifted",
        _("Fin de la suspension"),
        _("Levée de la suspension"),
    )
    SPACE_HANDED_OVER = (
        "space_handed_over",
        _("Remise de l'espace au titulaire majeur"),
        _("Remise de l'espace au titulaire devenu majeur"),
    )
    SPACE_DESTROYED = (
        "space_destroyed",
        _("Destruction de l'espace"),
        _("Destruction de l'espace"),
    )
    SPACE_CONTENT_DESTROYED = (
        "space_content_destroyed",
        _("Destruction du contenu de l'espace"),
        _("Destruction du contenu (volet santé au travail conservé)"),
    )
    DELETION_REQUESTED = (
        "deletion_requested",
        _("Demande de suppression définitive"),
        _("Demande de suppression définitive"),
    )
    DEATH_RECORDED = (
        "death_recorded",
        _("Enregistrement du décès"),
        _("Enregistrement du décès du titulaire"),
    )
    CODE_ISSUED = (
        "code_issued",
        _("Envoi d'un code provisoire"),
        _("Émission d'un code provisoire"),
    )
    CODE_REQUESTED = (
        "code_requested",
        _("Demande d'un nouveau code provisoire"),
        _("Demande d'un nouveau code provisoire"),
    )
    CODE_CHECKED = "code_checked", _("Code provisoire refusé")
    LEGAL_REPRESENTATIVE_ADDED = (
        "legal_representative_added",
        _("Ajout d'un représentant légal"),
        _("Ajout d'un représentant légal"),
    )
    CONTACT_CHANGED = (
        "contact_changed",
        _("Modification des coordonnées par un agent CPAM"),
        _("Modification des coordonnées par un agent"),
    )
    ACCOUNT_REFUSED = (
        "account_refused",
        _("Ouverture du compte refusée (adresse e-mail non confirmée)"),
        _("Ouverture du compte refusée (adresse e-mail non confirmée)"),
    )


# --- The registry ----------------------------------------------------------------------------

_actions: dict[str, AuditAction] = {}
# Families of codes built at run time (`profile_<part>_<change>`), labelled by their prefix.
_families: dict[str, str] = {}


def register(enum: type[AuditAction], *, families: dict[str, str] | None = None) -> None:
    """Make an app's actions known to the trail; a code already taken by another app is an error."""
    for member in enum:
        taken = _actions.get(member.value)
        if taken is not None and taken is not member:
            raise ImproperlyConfigured(
                f"audit action {member.value!r} of {enum.__name__} is already "
                f"{type(taken).__name__}.{taken.name}"
            )
        _actions[member.value] = member
    _families.update(families or {})


def lookup(value: str) -> AuditAction | None:
    """The registered member for a stored code, or None."""
    return _actions.get(value)


def label(value: str) -> str:
    """The French label of a stored code; the code itself when no app declares it."""
    member = _actions.get(value)
    if member is not None:
        return str(member.label)
    for prefix, family_label in _families.items():
        if value.startswith(prefix):
            return str(family_label)
    return value


def agent_actions() -> list[AuditAction]:
    """The lifecycle actions a CPAM agent may read on a space (they have an agent's wording)."""
    return [member for member in _actions.values() if member.agent_label]


def registered() -> dict[str, AuditAction]:
    return dict(_actions)
