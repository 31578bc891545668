"""The audit actions of the history of care (`agenda.history`).

Reading the history is traced under the policy's own actions (`view_agenda` for the
patient, `view_care_history` for a professional); what is added to it has its codes here.
"""

from django.utils.translation import gettext_lazy as _

from espace_sante.actions import AuditAction


class CareHistoryAction(AuditAction):
    # One event in each space a batch of the file added care events to.
    CARE_HISTORY_IMPORTED = (
        "care_history_imported",
        _("Ajout d'événements à l'historique des soins par l'Assurance Maladie"),
    )
    # One event for the whole run of `import_care_history`, in the operator's chain.
    CARE_HISTORY_IMPORT_RUN = (
        "care_history_import_run",
        _("Import d'un fichier de l'historique des soins"),
    )
