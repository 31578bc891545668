from django import forms
from django.utils.translation import gettext_lazy as _

from catalogue.models import ServiceReport


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Motif du signalement"),
        choices=[("", _("Choisissez un motif")), *ServiceReport.Reason.choices],
        error_messages={
            "required": _("Choisissez le motif du signalement."),
            "invalid_choice": _("Choisissez un motif dans la liste."),
        },
    )
    message = forms.CharField(
        label=_("Votre message"),
        help_text=_(
            "Décrivez le problème rencontré. N'y mettez pas d'information médicale vous concernant."
        ),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=3000,
        min_length=10,
        error_messages={
            "required": _("Écrivez votre message."),
            "min_length": _("Votre message est trop court : 10 caractères au moins."),
            "max_length": _("Votre message est trop long : 3 000 caractères au plus."),
        },
    )
