"""The DMP in the pro portal: the documents the policy lets a professional see, and adding one.

Each view names the space (and the document) in its URL and goes through the same
policy and trail as the patient's pages; what a professional sees is filtered by
their basis, their profession's row of the matrix and the masking.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from acces.access import space_view
from acces.decorators import professional_required
from acces.policy import Action, Decision, documents_visible_to, types_addable_under
from acces.selectors import representatives
from dossier import services
from dossier.access import document_view
from dossier.forms import DateInput, FilterForm
from dossier.models import Document, DocumentType
from dossier.validation import ACCEPTED, MAX_SIZE
from dossier.views import filter_documents
from espace_sante.tracing import Actor

PAGE_SIZE = 20


def types_for(space, decision: Decision) -> list[DocumentType]:
    """The document types this professional may add (their matrix row; the occupational part),
    as the policy lists them (`acces.policy.types_addable_under`)."""
    return list(DocumentType.objects.filter(types_addable_under(decision)))


class ProDocumentForm(forms.Form):
    type_code = forms.ChoiceField(label=_lazy("Type de document"), choices=())
    title = forms.CharField(label=_lazy("Titre"), max_length=200)
    act_date = forms.DateField(label=_lazy("Date de l'acte"), widget=DateInput())
    file = forms.FileField(
        label=_lazy("Fichier"), help_text=_lazy("Formats acceptés : %s.") % ACCEPTED
    )
    invisible_to_patient = forms.BooleanField(
        label=_lazy("Invisible du patient jusqu'à ce que je le lui annonce en consultation"),
        help_text=_lazy(
            "Pour un diagnostic grave, à annoncer de vive voix. Le patient n'est pas prévenu "
            "de l'ajout tant que vous ne l'avez pas rendu visible."
        ),
        required=False,
    )
    invisible_to_representatives = forms.BooleanField(
        label=_lazy("Invisible des représentants légaux"),
        help_text=_lazy("À la demande du mineur, qui veut garder le secret sur ce soin."),
        required=False,
    )

    def __init__(self, *args, types, minor: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type_code"].choices = [
            ("", _("— Choisir —")),
            *((t.code, f"{t.label} ({t.get_category_display()})") for t in types),
        ]
        if not minor:
            del self.fields["invisible_to_representatives"]

    def clean_act_date(self):
        value = self.cleaned_data["act_date"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("La date de l'acte ne peut pas être dans le futur."))
        return value

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_SIZE:
            raise forms.ValidationError(_("Le fichier dépasse 20 Mo."))
        return upload


@professional_required
@space_view(Action.VIEW_SPACE)
def document_list(request, space):
    documents = Document.objects.filter(space=space, is_current=True).filter(
        documents_visible_to(request.access)
    )
    filters = FilterForm(request.GET or None)
    documents = filter_documents(documents, filters).only(
        "public_id",
        "title",
        "act_date",
        "category",
        "author_label",
        "masked",
        "invisible_to_patient",
        "invisible_to_representatives",
        "content_type",
        "type__label",
        "source",
        "author_professional_id",
    )
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dossier/pro/list.html",
        {
            "space": space,
            "holder": space.holder,
            "page": page,
            "filters": filters,
            "decision": request.access,
        },
    )


@professional_required
@space_view(Action.ADD_DOCUMENT)
def document_add(request, space):
    decision = request.access
    minor = representatives(space).exists()
    types = types_for(space, decision)
    form = ProDocumentForm(request.POST or None, request.FILES or None, types=types, minor=minor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            document = services.add_document(
                space=space,
                type_code=data["type_code"],
                title=data["title"],
                act_date=data["act_date"],
                data=data["file"].read(),
                by=Actor.from_request(request),
                author_professional=request.user.professional,
                invisible_to_patient=data["invisible_to_patient"],
                invisible_to_representatives=data.get("invisible_to_representatives", False),
                basis=str(decision.basis),
            )
        except services.DocumentError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(
                request,
                _("Le document est ajouté au dossier. Il n'est pas visible du patient.")
                if document.invisible_to_patient
                else _("Le document est ajouté au dossier ; le patient en est informé."),
            )
            return redirect(
                "pro_documents:detail", space_id=space.public_id, document_id=document.public_id
            )
    return render(
        request,
        "dossier/pro/add.html",
        {"space": space, "holder": space.holder, "form": form, "decision": decision},
    )


@professional_required
@document_view(Action.VIEW_DOCUMENT)
def document_detail(request, document):
    return render(
        request,
        "dossier/pro/detail.html",
        {
            "space": document.space,
            "holder": document.space.holder,
            "document": document,
            "decision": request.access,
            "is_author": document.author_professional_id == request.access.professional_id,
        },
    )


@require_POST
@professional_required
@document_view(Action.ANNOUNCE_DOCUMENT)
def document_announce(request, document):
    """The author announced the document in consultation: the patient now sees it."""
    services.announce_to_patient(document=document, by=Actor.from_request(request))
    messages.success(
        request, _("Le document est désormais visible du patient, qui en est informé.")
    )
    return redirect(
        "pro_documents:detail",
        space_id=document.space.public_id,
        document_id=document.public_id,
    )
