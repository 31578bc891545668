"""The audit actions of the catalogue's FHIR API: one event per call, naming the service."""

from django.utils.translation import gettext_lazy as _

from espace_sante.actions import AuditAction


class CatalogueAction(AuditAction):
    API_READ = "catalogue_api_read", _("Lecture par un service connecté")
    API_WRITE = "catalogue_api_write", _("Écriture par un service connecté")
    # Professionals' software (`catalogue.models.Software`): its refused calls (what it
    # reads and writes is traced as the professional's own actions, naming the software),
    # and the professional's authorisation of it.
    SOFTWARE_READ = "software_api_read", _("Consultation refusée à un logiciel professionnel")
    SOFTWARE_WRITE = "software_api_write", _("Envoi refusé à un logiciel professionnel")
    SOFTWARE_AUTHORISED = "software_authorised", _("Autorisation d'un logiciel professionnel")
