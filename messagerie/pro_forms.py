"""The forms of the pro portal's messaging: compose, reply, file an attachment into the DMP."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from acces.models import CareRelation, Professional
from acces.policy import relations_in_force
from dossier.forms import DateInput
from messagerie import services
from messagerie.models import Mailbox


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the content of each is checked by the service."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def attachments_help() -> str:
    return _(
        "PDF, JPEG, PNG, TIFF ou texte brut ; %(limit)s au plus par message. Le contenu de "
        "chaque fichier est vérifié : un fichier d'un autre type renommé en .pdf est refusé."
    ) % {"limit": str(filesizeformat(settings.MESSAGE_MAX_BYTES)).replace("\xa0", " ")}


def new_attachments(files) -> list[services.NewAttachment]:
    return [services.NewAttachment(name=f.name, data=f.read()) for f in files]


class ProfessionalChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.title} ({obj.practice_name})" if obj.practice_name else obj.title


class ComposeForm(forms.Form):
    subject = forms.CharField(label=_lazy("Objet"), max_length=services.MAX_SUBJECT)
    body = forms.CharField(
        label=_lazy("Message"),
        max_length=services.MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    attachments = MultipleFileField(label=_lazy("Pièces jointes"), required=False)
    cc = ProfessionalChoiceField(
        widget=forms.CheckboxSelectMultiple,
        label=_lazy("Copie à d'autres professionnels"),
        help_text=_lazy(
            "Facultatif : parmi l'équipe de soins du patient et vos collègues. Le patient voit "
            "leur nom, leur profession et leur lieu d'exercice, jamais leur adresse."
        ),
        queryset=Professional.objects.none(),
        required=False,
    )
    mailbox = forms.TypedChoiceField(
        label=_lazy("Écrire depuis"), coerce=int, choices=(), required=False
    )

    def __init__(self, *args, professional: Professional, space, mailboxes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = attachments_help()
        # Copies go to the patient's care team or to colleagues of the sender's
        # organisations: a bounded list, whatever the size of the directory.
        team = CareRelation.objects.filter(relations_in_force(space)).values("professional_id")
        colleagues = Mailbox.members.through.objects.filter(
            mailbox__in=[m.pk for m in mailboxes if m.kind == Mailbox.Kind.ORGANISATIONAL]
        ).values("professional_id")
        self.fields["cc"].queryset = (
            Professional.objects.filter(Q(pk__in=team) | Q(pk__in=colleagues))
            .exclude(pk=professional.pk)
            .select_related("user")
            .order_by("user__last_name", "user__first_name")
        )
        if not self.fields["cc"].queryset.exists():
            del self.fields["cc"]
        if len(mailboxes) > 1:
            self.fields["mailbox"].choices = [(m.pk, m.display_name) for m in mailboxes]
        else:
            del self.fields["mailbox"]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_lazy("Votre réponse"),
        max_length=services.MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    attachments = MultipleFileField(label=_lazy("Pièces jointes"), required=False)
    reply_mode = forms.ChoiceField(
        label=_lazy("Le patient peut"),
        choices=[
            (services.ReplyMode.REPLY_ALL, _lazy("répondre à tous")),
            (services.ReplyMode.REPLY, _lazy("répondre à l'auteur seulement")),
            (services.ReplyMode.NO_REPLY, _lazy("ne pas répondre")),
        ],
        initial=services.ReplyMode.REPLY_ALL,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = attachments_help()


class FileForm(forms.Form):
    type_code = forms.ChoiceField(label=_lazy("Type de document"), choices=())
    title = forms.CharField(label=_lazy("Titre"), max_length=200, required=False)
    act_date = forms.DateField(label=_lazy("Date de l'acte"), widget=DateInput(), required=False)

    def __init__(self, *args, types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type_code"].choices = [
            ("", _("— Choisir —")),
            *((t.code, f"{t.label} ({t.get_category_display()})") for t in types),
        ]
