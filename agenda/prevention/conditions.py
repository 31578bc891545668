"""The situations a person can declare for prevention (their code and French label).

A rule names the codes that make it apply (`PreventionRule.conditions`): the flu vaccine
before 65, the RSV vaccine from 65 to 74. Only these codes are stored, never free text.
"""

from django.utils.translation import gettext_lazy as _

CONDITIONS = {
    "respiratoire_chronique": _(
        "Maladie respiratoire chronique (asthme sévère, BPCO, insuffisance respiratoire…)"
    ),
    "cardiaque_chronique": _("Maladie cardiaque chronique (insuffisance cardiaque…)"),
    "diabete": _("Diabète"),
    "renale_chronique": _("Maladie rénale chronique"),
    "immunodepression": _("Déficit immunitaire ou traitement qui affaiblit l'immunité"),
    "obesite": _("Obésité (IMC de 40 ou plus)"),
    "grossesse": _("Grossesse en cours"),
}
