"""The patient's messaging pages (the holder, or a minor's legal representative).

Every view takes the space through `space_view`: READ_MESSAGES lets only the patient's
side in (a professional's messaging is the pro portal's), MANAGE_ACCESS for refusing a
sender. A conversation or an attachment is looked up within that space and the patient's
mailbox (another one is a 404, traced), then the services decide on the conversation
itself (`ConversationTarget`) and trace what is read or changed.
"""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from acces import matrix
from acces.access import space_view, trace_refusal
from acces.models import Professional
from acces.policy import Action, decide, documents_visible_to
from acces.principal import Principal
from dossier.models import Category, Document, DocumentType
from espace_sante.tracing import Actor
from messagerie import sealing, selectors, services
from messagerie.forms import (
    AddToDocumentsForm,
    ComposeForm,
    ConfirmForm,
    PrescriptionForm,
    ReplyForm,
    new_attachments,
)
from messagerie.models import Attachment, Conversation, ConversationMember, Mailbox

# How many documents of the record the reply form offers at once (a search finds others).
REPLY_DOCUMENTS = 20

FOLDER_LABELS = {
    "inbox": _lazy("Boîte de réception"),
    "sent": _lazy("Envoyés"),
    "drafts": _lazy("Brouillons"),
    "trash": _lazy("Corbeille"),
}


def _who(request):
    return {"by": Actor.from_request(request), "principal": Principal.from_request(request)}


def _conversation(request, space, conversation_id, action=Action.READ_MESSAGES) -> Conversation:
    """The conversation of this space that the patient's mailbox holds, or a traced 404."""
    conversation = (
        Conversation.objects.select_related("space__holder", "data_key")
        .filter(public_id=conversation_id, space=space)
        .filter(
            members__mailbox__space=space,
            members__mailbox__kind=Mailbox.Kind.PATIENT,
            members__deleted_at__isnull=True,
        )
        .first()
    )
    if conversation is None:
        trace_refusal(request, space.public_id, action, "conversation_not_found")
        raise Http404("Conversation introuvable")
    return conversation


def _attachment(request, space, attachment_id) -> Attachment:
    attachment = (
        Attachment.objects.select_related(
            "data_key",
            "message__conversation__space__holder",
            "message__sender",
            "message__sender_professional__user",
            "source_document",
        )
        .filter(public_id=attachment_id, message__conversation__space=space)
        .filter(
            message__conversation__members__mailbox__space=space,
            message__conversation__members__deleted_at__isnull=True,
        )
        .first()
    )
    if attachment is None or not selectors.attachment_reaches(attachment, request.access):
        # A copy of a document hidden from legal representatives does not exist for them.
        trace_refusal(request, space.public_id, Action.READ_MESSAGES, "attachment_not_found")
        raise Http404("Pièce jointe introuvable")
    return attachment


def _page(total: int, number: int):
    """A Django Page over the folder's total (no query), for the shared pagination include."""
    return Paginator(range(total), selectors.PER_PAGE).get_page(number)


# --- Folders ---------------------------------------------------------------------------------


def _folder_view(request, space, folder: str):
    box = services.patient_mailbox(space)
    search = " ".join(request.GET.get("q", "").split())[:100]
    try:
        number = int(request.GET.get("page", 1))
    except ValueError:
        number = 1
    folder_page = selectors.inbox(box, folder, search=search, page=number)
    return render(
        request,
        "messagerie/inbox.html",
        {
            "space": space,
            "basis": request.access.basis,
            "folder": folder,
            "folder_label": FOLDER_LABELS[folder],
            "folders": [
                (key, label, reverse(f"messagerie:{key}", args=[space.public_id]))
                for key, label in FOLDER_LABELS.items()
            ],
            "rows": folder_page.rows,
            "total": folder_page.total,
            "page": _page(folder_page.total, folder_page.page),
            "search": search,
            "unread": selectors.unread_count(box),
            "usage": selectors.mailbox_usage(box),
            "quota": settings.MAILBOX_MAX_BYTES,
        },
    )


@space_view(Action.READ_MESSAGES)
def inbox(request, space):
    return _folder_view(request, space, "inbox")


@space_view(Action.READ_MESSAGES)
def sent(request, space):
    return _folder_view(request, space, "sent")


@space_view(Action.READ_MESSAGES)
def drafts(request, space):
    return _folder_view(request, space, "drafts")


@space_view(Action.READ_MESSAGES)
def trash_folder(request, space):
    return _folder_view(request, space, "trash")


# --- A conversation --------------------------------------------------------------------------


def _reply_documents(space, decision):
    """The DMP documents the reader may attach: those the policy lets them see."""
    return (
        Document.objects.filter(space=space, is_current=True)
        .filter(documents_visible_to(decision))
        .order_by("-act_date", "-pk")
        .only("pk", "title", "act_date")
    )


def _offered_documents(request, space, decision) -> tuple[list, bool, str]:
    """What the reply form offers to attach: the documents already ticked (a form sent
    back with an error), then the REPLY_DOCUMENTS latest, or those whose title has the
    searched words; whether there are more; the search. One query (two with ticked ones),
    whatever the size of the record."""
    search = " ".join(request.GET.get("documents_titre", "").split())[:100]
    documents = _reply_documents(space, decision)
    found = documents.filter(title__icontains=search) if search else documents
    latest = list(found[: REPLY_DOCUMENTS + 1])
    more = len(latest) > REPLY_DOCUMENTS
    latest = latest[:REPLY_DOCUMENTS]
    shown = {d.pk for d in latest}
    ticked = [
        int(v) for v in request.POST.getlist("documents") if v.isdigit() and int(v) not in shown
    ]
    if ticked:
        latest = list(documents.filter(pk__in=ticked)) + latest
    return latest, more, search


def _conversation_context(request, space, conversation, *, form=None, target=None) -> dict:
    box = services.patient_mailbox(space)
    decision = request.access
    views = selectors.conversation_messages(conversation, box, decision)
    for view in views:
        view.unread = not view.from_me and any(
            r.mailbox_id == box.pk and r.read_at is None for r in view.message.recipients.all()
        )
    principal = Principal.from_request(request)
    target = target or services.conversation_target(conversation)
    may_reply = decide(principal, Action.REPLY, target)
    may_reply_all = decide(principal, Action.REPLY, dataclasses.replace(target, reply_to_all=True))
    member = ConversationMember.objects.get(conversation=conversation, mailbox=box)
    professionals = list(
        Professional.objects.filter(mailbox__memberships__conversation=conversation).select_related(
            "user"
        )
    )
    refused = target.refused_professional_ids
    if form is None and may_reply:
        form = ReplyForm(
            initial={"body": selectors.draft_of(conversation, box)},
            documents=_reply_documents(space, decision),
            reply_all=bool(may_reply_all),
        )
    offered, more_documents, document_search = [], False, ""
    if form is not None and may_reply:
        offered, more_documents, document_search = _offered_documents(request, space, decision)
        form.offer(offered)
    return {
        "space": space,
        "mailbox": box,
        "basis": decision.basis,
        "conversation": conversation,
        "subject": sealing.subject(conversation),
        "views": views,
        "may_reply": may_reply,
        "form": form if may_reply else None,
        "offered_documents": offered,
        "more_documents": more_documents,
        "document_search": document_search,
        "reply_documents": REPLY_DOCUMENTS,
        "trashed": member.trashed_at is not None,
        "professionals": [(p, p.pk in refused) for p in professionals],
    }


def _conversation_page(request, space, conversation, *, form=None, status=200):
    context = _conversation_context(request, space, conversation, form=form)
    return render(request, "messagerie/conversation.html", context, status=status)


@space_view(Action.READ_MESSAGES)
def conversation(request, space, conversation_id):
    """Read a conversation: opening it records the read receipts (the reading is traced).

    The messages are read before they are marked, so the page still shows which are new;
    the navigation's count, rendered after, no longer counts them.
    """
    found = _conversation(request, space, conversation_id)
    target = services.conversation_target(found)  # read once for the page and the marking
    context = _conversation_context(request, space, found, target=target)
    services.mark_read(
        conversation=found, target=target, mailbox=context["mailbox"], **_who(request)
    )
    return render(request, "messagerie/conversation.html", context)


@require_POST
@space_view(Action.READ_MESSAGES)
def reply(request, space, conversation_id):
    found = _conversation(request, space, conversation_id, Action.REPLY)
    target = services.conversation_target(found)
    reply_all = bool(
        decide(
            Principal.from_request(request),
            Action.REPLY,
            dataclasses.replace(target, reply_to_all=True),
        )
    )
    form = ReplyForm(
        request.POST,
        request.FILES,
        documents=_reply_documents(space, request.access),
        reply_all=reply_all,
    )
    if not form.is_valid():
        return _conversation_page(request, space, found, form=form, status=400)
    data = form.cleaned_data
    try:
        if request.POST.get("draft") == "1":
            services.save_draft(conversation=found, body=data["body"], **_who(request))
            messages.success(request, _("Votre brouillon est enregistré."))
        else:
            services.reply(
                conversation=found,
                body=data["body"],
                to_all=bool(data.get("to_all")),
                attachments=new_attachments(data["attachments"]),
                dmp_documents=list(data["documents"]),
                include_summary=data["include_summary"],
                **_who(request),
            )
            messages.success(request, _("Votre réponse est envoyée."))
    except services.MessagingError as error:
        form.add_error(error.field if error.field in form.fields else None, str(error))
        return _conversation_page(request, space, found, form=form, status=400)
    return redirect(
        "messagerie:conversation", space_id=space.public_id, conversation_id=found.public_id
    )


# --- Folders: trash, restore, delete for good ------------------------------------------------


@require_POST
@space_view(Action.READ_MESSAGES)
def move_to_trash(request, space, conversation_id):
    found = _conversation(request, space, conversation_id)
    services.trash(conversation=found, **_who(request))
    messages.success(request, _("La conversation est dans la corbeille."))
    return redirect("messagerie:inbox", space_id=space.public_id)


@require_POST
@space_view(Action.READ_MESSAGES)
def restore(request, space, conversation_id):
    found = _conversation(request, space, conversation_id)
    services.restore(conversation=found, **_who(request))
    messages.success(request, _("La conversation est retirée de la corbeille."))
    return redirect(
        "messagerie:conversation", space_id=space.public_id, conversation_id=found.public_id
    )


@space_view(Action.READ_MESSAGES)
def delete(request, space, conversation_id):
    """Delete for good: a page of its own asks for confirmation, only its POST deletes."""
    found = _conversation(request, space, conversation_id)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.delete_for_good(conversation=found, **_who(request))
        messages.success(request, _("La conversation est supprimée définitivement."))
        return redirect("messagerie:trash", space_id=space.public_id)
    return render(
        request,
        "messagerie/delete_confirm.html",
        {"space": space, "conversation": found, "subject": sealing.subject(found), "form": form},
        status=400 if form.is_bound else 200,
    )


# --- Attachments -----------------------------------------------------------------------------


@space_view(Action.READ_MESSAGES)
def download(request, space, attachment_id):
    """Decrypt and send an attachment, never to be shown inline by the browser."""
    attachment = _attachment(request, space, attachment_id)
    try:
        chunks = services.download_attachment(attachment=attachment, **_who(request))
    except services.MessagingError as error:
        trace_refusal(request, space.public_id, Action.READ_MESSAGES, error.reason or "hidden")
        raise Http404("Pièce jointe introuvable") from None
    name = sealing.attachment_name(attachment).rsplit(".", 1)[0]
    filename = f"{slugify(name)[:60] or 'piece-jointe'}.{attachment.extension}"
    response = StreamingHttpResponse(chunks, content_type=attachment.content_type)
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def _types_for(attachment: Attachment):
    """The document types the sender's profession may add (what the service accepts)."""
    sender = attachment.message.sender_professional
    codes = sorted(matrix.type_codes_for(sender.profession)) if sender else []
    return (
        DocumentType.objects.filter(code__in=codes)
        .exclude(category=Category.OCCUPATIONAL)
        .order_by("label")
    )


@space_view(Action.READ_MESSAGES)
def add_to_documents(request, space, attachment_id):
    """ "Ajouter aux documents": a professional's attachment becomes a document of the DMP."""
    attachment = _attachment(request, space, attachment_id)
    name = sealing.attachment_name(attachment)
    form = AddToDocumentsForm(
        request.POST or None, types=_types_for(attachment), initial={"title": name}
    )
    if request.method == "POST" and form.is_valid():
        try:
            document = services.add_attachment_to_dmp(
                attachment=attachment,
                type_code=form.cleaned_data["type_code"],
                title=form.cleaned_data["title"],
                act_date=form.cleaned_data["act_date"],
                **_who(request),
            )
        except services.MessagingError as error:
            form.add_error("type_code" if error.field == "type" else None, str(error))
        else:
            messages.success(request, _("La pièce jointe est ajoutée à vos documents."))
            return redirect(
                "dossier:detail", space_id=space.public_id, document_id=document.public_id
            )
    return render(
        request,
        "messagerie/add_to_documents.html",
        {
            "space": space,
            "attachment": attachment,
            "name": name,
            "conversation": attachment.message.conversation,
            "form": form,
        },
        status=400 if form.errors else 200,
    )


# --- Writing first: to a professional who wrote, a prescription to a pharmacy ----------------


@space_view(Action.READ_MESSAGES)
def compose(request, space):
    """A new conversation, only with a professional who already wrote to the patient."""
    writers = services.writer_ids(space) - services.refused_professional_ids(space)
    queryset = Professional.objects.filter(pk__in=writers).select_related("user")
    form = ComposeForm(request.POST or None, request.FILES or None, writers=queryset)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            started = services.start_conversation(
                space=space,
                subject=data["subject"],
                body=data["body"],
                to=[data["to"]],
                attachments=new_attachments(data["attachments"]),
                **_who(request),
            )
        except services.MessagingError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, _("Votre message est envoyé."))
            return redirect(
                "messagerie:conversation",
                space_id=space.public_id,
                conversation_id=started.public_id,
            )
    return render(
        request,
        "messagerie/compose.html",
        {"space": space, "form": form, "has_writers": bool(writers)},
        status=400 if form.errors else 200,
    )


@space_view(Action.READ_MESSAGES)
def prescription(request, space):
    """Send a prescription of the DMP to a pharmacy whose mailbox accepts them."""
    pharmacies = Mailbox.objects.filter(
        kind=Mailbox.Kind.ORGANISATIONAL,
        organisation_kind=Mailbox.OrganisationKind.PHARMACIE,
        accepts_prescriptions=True,
    ).order_by("name")
    prescriptions = (
        Document.objects.filter(space=space, is_current=True, category=Category.PRESCRIPTIONS)
        .filter(documents_visible_to(request.access))
        .order_by("-act_date", "-pk")
    )
    form = PrescriptionForm(
        request.POST or None, pharmacies=pharmacies, prescriptions=prescriptions
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sent_to = services.send_prescription_to_pharmacy(
                space=space,
                pharmacy=data["pharmacy"],
                prescription=data["prescription"],
                body=data["body"],
                **_who(request),
            )
        except services.MessagingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Votre ordonnance est envoyée à la pharmacie."))
            return redirect(
                "messagerie:conversation",
                space_id=space.public_id,
                conversation_id=sent_to.public_id,
            )
    return render(
        request,
        "messagerie/prescription.html",
        {"space": space, "form": form},
        status=400 if form.errors else 200,
    )


# --- Refusing a sender -----------------------------------------------------------------------


def _sender(request, space, rpps: str) -> Professional:
    professional = Professional.objects.select_related("user").filter(rpps=rpps).first()
    if professional is None:
        trace_refusal(request, space.public_id, Action.MANAGE_ACCESS, "professional_not_found")
        raise Http404("Professionnel introuvable")
    return professional


@space_view(Action.MANAGE_ACCESS)
def refuse_sender(request, space, rpps):
    """Refuse a professional's messages (confirmation first); DMP access is not changed."""
    professional = _sender(request, space, rpps)
    if request.method == "POST" and request.POST.get("confirm") == "1":
        services.refuse_sender(space=space, professional=professional, **_who(request))
        messages.success(
            request,
            _("Vous ne recevrez plus de messages de %(name)s.") % {"name": professional.title},
        )
        return redirect("messagerie:inbox", space_id=space.public_id)
    return render(
        request,
        "messagerie/refuse_confirm.html",
        {"space": space, "professional": professional},
    )


@require_POST
@space_view(Action.MANAGE_ACCESS)
def lift_refusal(request, space, rpps):
    professional = _sender(request, space, rpps)
    services.lift_refusal(space=space, professional=professional, **_who(request))
    messages.success(
        request,
        _("%(name)s peut de nouveau vous écrire.") % {"name": professional.title},
    )
    # From "Qui a accès à mon dossier", back there; from the messaging, to the inbox.
    back = "acces_patient:page" if request.POST.get("next") == "acces" else "messagerie:inbox"
    return redirect(back, space_id=space.public_id)
