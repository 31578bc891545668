"""The audit actions of `acces`: what a principal asks the policy for, and what changes access."""

from django.utils.translation import gettext_lazy as _

from espace_sante.actions import AuditAction


class AccessAction(AuditAction):
    # What is asked of the policy (`acces.policy.Action`), traced when decided. The
    # access codes (a page opened or a form sent) say "accès"; what was done has its own.
    VIEW_SPACE = "view_space", _("Consultation de l'espace")
    VIEW_PROFILE = "view_profile", _("Consultation du profil médical")
    VIEW_HISTORY = "view_history", _("Consultation de l'historique")
    VIEW_NOTIFICATIONS = "view_notifications", _("Consultation des notifications")
    EXPORT_SPACE = "export_space", _("Téléchargement des données")
    CLOSE_SPACE = "close_space", _("Clôture de l'espace")
    REQUEST_DELETION = "request_deletion", _("Demande de suppression définitive")
    MANAGE_ACCESS = "manage_access", _("Consultation ou modification des accès au dossier")
    VIEW_DOCUMENT = "view_document", _("Consultation d'un document")
    ADD_DOCUMENT = "add_document", _("Accès à l'ajout d'un document")
    ADD_OWN_DOCUMENT = "add_own_document", _("Accès à l'ajout d'un document personnel")
    MANAGE_DOCUMENT = "manage_document", _("Accès à la gestion d'un document")
    ANNOUNCE_DOCUMENT = "announce_document", _("Annonce d'un document au patient")
    OPEN_EMERGENCY = "open_emergency", _("Demande d'accès en urgence")
    DECLARE_CONSENT = "declare_consent", _("Accès à la déclaration du consentement du patient")
    READ_MESSAGES = "read_messages", _("Consultation de la messagerie")
    START_CONVERSATION = "start_conversation", _("Accès à l'écriture d'un nouveau message")
    REPLY = "reply_message", _("Accès à la réponse à un message")
    FILE_ATTACHMENT = "file_attachment", _("Accès au classement d'une pièce jointe dans le dossier")
    VIEW_AGENDA = "view_agenda", _("Consultation de l'agenda santé")
    MANAGE_AGENDA = "manage_agenda", _("Accès à la modification de l'agenda santé")
    ADD_APPOINTMENT = "add_appointment", _("Accès à l'ajout d'un rendez-vous")
    VIEW_CARE_HISTORY = "view_care_history", _("Consultation de l'historique des soins")
    # Who may access a space.
    GRANT_AUTHORISED = "grant_authorised", _("Autorisation d'un professionnel")
    GRANT_CARE_TEAM = "grant_care_team", _("Ajout à l'équipe de soins")
    DESIGNATE_ATTENDING = "designate_attending", _("Désignation du médecin traitant")
    ACCESS_REVOKED = "access_revoked", _("Retrait de l'accès d'un professionnel")
    PROFESSIONAL_BLOCKED = "professional_blocked", _("Blocage d'un professionnel")
    PROFESSIONAL_UNBLOCKED = "professional_unblocked", _("Déblocage d'un professionnel")
    EMERGENCY_SETTINGS_CHANGED = (
        "emergency_settings_changed",
        _("Modification des réglages d'accès en urgence"),
    )
    PATIENT_SEARCH = "patient_search", _("Recherche d'un patient")
    CONSENT_DECLARED = "consent_declared", _("Déclaration du consentement du patient")
    EMERGENCY_BREAK_GLASS = "emergency_break_glass", _("Accès en urgence (bris de glace)")
    EMERGENCY_SAMU = "emergency_samu", _("Accès du SAMU (régulation)")
    # The directory and the access rules (admin).
    PROFESSIONAL_REGISTERED = "professional_registered", _("Enregistrement d'un professionnel")
    PROFESSIONALS_IMPORTED = "professionals_imported", _("Import de l'annuaire des professionnels")
    AGENT_CREATED = "agent_created", _("Création d'un compte agent")
    MATRIX_RULE_ADDED = "matrix_rule_added", _("Ajout d'une règle d'accès aux types de documents")
    MATRIX_RULE_CHANGED = (
        "matrix_rule_changed",
        _("Modification d'une règle d'accès aux types de documents"),
    )
    MATRIX_RULE_REMOVED = (
        "matrix_rule_removed",
        _("Retrait d'une règle d'accès aux types de documents"),
    )
    # The trail's own upkeep (beat task).
    AUDIT_PARTITIONS_CREATED = (
        "audit_partitions_created",
        _("Création des partitions mensuelles de la traçabilité"),
    )

    @classmethod
    def grant(cls, basis: str) -> "AccessAction":
        return cls(f"grant_{basis}")

    @classmethod
    def emergency(cls, mode: str) -> "AccessAction":
        return cls(f"emergency_{mode}")
