"""The patient's documents: list, add, write, read, download, mask, versions."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from acces.access import space_view
from acces.policy import Action, documents_visible_to
from acces.services import set_emergency_settings
from dossier import services
from dossier.access import document_view
from dossier.forms import ConfirmForm, FilterForm, NewVersionForm, UploadForm, WriteForm
from dossier.models import Document
from espace_sante.tracing import Actor

PAGE_SIZE = 20


def _list_url(space):
    return reverse("dossier:list", args=[space.public_id])


def filter_documents(documents, filters: FilterForm):
    """Apply the list's filters (title, category, dates, author)."""
    data = {}
    if filters.is_bound:
        filters.is_valid()  # a wrong date only drops that filter: cleaned_data keeps the rest
        data = filters.cleaned_data
    if data.get("q"):
        documents = documents.filter(title__icontains=data["q"])
    if data.get("category"):
        documents = documents.filter(category=data["category"])
    if data.get("start"):
        documents = documents.filter(act_date__gte=data["start"])
    if data.get("end"):
        documents = documents.filter(act_date__lte=data["end"])
    if data.get("author"):
        documents = documents.filter(author_label__icontains=data["author"])
    return documents.select_related("type")


@space_view(Action.VIEW_SPACE)
def document_list(request, space):
    documents = Document.objects.filter(space=space, is_current=True).filter(
        documents_visible_to(request.access)
    )
    filters = FilterForm(request.GET or None)
    documents = filter_documents(documents, filters)
    documents = documents.only(
        "public_id",
        "title",
        "act_date",
        "category",
        "author_label",
        "masked",
        "invisible_to_representatives",
        "content_type",
        "type__label",
        "source",
    )
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dossier/list.html",
        {
            "space": space,
            "page": page,
            "filters": filters,
            "basis": request.access.basis,
        },
    )


def _add(request, space, form, data: bytes, success: str, *, written: bool = False):
    try:
        document = services.add_document(
            space=space,
            type_code=form.cleaned_data["type_code"],
            title=form.cleaned_data["title"],
            act_date=form.cleaned_data["act_date"],
            data=data,
            by=Actor.from_request(request),
            written=written,
            basis=str(request.access.basis),
        )
    except services.DocumentError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        return None
    messages.success(request, success)
    return redirect("dossier:detail", space_id=space.public_id, document_id=document.public_id)


@space_view(Action.ADD_OWN_DOCUMENT)
def document_add(request, space):
    form = UploadForm(request.POST or None, request.FILES or None, decision=request.access)
    if request.method == "POST" and form.is_valid():
        response = _add(
            request,
            space,
            form,
            form.cleaned_data["file"].read(),
            _("Le document est ajouté à votre dossier."),
        )
        if response:
            return response
    return render(request, "dossier/add.html", {"space": space, "form": form})


@space_view(Action.ADD_OWN_DOCUMENT)
def document_write(request, space):
    form = WriteForm(request.POST or None, decision=request.access)
    if request.method == "POST" and form.is_valid():
        response = _add(
            request,
            space,
            form,
            form.cleaned_data["text"].encode("utf-8"),
            _("Votre document est enregistré dans votre dossier."),
            written=True,
        )
        if response:
            return response
    return render(request, "dossier/write.html", {"space": space, "form": form})


@document_view(Action.VIEW_DOCUMENT)
def document_detail(request, document):
    versions = []
    previous = document.replaces
    while previous is not None and len(versions) < 50:
        versions.append(previous)
        previous = previous.replaces
    return render(
        request,
        "dossier/detail.html",
        {
            "space": document.space,
            "document": document,
            "versions": versions,
            "basis": request.access.basis,
            "preview": document.content_type != "text/plain",
            "text": services.read_content(document).decode("utf-8")
            if document.content_type == "text/plain"
            else None,
        },
    )


@document_view(Action.VIEW_DOCUMENT)
def document_download(request, document):
    """Decrypt and send: an attachment, or inline for the page's preview of a PDF or image.

    Streamed, decrypted chunk by chunk: a large document never sits whole in memory.
    """
    chunks = services.open_content(document)
    inline = request.GET.get("apercu") == "1" and document.content_type != "text/plain"
    response = StreamingHttpResponse(chunks, content_type=document.content_type)
    response["Content-Length"] = str(document.size)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = (
        f'{disposition}; filename="document-{document.act_date:%Y-%m-%d}.{document.extension}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    if inline:
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@require_POST
@document_view(Action.MANAGE_DOCUMENT)
def document_mask(request, document):
    masked = request.POST.get("masked") == "1"
    try:
        services.set_masked(document=document, masked=masked, by=Actor.from_request(request))
    except services.DocumentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _(
                "Le document est masqué aux professionnels de santé (sauf "
                "votre médecin traitant et son auteur)."
            )
            if masked
            else _("Le document est de nouveau visible des professionnels autorisés."),
        )
    return redirect(
        "dossier:detail", space_id=document.space.public_id, document_id=document.public_id
    )


@space_view(Action.MANAGE_DOCUMENT)
def mask_all(request, space):
    """Mask or unmask everything; with `emergencies`, masked documents hide in emergencies too.

    Hiding everything from emergencies too asks for confirmation first: GET shows what it
    does, and only a POST that carries `confirm` acts (a page of its own, no JavaScript).
    """
    masked = request.POST.get("masked") == "1"
    emergencies = request.POST.get("emergencies") == "1"
    if request.method != "POST" or (masked and emergencies and request.POST.get("confirm") != "1"):
        return render(request, "dossier/mask_all_confirm.html", {"space": space})
    actor = Actor.from_request(request)
    count = services.set_all_masked(space=space, masked=masked, by=actor)
    if request.POST.get("emergencies") == "1" or not masked:
        # Unmasking everything also ends "hidden in emergencies": nothing is masked any more.
        set_emergency_settings(space=space, masked_from_emergencies=masked, by=actor)
    if request.POST.get("emergencies") == "1":
        messages.info(
            request,
            _("Vos documents masqués sont aussi cachés en cas d'urgence (bris de glace, SAMU).")
            if masked
            else _("En cas d'urgence, vos documents sont de nouveau accessibles."),
        )
    if masked:
        text = ngettext(
            "%d document masqué aux professionnels de santé.",
            "%d documents masqués aux professionnels de santé.",
            count,
        )
    else:
        text = ngettext(
            "%d document de nouveau visible.", "%d documents de nouveau visibles.", count
        )
    messages.success(request, text % count)
    if request.POST.get("emergencies") == "1":
        return redirect("acces_patient:page", space_id=space.public_id)
    return redirect(_list_url(space))


@document_view(Action.MANAGE_DOCUMENT)
def document_reveal(request, document):
    """Make visible to legal representatives: irreversible, so it asks for confirmation."""
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.reveal_to_representatives(document=document, by=Actor.from_request(request))
        messages.success(request, _("Le document est désormais visible des représentants légaux."))
        return redirect(
            "dossier:detail", space_id=document.space.public_id, document_id=document.public_id
        )
    return render(
        request,
        "dossier/reveal.html",
        {"space": document.space, "document": document, "form": form},
    )


@document_view(Action.MANAGE_DOCUMENT)
def document_new_version(request, document):
    form = NewVersionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        if document.author_professional_id is not None:
            form.add_error(
                None, _("Seul son auteur peut remplacer le document d'un professionnel.")
            )
        else:
            try:
                new = services.add_document(
                    space=document.space,
                    type_code=document.type_code,
                    title=document.title,
                    act_date=document.act_date,
                    data=form.cleaned_data["file"].read(),
                    by=Actor.from_request(request),
                    replaces=document,
                )
            except services.DocumentError as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(
                    request,
                    _(
                        "La nouvelle version remplace l'ancienne, qui reste "
                        "consultable comme version obsolète."
                    ),
                )
                return redirect(
                    "dossier:detail", space_id=document.space.public_id, document_id=new.public_id
                )
    return render(
        request,
        "dossier/new_version.html",
        {"space": document.space, "document": document, "form": form},
    )
