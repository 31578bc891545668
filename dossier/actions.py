"""The audit actions of `dossier`: documents, the medical profile and its downloads."""

from django.utils.translation import gettext_lazy as _

from espace_sante.actions import AuditAction

# Each change of the profile is traced as `profile_<part>_<added|changed|removed>`.
PROFILE_PREFIX = "profile_"
PROFILE_CHANGED_LABEL = _("Modification du profil médical")


def profile_action(part: str, change: str) -> str:
    """The code of a change to one part of the medical profile."""
    return f"{PROFILE_PREFIX}{part}_{change}"


class DossierAction(AuditAction):
    DOCUMENT_ADDED = "document_added", _("Ajout d'un document")
    DOCUMENT_MASKED = "document_masked", _("Document masqué aux professionnels")
    DOCUMENT_UNMASKED = "document_unmasked", _("Document de nouveau visible des professionnels")
    DOCUMENTS_MASKED_ALL = (
        "documents_masked_all",
        _("Tous les documents masqués aux professionnels"),
    )
    DOCUMENTS_UNMASKED_ALL = "documents_unmasked_all", _("Tous les documents de nouveau visibles")
    DOCUMENT_REVEALED_TO_REPRESENTATIVES = (
        "document_revealed_to_representatives",
        _("Document rendu visible des représentants légaux"),
    )
    DOCUMENT_ANNOUNCED = "document_announced", _("Document rendu visible du patient")
    MEDICAL_SUMMARY_DOWNLOADED = (
        "medical_summary_downloaded",
        _("Téléchargement de la synthèse du profil médical"),
    )
    EMERGENCY_CARD_DOWNLOADED = (
        "emergency_card_downloaded",
        _("Téléchargement de la carte d'urgence"),
    )
