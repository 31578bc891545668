"""The audit actions of connecting a space to a referenced service."""

from django.utils.translation import gettext_lazy as _

from espace_sante.actions import AuditAction


class ConnectionAction(AuditAction):
    SERVICE_CONNECTED = "service_connected", _("Connexion d'un service référencé")
    SERVICE_REFUSED = "service_refused", _("Refus de connecter un service référencé")
    PURPOSE_WITHDRAWN = "service_purpose_withdrawn", _("Retrait d'une autorisation d'un service")
    SERVICE_DISCONNECTED = "service_disconnected", _("Déconnexion d'un service référencé")
    WRITES_NOTIFIED = (
        "service_writes_notified",
        _("Message des ajouts du jour par les services connectés"),
    )
    SERVICE_REAPPROVED = (
        "service_reapproved",
        _("Approbation de la nouvelle version d'un service"),
    )
