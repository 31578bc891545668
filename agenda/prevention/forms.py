"""The forms of the prevention pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from agenda.prevention.conditions import CONDITIONS
from dossier.forms import DateInput


class DoneForm(forms.Form):
    day = forms.DateField(
        label=_("Date à laquelle c'était fait"),
        help_text=_("Format : jj/mm/aaaa"),
        widget=DateInput(),
        error_messages={
            "required": _("Indiquez la date."),
            "invalid": _("Indiquez une date valide, par exemple 15/03/2024."),
        },
    )


class ConditionsForm(forms.Form):
    conditions = forms.MultipleChoiceField(
        label=_("Mes situations"),
        choices=list(CONDITIONS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
