"""The consent form (django-oauth-toolkit's `AllowForm` and the patient's choices) and the
confirmations of "Mes services connectés"."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from oauth2_provider.forms import AllowForm


class ConsentForm(AllowForm):
    # Needed to allow only (`clean`): refusing needs no choice of space.
    space = forms.ChoiceField(
        label=_("Pour quel espace santé ?"), widget=forms.RadioSelect, required=False
    )
    purposes = forms.MultipleChoiceField(
        label=_("Ce que vous autorisez"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    shows_masked_documents = forms.TypedChoiceField(
        label=_("Ce service peut-il voir les documents que vous avez masqués aux professionnels ?"),
        choices=[("non", _("Non")), ("oui", _("Oui"))],
        coerce=lambda value: value == "oui",
        initial="non",
        widget=forms.RadioSelect,
        required=False,
    )

    def __init__(self, *args, spaces=(), purposes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["space"].choices = [(str(s.public_id), label) for s, label in spaces]
        if len(spaces) == 1:
            self.fields["space"].initial = str(spaces[0][0].public_id)
        self.fields["purposes"].choices = [(str(p.pk), p.label) for p in purposes]

    def clean(self):
        data = super().clean()
        if data.get("allow") and not data.get("space") and "space" not in self.errors:
            self.add_error("space", _("Choisissez l'espace santé à connecter."))
        if data.get("allow") and not data.get("purposes"):
            self.add_error("purposes", _("Cochez au moins une autorisation, ou refusez."))
        return data


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        error_messages={"required": _("Cochez la case pour confirmer.")},
    )


class ReapprovalForm(forms.Form):
    purposes = forms.MultipleChoiceField(
        label=_("Les nouvelles autorisations demandées"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args, purposes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purposes"].choices = [(str(p.pk), p.label) for p in purposes]
