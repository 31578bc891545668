"""The audit actions of the catalogue's FHIR API: one event per call, naming the service."""

from django.utils.translation import gettext_lazy as _

from espace_sante.actions import AuditAction


class CatalogueAction(AuditAction):
    API_READ = "catalogue_api_read", _("Lecture par un service connecté")
    API_WRITE = "catalogue_api_write", _("Écriture par un service connecté")
