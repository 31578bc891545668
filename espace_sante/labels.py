"""French labels of the codes the audit trail stores, for every page and export that shows them.

An unknown code is shown as it is, so a new action is never hidden from the patient.
"""

from django.utils.translation import gettext_lazy as _

ROLE_LABELS = {
    "patient": _("Patient"),
    "professional": _("Professionnel de santé"),
    "agent": _("Agent CPAM"),
    "admin": _("Administrateur technique"),
    "system": _("Système"),
    "anonymous": _("Non connecté"),
}

BASIS_LABELS = {
    "holder": _("Titulaire"),
    "legal_representative": _("Représentant légal"),
    "attending": _("Médecin traitant"),
    "authorised": _("Autorisation du patient"),
    "care_team": _("Équipe de soins"),
    "occupational": _("Médecine du travail"),
    "emergency": _("Accès en urgence (bris de glace)"),
    "samu": _("Régulation du SAMU"),
}

OUTCOME_LABELS = {"allowed": _("autorisé"), "denied": _("refusé")}

ACTION_LABELS = {
    "view_space": _("Consultation de l'espace"),
    "view_history": _("Consultation de l'historique"),
    "view_notifications": _("Consultation des notifications"),
    "export_space": _("Téléchargement des données"),
    "export_requested": _("Préparation de l'archive des données"),
    "export_downloaded": _("Téléchargement de l'archive des données"),
    "close_space": _("Clôture de l'espace"),
    "request_deletion": _("Demande de suppression définitive"),
    "sign_in_password": _("Connexion (mot de passe)"),
    "sign_in_second_factor": _("Connexion (second facteur)"),
    "sign_out": _("Déconnexion"),
    "totp_enrolled": _("Application d'authentification enregistrée"),
    "sign_in_reset": _("Réinitialisation des moyens de connexion par un administrateur"),
    "account_created": _("Création d'un compte par un administrateur"),
    "space_announced": _("Annonce de la création de l'espace"),
    "space_created": _("Création de l'espace"),
    "space_opposed": _("Opposition à la création de l'espace"),
    "space_activated": _("Activation de l'espace"),
    "space_closed": _("Clôture de l'espace"),
    "space_reactivated": _("Réactivation de l'espace"),
    "demo_reset": _("Remise à l'étape de départ (démonstration)"),
    "space_suspended": _("Suspension de l'espace"),
    "space_suspension_lifted": _("Fin de la suspension"),
    "space_handed_over": _("Remise de l'espace au titulaire majeur"),
    "space_destroyed": _("Destruction de l'espace"),
    "space_content_destroyed": _("Destruction du contenu de l'espace"),
    "deletion_requested": _("Demande de suppression définitive"),
    "death_recorded": _("Enregistrement du décès"),
    "code_issued": _("Envoi d'un code provisoire"),
    "code_requested": _("Demande d'un nouveau code provisoire"),
    "code_checked": _("Code provisoire refusé"),
    "legal_representative_added": _("Ajout d'un représentant légal"),
    "contact_changed": _("Modification des coordonnées par un agent CPAM"),
    "account_refused": _("Ouverture du compte refusée (adresse e-mail non confirmée)"),
    "grant_authorised": _("Autorisation d'un professionnel"),
    "grant_care_team": _("Ajout à l'équipe de soins"),
    "designate_attending": _("Désignation du médecin traitant"),
    "professional_registered": _("Enregistrement d'un professionnel"),
    "professionals_imported": _("Import de l'annuaire des professionnels"),
    "agent_created": _("Création d'un compte agent"),
    "view_document": _("Consultation d'un document"),
    # The access codes (a page opened or a form sent) say "accès" ; what was done has its own.
    "add_document": _("Accès à l'ajout d'un document"),
    "add_own_document": _("Accès à l'ajout d'un document personnel"),
    "manage_document": _("Accès à la gestion d'un document"),
    "document_added": _("Ajout d'un document"),
    "document_masked": _("Document masqué aux professionnels"),
    "document_unmasked": _("Document de nouveau visible des professionnels"),
    "documents_masked_all": _("Tous les documents masqués aux professionnels"),
    "documents_unmasked_all": _("Tous les documents de nouveau visibles"),
    "document_revealed_to_representatives": _("Document rendu visible des représentants légaux"),
    "document_announced": _("Document rendu visible du patient"),
    "view_profile": _("Consultation du profil médical"),
    "manage_access": _("Consultation ou modification des accès au dossier"),
    "announce_document": _("Annonce d'un document au patient"),
    "access_revoked": _("Retrait de l'accès d'un professionnel"),
    "professional_blocked": _("Blocage d'un professionnel"),
    "professional_unblocked": _("Déblocage d'un professionnel"),
    "emergency_settings_changed": _("Modification des réglages d'accès en urgence"),
    "patient_search": _("Recherche d'un patient"),
    "consent_declared": _("Déclaration du consentement du patient"),
    "emergency_break_glass": _("Accès en urgence (bris de glace)"),
    "emergency_samu": _("Accès du SAMU (régulation)"),
    "matrix_rule_added": _("Ajout d'une règle d'accès aux types de documents"),
    "matrix_rule_changed": _("Modification d'une règle d'accès aux types de documents"),
    "matrix_rule_removed": _("Retrait d'une règle d'accès aux types de documents"),
    "medical_summary_downloaded": _("Téléchargement de la synthèse du profil médical"),
    "emergency_card_downloaded": _("Téléchargement de la carte d'urgence"),
}


def action_label(code: str) -> str:
    if code.startswith("profile_"):
        return str(_("Modification du profil médical"))
    return str(ACTION_LABELS.get(code, code))


def role_label(code: str) -> str:
    return str(ROLE_LABELS.get(code, code))


def basis_label(code: str) -> str:
    return str(BASIS_LABELS.get(code, code or "—"))


# --- Words for the reader of a space's pages ------------------------------------------------

_VOWELS = "AEIOUYÀÂÄÉÈÊËÎÏÔÖÛÜaeiouyàâäéèêëîïôöûü"


def of_name(name: str) -> str:
    """« de Léo », « d'Élodie »: the French preposition before a first name."""
    from django.utils.translation import gettext

    if name[:1] and name[:1] in _VOWELS:
        return gettext("d'%(name)s") % {"name": name}
    return gettext("de %(name)s") % {"name": name}


def reader_words(space, user) -> dict[str, str]:
    """The words of a space's pages for who reads them: « mon dossier » for the holder,
    « le dossier de Léo » for a legal representative (or anyone else on the holder's side).

    One rule for every page that speaks to the patient side, so a parent on a child's
    space is never addressed as the child.
    """
    from django.utils.translation import gettext

    holder = space.holder
    if user is not None and holder.user_id is not None and holder.user_id == user.pk:
        return {
            "own": True,
            "first_name": holder.first_names.split(" ")[0],
            "of_holder": of_name(holder.first_names.split(" ")[0]),
            "access_title": gettext("Qui a accès à mon dossier"),
            "the_record": gettext("votre dossier"),
            "to_the_record": gettext("à votre dossier"),
            "of_the_record": gettext("de votre dossier"),
            "attending": gettext("votre médecin traitant"),
            "attending_title": gettext("Votre médecin traitant"),
            "pros_with_access": gettext("Professionnels qui ont accès à mon dossier"),
        }
    of = of_name(holder.first_names.split(" ")[0])
    return {
        "own": False,
        "access_title": gettext("Qui a accès au dossier %(of)s") % {"of": of},
        "the_record": gettext("le dossier %(of)s") % {"of": of},
        "to_the_record": gettext("au dossier %(of)s") % {"of": of},
        "of_the_record": gettext("du dossier %(of)s") % {"of": of},
        "first_name": holder.first_names.split(" ")[0],
        "of_holder": of,
        "attending": gettext("le médecin traitant %(of)s") % {"of": of},
        "attending_title": gettext("Le médecin traitant %(of)s") % {"of": of},
        "pros_with_access": gettext("Professionnels qui ont accès au dossier %(of)s") % {"of": of},
    }
