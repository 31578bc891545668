"""The audit actions of `agenda.prevention`: the person's answers and choices."""

from django.utils.translation import gettext_lazy as _

from espace_sante.actions import AuditAction


class PreventionAction(AuditAction):
    MARKED_DONE = "prevention_marked_done", _("Rappel de prévention indiqué comme fait")
    DECLINED = (
        "prevention_declined",
        _("Rappel de prévention indiqué comme ne me concernant pas"),
    )
    MARK_REMOVED = "prevention_mark_removed", _("Réponse à un rappel de prévention retirée")
    PROGRAMME_OFF = (
        "prevention_programme_off",
        _("Rappels d'un programme de prévention désactivés"),
    )
    PROGRAMME_ON = (
        "prevention_programme_on",
        _("Rappels d'un programme de prévention réactivés"),
    )
    CONDITIONS_DECLARED = (
        "prevention_conditions_declared",
        _("Situations déclarées pour les rappels de prévention"),
    )
