"""Forms of the medical profile: one per part; the models' `clean` carries the bounds."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dossier.forms import DateInput
from dossier.models import (
    Allergy,
    DonationChoice,
    EmergencyContact,
    HistoryEntry,
    Measurement,
    MedicalProfile,
    Treatment,
    Vaccination,
)


class _ProfileForm(forms.ModelForm):
    class Meta:
        model = MedicalProfile
        fields: list[str] = []


class BloodGroupForm(_ProfileForm):
    class Meta(_ProfileForm.Meta):
        fields = ["blood_group"]


class DisabilitiesForm(_ProfileForm):
    class Meta(_ProfileForm.Meta):
        fields = ["disabilities"]
        labels = {"disabilities": _("Handicaps ou situations de handicap")}
        help_texts = {"disabilities": _("Laissez vide s'il n'y en a pas.")}


class TrustedPersonForm(_ProfileForm):
    class Meta(_ProfileForm.Meta):
        fields = ["trusted_person_name", "trusted_person_phone", "trusted_person_relation"]
        labels = {
            "trusted_person_name": _("Nom et prénom"),
            "trusted_person_phone": _("Téléphone"),
            "trusted_person_relation": _("Lien avec vous (conjoint, ami, parent…)"),
        }


class AdvanceDirectivesForm(_ProfileForm):
    class Meta(_ProfileForm.Meta):
        fields = ["advance_directives"]
        labels = {"advance_directives": _("Vos directives anticipées")}
        help_texts = {
            "advance_directives": _(
                "Vos volontés sur les soins en fin de vie, si un jour vous ne pouvez plus "
                "les exprimer."
            )
        }


class DonationForm(_ProfileForm):
    donation_choice = forms.ChoiceField(label=_("Votre choix"), choices=DonationChoice.choices)

    class Meta(_ProfileForm.Meta):
        fields = ["donation_choice", "donation_date"]
        widgets = {"donation_date": DateInput()}
        labels = {"donation_date": _("Date du choix")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["donation_date"].required = True
        if not self.initial.get("donation_date"):
            self.initial["donation_date"] = timezone.localdate()

    def clean_donation_date(self):
        day = self.cleaned_data["donation_date"]
        if day and day > timezone.localdate():
            raise forms.ValidationError(_("La date du choix ne peut pas être dans le futur."))
        return day


class AllergyForm(forms.ModelForm):
    class Meta:
        model = Allergy
        fields = ["substance", "reaction", "severity"]
        labels = {"substance": _("Substance (médicament, aliment, pollen…)")}


class HistoryEntryForm(forms.ModelForm):
    class Meta:
        model = HistoryEntry
        fields = ["kind", "condition", "year", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class TreatmentForm(forms.ModelForm):
    class Meta:
        model = Treatment
        fields = ["medicine", "dosage", "since", "prescriber"]
        widgets = {"since": DateInput()}
        help_texts = {"dosage": _("Par exemple : 1 comprimé matin et soir.")}


class VaccinationForm(forms.ModelForm):
    class Meta:
        model = Vaccination
        fields = ["vaccine", "date", "lot", "given_by"]
        widgets = {"date": DateInput()}


class MeasurementForm(forms.ModelForm):
    class Meta:
        model = Measurement
        fields = ["kind", "value", "value2", "measured_on"]
        widgets = {"measured_on": DateInput()}
        labels = {"value": _("Valeur (tension systolique pour la tension artérielle)")}
        help_texts = {"value2": _("Seulement pour la tension artérielle.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.initial.get("measured_on"):
            self.initial["measured_on"] = timezone.localdate()


class EmergencyContactForm(forms.ModelForm):
    class Meta:
        model = EmergencyContact
        fields = ["name", "phone", "relation"]
        labels = {"name": _("Nom et prénom"), "relation": _("Lien avec vous")}


class RemoveForm(forms.Form):
    confirm = forms.BooleanField(label=_("Je confirme la suppression"), required=True)


SINGLE_FORMS = {
    "blood_group": BloodGroupForm,
    "disabilities": DisabilitiesForm,
    "trusted_person": TrustedPersonForm,
    "advance_directives": AdvanceDirectivesForm,
    "organ_donation": DonationForm,
}

ENTRY_FORMS = {
    "allergy": AllergyForm,
    "history": HistoryEntryForm,
    "treatment": TreatmentForm,
    "vaccination": VaccinationForm,
    "measurement": MeasurementForm,
    "emergency_contact": EmergencyContactForm,
}
