"""The audit actions of the appointments and of the iCalendar feed."""

from django.utils.translation import gettext_lazy as _

from espace_sante.actions import AuditAction


class AppointmentAction(AuditAction):
    APPOINTMENT_ADDED = "appointment_added", _("Ajout d'un rendez-vous")
    APPOINTMENT_ADDED_BY_PROFESSIONAL = (
        "appointment_added_by_professional",
        _("Ajout d'un rendez-vous par un professionnel"),
    )
    APPOINTMENT_CHANGED = "appointment_changed", _("Modification d'un rendez-vous")
    APPOINTMENT_CANCELLED = "appointment_cancelled", _("Annulation d'un rendez-vous")
    APPOINTMENT_DOWNLOADED = (
        "appointment_downloaded",
        _("Téléchargement d'un rendez-vous (fichier iCalendar)"),
    )
    APPOINTMENT_REMINDED = "appointment_reminded", _("Rappel d'un rendez-vous la veille")
    FEED_CREATED = "calendar_feed_created", _("Création de l'adresse du flux iCalendar")
    FEED_RENEWED = "calendar_feed_renewed", _("Renouvellement de l'adresse du flux iCalendar")
    FEED_REVOKED = "calendar_feed_revoked", _("Révocation du flux iCalendar")
    FEED_SETTINGS_CHANGED = (
        "calendar_feed_settings_changed",
        _("Choix du contenu du flux iCalendar"),
    )
    FEED_OPENED = "calendar_feed_opened", _("Lecture du flux iCalendar par un agenda")
