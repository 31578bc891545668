from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acces.policy import types_addable_under
from dossier.models import Category, DocumentType
from dossier.validation import ACCEPTED, MAX_SIZE


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _types_addable_under(decision):
    """The types the policy lets this reader add (`acces.policy.types_addable_under`)."""
    return [(t.code, t.label) for t in DocumentType.objects.filter(types_addable_under(decision))]


class _DocumentFields(forms.Form):
    type_code = forms.ChoiceField(label=_("Type de document"), choices=())
    title = forms.CharField(label=_("Titre"), max_length=200)
    act_date = forms.DateField(
        label=_("Date de l'acte"),
        widget=DateInput(),
        help_text=_("Par exemple la date de la consultation ou de l'examen."),
    )

    def __init__(self, *args, decision, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type_code"].choices = [("", "— Choisir —"), *_types_addable_under(decision)]

    def clean_act_date(self):
        value = self.cleaned_data["act_date"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("La date de l'acte ne peut pas être dans le futur."))
        return value


class UploadForm(_DocumentFields):
    file = forms.FileField(label=_("Fichier"), help_text=_("Formats acceptés : %s.") % ACCEPTED)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_SIZE:
            raise forms.ValidationError(_("Le fichier dépasse 20 Mo."))
        return upload


class WriteForm(_DocumentFields):
    text = forms.CharField(
        label=_("Texte du document"), widget=forms.Textarea(attrs={"rows": 12}), max_length=200_000
    )


class NewVersionForm(forms.Form):
    file = forms.FileField(
        label=_("Nouvelle version du fichier"), help_text=_("Formats acceptés : %s.") % ACCEPTED
    )


class FilterForm(forms.Form):
    q = forms.CharField(label=_("Rechercher dans les titres"), required=False, max_length=100)
    category = forms.ChoiceField(
        label=_("Catégorie"), required=False, choices=[("", "Toutes"), *Category.choices]
    )
    start = forms.DateField(label=_("Du"), required=False, widget=DateInput())
    end = forms.DateField(label=_("Au"), required=False, widget=DateInput())
    author = forms.CharField(label=_("Auteur"), required=False, max_length=100)


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(label=_("Je confirme"), required=True)
