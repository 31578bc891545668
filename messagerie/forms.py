"""The forms of the patient's messaging pages. They only shape input: the services decide,
check the files by their content and refuse with French messages."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from messagerie.services import MAX_BODY, MAX_SUBJECT, NewAttachment


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field; each one is checked by its content by the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        files = data if isinstance(data, list | tuple) else [data]
        return [single(f, initial) for f in files if f]


def attachments_hint() -> str:
    return _(
        "PDF, JPEG, PNG, TIFF ou texte brut (.txt), %(limit)s au plus pour l'ensemble des "
        "pièces jointes d'un message. Le contenu de chaque fichier est vérifié : un fichier "
        "d'un autre type renommé en .pdf est refusé."
    ) % {"limit": filesizeformat(settings.MESSAGE_MAX_BYTES)}


def new_attachments(files) -> list[NewAttachment]:
    return [NewAttachment(name=f.name, data=f.read()) for f in files or ()]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Votre réponse"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=MAX_BODY,
        required=False,
    )
    to_all = forms.TypedChoiceField(
        label=_("Répondre à"),
        choices=[("0", _("L'auteur du dernier message")), ("1", _("Tous les professionnels"))],
        coerce=lambda v: v == "1",
        initial="0",
        widget=forms.RadioSelect,
        required=False,
    )
    attachments = MultipleFileField(label=_("Joindre des fichiers"))
    documents = forms.ModelMultipleChoiceField(
        label=_("Joindre des documents de mon dossier"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    include_summary = forms.BooleanField(
        label=_("Joindre la synthèse de mon profil médical (PDF)"), required=False
    )

    def __init__(self, *args, documents, reply_all: bool, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["documents"]
        # What may be chosen: any document the reader may see (checked in one query)...
        field.queryset = documents
        field.label_from_instance = lambda d: f"{d.title} ({d.act_date:%d/%m/%Y})"
        # ...what is offered: only what `offer` lists, never the whole record (a record of
        # 500 documents made 500 checkboxes: half a second of rendering, bench/http.py).
        field.widget.choices = []
        self.fields["attachments"].help_text = attachments_hint()
        if not reply_all:
            del self.fields["to_all"]

    def offer(self, documents) -> None:
        """The documents shown as checkboxes (a bounded list: the latest, or those found)."""
        field = self.fields["documents"]
        field.widget.choices = [(d.pk, field.label_from_instance(d)) for d in documents]


class ComposeForm(forms.Form):
    to = forms.ModelChoiceField(
        label=_("Destinataire"),
        queryset=None,
        empty_label=_("Choisissez un professionnel"),
        error_messages={"required": _("Choisissez le professionnel à qui écrire.")},
    )
    subject = forms.CharField(label=_("Objet"), max_length=MAX_SUBJECT)
    body = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 8}), max_length=MAX_BODY
    )
    attachments = MultipleFileField(label=_("Joindre des fichiers"))

    def __init__(self, *args, writers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = writers
        self.fields["to"].label_from_instance = lambda p: (
            f"{p.title} ({p.practice_name})" if p.practice_name else p.title
        )
        self.fields["attachments"].help_text = attachments_hint()


class PrescriptionForm(forms.Form):
    pharmacy = forms.ModelChoiceField(
        label=_("Pharmacie"),
        queryset=None,
        empty_label=_("Choisissez une pharmacie"),
        error_messages={"required": _("Choisissez la pharmacie.")},
    )
    prescription = forms.ModelChoiceField(
        label=_("Ordonnance"),
        queryset=None,
        empty_label=_("Choisissez une ordonnance de votre dossier"),
        error_messages={"required": _("Choisissez une ordonnance de votre dossier.")},
    )
    body = forms.CharField(
        label=_("Message (facultatif)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MAX_BODY,
        required=False,
    )

    def __init__(self, *args, pharmacies, prescriptions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pharmacy"].queryset = pharmacies
        self.fields["pharmacy"].label_from_instance = lambda m: m.name
        self.fields["prescription"].queryset = prescriptions
        self.fields["prescription"].label_from_instance = lambda d: (
            f"{d.title} — {d.act_date:%d/%m/%Y}"
        )


class AddToDocumentsForm(forms.Form):
    type_code = forms.ChoiceField(
        label=_("Type de document"),
        error_messages={"required": _("Choisissez le type du document.")},
    )
    title = forms.CharField(label=_("Titre"), max_length=200, required=False)
    act_date = forms.DateField(
        label=_("Date de l'acte"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Par défaut, la date du message."),
    )

    def __init__(self, *args, types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type_code"].choices = [("", _("Choisissez un type"))] + [
            (t.code, t.label) for t in types
        ]


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        error_messages={"required": _("Cochez la case pour confirmer.")},
    )
