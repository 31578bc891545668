"""Forms of the pro portal: finding a patient, declaring consent, breaking the glass."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acces.models import EmergencyAccess
from espace_sante.identity import normalise_nir, validate_nir


class PatientIdentityForm(forms.Form):
    """INS, birth name and birth date: all three must match exactly."""

    nir = forms.CharField(
        label=_("INS (numéro de sécurité sociale du patient)"),
        help_text=_("15 caractères, clé comprise."),
        max_length=21,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    last_name = forms.CharField(
        label=_("Nom de naissance"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    birth_date = forms.DateField(
        label=_("Date de naissance"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_nir(self):
        nir = normalise_nir(self.cleaned_data["nir"])
        validate_nir(nir)
        return nir

    def clean_birth_date(self):
        born = self.cleaned_data["birth_date"]
        if born > timezone.localdate():
            raise forms.ValidationError(_("La date de naissance ne peut pas être dans le futur."))
        return born


class ConsentForm(forms.Form):
    consent = forms.BooleanField(
        label=_(
            "Je déclare que le patient (ou son représentant légal) a consenti à ce que je "
            "consulte et alimente son dossier médical partagé."
        ),
        error_messages={"required": _("Cochez la déclaration de consentement pour continuer.")},
    )

    def __init__(self, *args, occupational: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if occupational:
            self.fields["consent"].label = _(
                "Je déclare que le salarié a consenti, lors de la visite, à ce que je consulte "
                "et alimente le volet santé au travail de son dossier médical partagé."
            )


class EmergencyForm(PatientIdentityForm):
    mode = forms.ChoiceField(
        label=_("Situation"),
        choices=EmergencyAccess.Mode.choices,
        widget=forms.RadioSelect,
        initial=EmergencyAccess.Mode.BREAK_GLASS,
    )
    reason = forms.CharField(
        label=_("Motif de l'urgence"),
        help_text=_(
            "Obligatoire : il est enregistré et le patient le lira dans l'historique des accès."
        ),
        min_length=10,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "min_length": _("Décrivez la situation d'urgence (10 caractères au moins).")
        },
    )

    def __init__(self, *args, modes: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if modes is not None:
            # Only the modes this professional may open (`policy.emergency_modes_for`).
            field = self.fields["mode"]
            field.choices = [(value, label) for value, label in field.choices if value in modes]
            if field.initial not in modes:
                field.initial = modes[0]
