"""The audit actions of the referencing staff's admin and of the patients' reports."""

from django.utils.translation import gettext_lazy as _

from espace_sante.actions import AuditAction


class DirectoryAction(AuditAction):
    SERVICE_ADDED = "catalogue_service_added", _("Référencement d'un service")
    SERVICE_CHANGED = "catalogue_service_changed", _("Modification d'un service référencé")
    SERVICE_REMOVED = "catalogue_service_removed", _("Suppression d'un service référencé")
    PURPOSE_CHANGED = "catalogue_purpose_changed", _("Modification d'une finalité d'un service")
    PURPOSE_REMOVED = "catalogue_purpose_removed", _("Suppression d'une finalité d'un service")
    SERVICE_REPORTED = "catalogue_service_reported", _("Signalement d'un service")
    REPORT_HANDLED = "catalogue_report_handled", _("Traitement d'un signalement de service")
    SOFTWARE_ADDED = "catalogue_software_added", _("Enregistrement d'un logiciel professionnel")
    SOFTWARE_CHANGED = "catalogue_software_changed", _("Modification d'un logiciel professionnel")
    SOFTWARE_REMOVED = "catalogue_software_removed", _("Suppression d'un logiciel professionnel")
    STAFF_CREATED = "catalogue_staff_created", _("Création d'un compte du référencement")
