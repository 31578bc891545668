"""The audit actions of `messagerie`: sending, reading, attachments, folders and refusals."""

from django.utils.translation import gettext_lazy as _

from espace_sante.actions import AuditAction


class MessagingAction(AuditAction):
    CONVERSATION_STARTED = "message_conversation_started", _("Envoi d'un nouveau message")
    MESSAGE_SENT = "message_sent", _("Envoi d'une réponse")
    PRESCRIPTION_SENT = "message_prescription_sent", _("Envoi d'une ordonnance à une pharmacie")
    MESSAGE_READ = "message_read", _("Lecture d'un message")
    CONVERSATION_ENDED = "message_conversation_ended", _("Fin des échanges par le professionnel")
    ATTACHMENT_DOWNLOADED = "message_attachment_downloaded", _("Téléchargement d'une pièce jointe")
    ATTACHMENT_ADDED_TO_DMP = (
        "message_attachment_added_to_dmp",
        _("Ajout d'une pièce jointe aux documents"),
    )
    ATTACHMENT_FILED = (
        "message_attachment_filed",
        _("Classement d'une pièce jointe dans le dossier par un professionnel"),
    )
    DRAFT_SAVED = "message_draft_saved", _("Enregistrement d'un brouillon")
    CONVERSATION_TRASHED = "message_conversation_trashed", _("Conversation mise à la corbeille")
    CONVERSATION_RESTORED = (
        "message_conversation_restored",
        _("Conversation retirée de la corbeille"),
    )
    CONVERSATION_DELETED = (
        "message_conversation_deleted",
        _("Conversation supprimée définitivement"),
    )
    MESSAGE_IMPORTED = "message_imported", _("Reprise d'un message d'un ancien dossier")
    # The professional's messaging, opened on one of its folders: on the professional's own
    # chain (it lists several patients' conversations), as a search in the directory is.
    PRO_INBOX_VIEWED = (
        "message_pro_inbox_viewed",
        _("Consultation de la messagerie professionnelle"),
    )
    SENDER_REFUSED = "message_sender_refused", _("Refus des messages d'un professionnel")
    SENDER_REFUSAL_LIFTED = (
        "message_sender_refusal_lifted",
        _("Fin du refus des messages d'un professionnel"),
    )
