"""The messaging of the pro portal: a professional's folders, composing to a patient, a
conversation (read receipts, reply, ending it, attachments and filing them into the DMP).

Every view reaches a conversation through `_conversation_for` (the policy's READ_MESSAGES,
as `messagerie.services.decide_read` asks it, and a mailbox of the reader's taking part)
and every change through a service, which asks the policy again. A refusal is traced in
the space's trail and shows nothing of the messages.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from acces.decorators import professional_required
from acces.models import AuditEvent
from acces.policy import Action, decide, types_addable_under
from acces.principal import Principal
from acces.selectors import patients_of
from acces.targets import ConversationTarget
from dossier.models import DocumentType
from espace_sante.models import Space
from espace_sante.tracing import Actor, trace
from messagerie import sealing, selectors, services
from messagerie.actions import MessagingAction
from messagerie.models import Attachment, Conversation, Mailbox
from messagerie.pro_forms import ComposeForm, FileForm, ReplyForm, new_attachments

FOLDER_LABELS = {
    "inbox": _lazy("Boîte de réception"),
    "sent": _lazy("Envoyés"),
    "drafts": _lazy("Brouillons"),
    "trash": _lazy("Corbeille"),
}


def _mailboxes(professional) -> list[Mailbox]:
    """The professional's own mailbox, then the organisations' they read."""
    own = services.personal_mailbox(professional)
    organisations = Mailbox.objects.filter(
        kind=Mailbox.Kind.ORGANISATIONAL, members=professional
    ).order_by("name", "pk")
    return [own, *organisations]


def _deny(request, *, space, action, target, reason: str) -> None:
    with transaction.atomic():
        trace(
            actor=Actor.from_request(request),
            action=str(action),
            space=space,
            target=target,
            outcome=AuditEvent.Outcome.DENIED,
            detail={"reason": reason},
        )


def _refused(request, message: str, *, status: int = 403):
    return render(request, "messagerie/pro/refused.html", {"message": message}, status=status)


def _conversation_for(request, conversation_id) -> tuple[Conversation, Mailbox]:
    """The conversation if the professional takes part in it (the policy decides), and
    the mailbox through which they do; traced refusal (403) or 404 otherwise."""
    conversation = (
        Conversation.objects.select_related("space__holder", "data_key")
        .filter(public_id=conversation_id)
        .first()
    )
    if conversation is None:
        _deny(
            request,
            space=None,
            action=Action.READ_MESSAGES,
            target=("messagerie.conversation", conversation_id),
            reason="not_found",
        )
        raise Http404("Conversation introuvable")
    actor, principal = Actor.from_request(request), Principal.from_request(request)
    # What the policy reads of the conversation, kept for the rest of the request (the
    # page marks it read under the same reading: five queries, not ten).
    request.conversation_target = services.conversation_target(conversation)
    try:
        request.access = services.decide_read(
            actor, conversation, principal, request.conversation_target
        )
        mailbox = services.mailbox_of_reader(actor, conversation)
    except services.MessagingError as exc:
        _deny(
            request,
            space=conversation.space,
            action=Action.READ_MESSAGES,
            target=conversation,
            reason=exc.reason,
        )
        raise PermissionDenied("Accès refusé") from exc
    return conversation, mailbox


def _page(request) -> int:
    try:
        return int(request.GET.get("page", 1))
    except ValueError:
        return 1


def _trace_folder(request, mailbox: Mailbox, folder: str, page: selectors.InboxPage) -> None:
    """The folder's opening, on the professional's own chain (not on each patient's trail:
    a patient's trail gets the event when a conversation of theirs is opened). The detail
    names the conversations listed, never their subjects nor the words searched."""
    with transaction.atomic():
        trace(
            actor=Actor.from_request(request),
            action=MessagingAction.PRO_INBOX_VIEWED,
            target=mailbox,
            detail={
                "folder": folder,
                "page": page.page,
                "searched": bool(page.search.strip()),
                "conversations": [str(row.conversation.public_id) for row in page.rows],
            },
        )


@professional_required
def inbox(request):
    """One folder of one of the professional's mailboxes, newest first, searchable."""
    mailboxes = _mailboxes(request.user.professional)
    by_pk = {m.pk: m for m in mailboxes}
    try:
        mailbox = by_pk.get(int(request.GET.get("boite", mailboxes[0].pk)), mailboxes[0])
    except ValueError:
        mailbox = mailboxes[0]
    folder = request.GET.get("dossier", "inbox")
    if folder not in selectors.FOLDERS:
        folder = "inbox"
    search = request.GET.get("q", "")[:100]
    page = selectors.inbox(mailbox, folder, search=search, page=_page(request))
    _trace_folder(request, mailbox, folder, page)
    return render(
        request,
        "messagerie/pro/inbox.html",
        {
            "mailbox": mailbox,
            "mailboxes": [(m, selectors.unread_count(m)) for m in mailboxes]
            if len(mailboxes) > 1
            else [],
            "folders": [(key, FOLDER_LABELS[key]) for key in selectors.FOLDERS],
            "folder_label": FOLDER_LABELS[folder],
            "page": page,
            "unread": selectors.unread_count(mailbox),
            "email_alerts": mailboxes[0].email_alerts,
        },
    )


@professional_required
@require_POST
def email_alerts(request):
    """Turn on or off the content-free email that says a patient wrote."""
    on = request.POST.get("alertes") == "on"
    services.set_email_alerts(request.user.professional, on=on)
    messages.success(
        request,
        _("Vous serez prévenu par e-mail des nouveaux messages.")
        if on
        else _("Vous ne serez plus prévenu par e-mail des nouveaux messages."),
    )
    return redirect("messagerie_pro:inbox")


@professional_required
def choose_patient(request):
    """Compose from the messaging page: the patient among those the professional may open
    (whether they may write to them is the policy's, on the next page)."""
    patients = patients_of(request.user)[:200]
    return render(request, "messagerie/pro/choose.html", {"patients": patients})


@professional_required
def compose(request, space_id):
    """A new conversation with the patient of `space_id`, if the policy lets them write."""
    actor, principal = Actor.from_request(request), Principal.from_request(request)
    professional = request.user.professional
    space = Space.objects.select_related("holder").filter(public_id=space_id).first()
    if space is None:
        _deny(
            request,
            space=None,
            action=Action.START_CONVERSATION,
            target=("espace_sante.space", space_id),
            reason="not_found",
        )
        raise Http404("Espace introuvable")
    target = ConversationTarget(
        space=space,
        professional_ids=frozenset({professional.pk}),
        refused_professional_ids=services.refused_professional_ids(space),
    )
    decision = decide(principal, Action.START_CONVERSATION, target)
    if not decision:
        _deny(
            request,
            space=space,
            action=Action.START_CONVERSATION,
            target=("espace_sante.space", space.public_id),
            reason=decision.reason,
        )
        return _refused(request, decision.message)
    mailboxes = _mailboxes(professional)
    form = ComposeForm(
        request.POST or None,
        request.FILES or None,
        professional=professional,
        space=space,
        mailboxes=mailboxes,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        mailbox = {m.pk: m for m in mailboxes}.get(data.get("mailbox") or mailboxes[0].pk)
        try:
            conversation = services.start_conversation(
                by=actor,
                space=space,
                subject=data["subject"],
                body=data["body"],
                attachments=new_attachments(data["attachments"]),
                cc=list(data.get("cc") or ()),
                mailbox=mailbox,
                principal=principal,
            )
        except services.MessagingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, _("Votre message est envoyé au patient."))
            return redirect("messagerie_pro:conversation", conversation_id=conversation.public_id)
    return render(
        request,
        "messagerie/pro/compose.html",
        {"space": space, "holder": space.holder, "form": form},
    )


def _conversation_page(request, conversation, mailbox, *, reply_form=None, file_form=None):
    views = selectors.conversation_messages(conversation, mailbox, request.access)
    space = conversation.space
    file_decision = decide(
        Principal.from_request(request),
        Action.VIEW_SPACE,
        space,
    )
    types = list(DocumentType.objects.filter(types_addable_under(file_decision)))
    return render(
        request,
        "messagerie/pro/conversation.html",
        {
            "conversation": conversation,
            "subject": sealing.subject(conversation),
            "space": space,
            "holder": space.holder,
            "mailbox": mailbox,
            "views": views,
            "ended": conversation.ended_at is not None,
            "reply_form": reply_form
            or ReplyForm(initial={"body": selectors.draft_of(conversation, mailbox)}),
            "trashed": conversation.members.filter(
                mailbox=mailbox, trashed_at__isnull=False
            ).exists(),
            "file_form": file_form if file_form is not None else FileForm(types=types),
            "may_file": bool(types),
        },
    )


@professional_required
def conversation(request, conversation_id):
    conversation, mailbox = _conversation_for(request, conversation_id)
    services.mark_read(
        by=Actor.from_request(request),
        conversation=conversation,
        mailbox=mailbox,
        principal=Principal.from_request(request),
        target=request.conversation_target,
    )
    return _conversation_page(request, conversation, mailbox)


@require_POST
@professional_required
def reply(request, conversation_id):
    """Send the reply, or keep it as the mailbox's draft ("Enregistrer le brouillon")."""
    conversation, mailbox = _conversation_for(request, conversation_id)
    form = ReplyForm(request.POST, request.FILES)
    if "brouillon" in request.POST:
        services.save_draft(
            by=Actor.from_request(request),
            conversation=conversation,
            body=request.POST.get("body", "")[: services.MAX_BODY],
            mailbox=mailbox,
            principal=Principal.from_request(request),
        )
        messages.success(request, _("Votre brouillon est enregistré."))
        return redirect("messagerie_pro:conversation", conversation_id=conversation.public_id)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.reply(
                by=Actor.from_request(request),
                conversation=conversation,
                body=data["body"],
                attachments=new_attachments(data["attachments"]),
                mailbox=mailbox,
                reply_mode=data["reply_mode"],
                principal=Principal.from_request(request),
            )
        except services.MessagingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, _("Votre réponse est envoyée."))
            return redirect("messagerie_pro:conversation", conversation_id=conversation.public_id)
    return _conversation_page(request, conversation, mailbox, reply_form=form)


@professional_required
def end(request, conversation_id):
    """Ending the exchange ("Mettre fin aux échanges"): GET asks to confirm, POST ends it."""
    conversation, _mailbox = _conversation_for(request, conversation_id)
    if request.method == "POST":
        try:
            services.end_conversation(
                by=Actor.from_request(request),
                conversation=conversation,
                principal=Principal.from_request(request),
            )
        except services.MessagingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("Vous avez mis fin aux échanges : le patient ne peut plus vous répondre."),
            )
        return redirect("messagerie_pro:conversation", conversation_id=conversation.public_id)
    return render(
        request,
        "messagerie/pro/end_confirm.html",
        {"conversation": conversation, "subject": sealing.subject(conversation)},
    )


def _attachment_of(conversation, attachment_id) -> Attachment:
    attachment = (
        Attachment.objects.select_related("message__conversation__space", "data_key")
        .filter(public_id=attachment_id, message__conversation=conversation)
        .first()
    )
    if attachment is None:
        raise Http404("Pièce jointe introuvable")
    return attachment


@professional_required
def download(request, conversation_id, attachment_id):
    """Decrypt and send as an attachment, never rendered by the browser."""
    conversation, _mailbox = _conversation_for(request, conversation_id)
    attachment = _attachment_of(conversation, attachment_id)
    try:
        chunks = services.download_attachment(
            by=Actor.from_request(request),
            attachment=attachment,
            principal=Principal.from_request(request),
        )
    except services.MessagingError as exc:
        raise PermissionDenied("Accès refusé") from exc
    response = StreamingHttpResponse(chunks, content_type=attachment.content_type)
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = (
        f'attachment; filename="piece-jointe-{attachment.pk}.{attachment.extension}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@professional_required
def file_into_dmp(request, conversation_id, attachment_id):
    """File an attachment into the patient's DMP, as a type the matrix lets them add."""
    conversation, _mailbox = _conversation_for(request, conversation_id)
    attachment = _attachment_of(conversation, attachment_id)
    types = list(
        DocumentType.objects.filter(
            types_addable_under(
                decide(Principal.from_request(request), Action.VIEW_SPACE, conversation.space)
            )
        )
    )
    form = FileForm(request.POST, types=types)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.file_attachment_into_dmp(
                by=Actor.from_request(request),
                attachment=attachment,
                type_code=data["type_code"],
                title=data["title"],
                act_date=data["act_date"],
                principal=Principal.from_request(request),
            )
        except services.MessagingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("La pièce jointe est classée dans le dossier du patient."))
        return redirect("messagerie_pro:conversation", conversation_id=conversation.public_id)
    messages.error(request, _("Choisissez le type de document."))
    return redirect("messagerie_pro:conversation", conversation_id=conversation.public_id)


def _folder_action(request, conversation_id, change, done: str):
    conversation, mailbox = _conversation_for(request, conversation_id)
    change(
        by=Actor.from_request(request),
        conversation=conversation,
        mailbox=mailbox,
        principal=Principal.from_request(request),
    )
    messages.success(request, done)
    return conversation, mailbox


@require_POST
@professional_required
def move_to_trash(request, conversation_id):
    _conversation, mailbox = _folder_action(
        request, conversation_id, services.trash, _("La conversation est dans la corbeille.")
    )
    return redirect(f"{reverse('messagerie_pro:inbox')}?boite={mailbox.pk}&dossier=trash")


@require_POST
@professional_required
def restore(request, conversation_id):
    conversation, _mailbox = _folder_action(
        request, conversation_id, services.restore, _("La conversation est restaurée.")
    )
    return redirect("messagerie_pro:conversation", conversation_id=conversation.public_id)


@require_POST
@professional_required
def delete(request, conversation_id):
    """Delete for good, for this mailbox only (the patient keeps her copy)."""
    _conversation, mailbox = _folder_action(
        request,
        conversation_id,
        services.delete_for_good,
        _("La conversation est supprimée définitivement de votre messagerie."),
    )
    return redirect(f"{reverse('messagerie_pro:inbox')}?boite={mailbox.pk}&dossier=trash")
