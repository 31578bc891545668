"""What changes the messaging: send, reply, end, read, folders, refusals, filing into the DMP.

Every change asks `acces.policy.decide` first (on a `ConversationTarget` built here),
is traced with a `MessagingAction` in the same transaction, and a new message to a
patient notifies them with no medical content ("message_received"). Refusals raise
`MessagingError`, whose message is French and shown as it is; nothing is stored then.

`by` is the `Actor` who acts; `principal` (optional) is who the policy decides for, from
the request (its sign-in level), by default `by`'s user acting themself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from acces import matrix
from acces.models import Block, Professional
from acces.policy import PATIENT_BASES, Action, Basis, Decision, decide, export_decision
from acces.principal import Principal
from acces.targets import ConversationTarget, NewDocument
from dossier import services as dossier_services
from dossier.models import Category, Document, DocumentType
from dossier.validation import RejectedFile, sniff
from espace_sante import crypto
from espace_sante.models import Notification, Space, User
from espace_sante.notifications import notify, notify_space
from espace_sante.tracing import Actor, trace
from messagerie import retention, sealing, selectors
from messagerie.actions import MessagingAction
from messagerie.models import (
    Attachment,
    Conversation,
    ConversationMember,
    Mailbox,
    Message,
    MessageRecipient,
    SenderRefusal,
)

MAX_SUBJECT = 200
# A professional is emailed that a patient wrote at most once in this interval.
PRO_EMAIL_INTERVAL = timedelta(hours=1)
PRO_EMAIL = "pro_message_received"
MAX_BODY = 20_000
ReplyMode = Message.ReplyMode


class MessagingError(Exception):
    """A refused messaging action; `str()` is the French message for the person."""

    def __init__(self, message: str, *, reason: str = "", field: str = ""):
        super().__init__(message)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class NewAttachment:
    """A file to attach: its name as uploaded, and its bytes (checked by their content)."""

    name: str
    data: bytes


# --- Mailboxes -------------------------------------------------------------------------------


def patient_mailbox(space: Space) -> Mailbox:
    """The space's mailbox, created the first time it is needed (one per space)."""
    mailbox, _created = Mailbox.objects.get_or_create(
        space=space, defaults={"kind": Mailbox.Kind.PATIENT}
    )
    return mailbox


def set_email_alerts(professional: Professional, *, on: bool) -> Mailbox:
    """The professional's choice to be emailed when a patient writes (or not)."""
    mailbox = personal_mailbox(professional)
    if mailbox.email_alerts != on:
        mailbox.email_alerts = on
        mailbox.save(update_fields=["email_alerts"])
    return mailbox


def personal_mailbox(professional: Professional) -> Mailbox:
    """The professional's own mailbox (one per professional), with an MSSanté address."""
    mailbox = Mailbox.objects.filter(professional=professional).first()
    if mailbox is not None:
        return mailbox
    user = professional.user
    local = ".".join(p for p in (slugify(user.first_name), slugify(user.last_name)) if p)
    address = f"{local or 'pro'}.{professional.rpps}@{professional.profession}.mssante.fr"
    mailbox, _created = Mailbox.objects.get_or_create(
        professional=professional,
        defaults={"kind": Mailbox.Kind.PERSONAL, "stored_address": address},
    )
    return mailbox


def _professional(by: Actor) -> Professional:
    professional = getattr(by.user, "professional", None) if by.user else None
    if professional is None:
        raise MessagingError(_("Seul un professionnel de santé peut faire cela."), reason="role")
    return professional


def _sending_mailbox(professional: Professional, mailbox: Mailbox | None) -> Mailbox:
    """The mailbox a professional writes from: their own, or an organisation's they read."""
    if (
        mailbox is not None
        and mailbox.kind == Mailbox.Kind.PERSONAL
        and mailbox.professional_id == professional.pk
    ):
        return mailbox  # their own (one personal mailbox per professional): no query
    if mailbox is None or mailbox.kind == Mailbox.Kind.PERSONAL:
        own = personal_mailbox(professional)
        if mailbox is not None and mailbox.pk != own.pk:
            raise MessagingError(_("Cette messagerie n'est pas la vôtre."), reason="mailbox")
        return own
    if (
        mailbox.kind != Mailbox.Kind.ORGANISATIONAL
        or not mailbox.members.filter(pk=professional.pk).exists()
    ):
        raise MessagingError(_("Cette messagerie n'est pas la vôtre."), reason="mailbox")
    return mailbox


def mailbox_of_reader(by: Actor, conversation: Conversation, mailbox: Mailbox | None = None):
    """The mailbox through which `by` takes part in `conversation`: the patient's for the
    holder or a representative, else the professional's own or an organisation's one."""
    if by.user is not None and by.user.kind == User.Kind.PATIENT:
        if (
            mailbox is not None
            and mailbox.kind == Mailbox.Kind.PATIENT
            and mailbox.space_id == conversation.space_id
        ):
            return mailbox  # the page has just read the space's mailbox
        return patient_mailbox(conversation.space)
    professional = _professional(by)
    if mailbox is not None:
        return _sending_mailbox(professional, mailbox)
    own = Mailbox.objects.filter(professional=professional).first()
    ids = set(conversation.members.values_list("mailbox_id", flat=True))
    if own is not None and own.pk in ids:
        return own
    organisation = (
        Mailbox.objects.filter(pk__in=ids, kind=Mailbox.Kind.ORGANISATIONAL, members=professional)
        .order_by("pk")
        .first()
    )
    if organisation is not None:
        return organisation
    raise MessagingError(
        str(_("Vous ne participez pas à cette conversation.")), reason="not_a_participant"
    )


# --- What the policy reads -------------------------------------------------------------------


def refused_professional_ids(space: Space) -> frozenset[int]:
    return frozenset(
        SenderRefusal.objects.active().filter(space=space).values_list("professional_id", flat=True)
    )


def writer_ids(space: Space) -> frozenset[int]:
    """The professionals who ever sent a message in the space's conversations."""
    return frozenset(
        Message.objects.filter(
            conversation__space=space, is_draft=False, sender_professional__isnull=False
        )
        .exclude(sender__kind=Mailbox.Kind.PATIENT)
        .values_list("sender_professional_id", flat=True)
    )


def participant_ids(conversation: Conversation) -> frozenset[int]:
    """The professionals taking part: owners of personal mailboxes, members of the others'."""
    mailboxes = conversation.members.values("mailbox_id")
    personal = Professional.objects.filter(mailbox__in=mailboxes).values_list("pk", flat=True)
    members = Mailbox.members.through.objects.filter(mailbox_id__in=mailboxes).values_list(
        "professional_id", flat=True
    )
    return frozenset(personal) | frozenset(members)


def _last_professional_message(conversation: Conversation) -> Message | None:
    return (
        conversation.messages.filter(is_draft=False)
        .exclude(sender__kind=Mailbox.Kind.PATIENT)
        .select_related("sender")
        .order_by("-sent_at", "-pk")
        .first()
    )


def conversation_target(conversation: Conversation, *, to_all: bool = False) -> ConversationTarget:
    """What the policy reads of `conversation` (`acces.targets.ConversationTarget`)."""
    last = _last_professional_message(conversation)
    participants = participant_ids(conversation)
    if last is None:
        # The patient opened it and no professional answered yet: she may write again to
        # those she wrote to, as she could write to them first (they wrote to her before).
        writers, reply_mode = writer_ids(conversation.space) & participants, ReplyMode.REPLY_ALL
    else:
        writers = frozenset(
            conversation.messages.filter(is_draft=False, sender_professional__isnull=False)
            .exclude(sender__kind=Mailbox.Kind.PATIENT)
            .values_list("sender_professional_id", flat=True)
        )
        reply_mode = last.reply_mode
    return ConversationTarget(
        space=conversation.space,
        professional_ids=participants,
        writer_ids=writers,
        refused_professional_ids=refused_professional_ids(conversation.space),
        ended=conversation.ended_at is not None,
        reply_mode=reply_mode,
        reply_to_all=to_all,
        imported=conversation.imported_at is not None,
    )


def _decide(by: Actor, principal, action: Action, target) -> Decision:
    decision = decide(principal or Principal.of_user(by.user), action, target)
    if not decision:
        raise MessagingError(decision.message, reason=decision.reason)
    return decision


def decide_read(
    by: Actor, conversation: Conversation, principal=None, target: ConversationTarget | None = None
) -> Decision:
    """The reader's decision on `conversation` (READ_MESSAGES), or MessagingError. `target`:
    what the policy reads of it, when the caller has just read it (five queries saved)."""
    if target is None:
        target = conversation_target(conversation)
    return _decide(by, principal, Action.READ_MESSAGES, target)


# --- Attachments -----------------------------------------------------------------------------


def _filesize(size: int) -> str:
    return str(filesizeformat(size)).replace("\xa0", " ")


def _checked(files: Sequence[NewAttachment]) -> list[tuple[NewAttachment, str]]:
    """Each file with its real type, or MessagingError with the DMP's French messages."""
    checked = []
    for upload in files:
        try:
            checked.append((upload, sniff(upload.data, tiff=True).content_type))
        except RejectedFile as exc:
            raise MessagingError(str(exc), reason="rejected_file", field="attachments") from exc
    return checked


def _check_sizes(total: int, mailboxes: Iterable[Mailbox], sender: Mailbox) -> None:
    if total > settings.MESSAGE_MAX_BYTES:
        raise MessagingError(
            _("Les pièces jointes d'un message ne peuvent pas dépasser %(limit)s.")
            % {"limit": _filesize(settings.MESSAGE_MAX_BYTES)},
            reason="message_too_large",
            field="attachments",
        )
    if not total:
        return
    limit = settings.MAILBOX_MAX_BYTES
    for mailbox in mailboxes:
        used = selectors.mailbox_usage(mailbox)
        if used + total <= limit:
            continue
        if mailbox.pk == sender.pk:
            message = _(
                "Votre messagerie est pleine (%(used)s utilisés sur %(limit)s) : supprimez "
                "des conversations ou envoyez moins de pièces jointes."
            ) % {"used": _filesize(used), "limit": _filesize(limit)}
        else:
            message = _(
                "La messagerie du destinataire est pleine : ce message ne peut pas lui "
                "être envoyé avec ces pièces jointes."
            )
        raise MessagingError(message, reason="mailbox_full", field="attachments")


def _store_attachment(
    message: Message,
    name: str,
    data: bytes,
    content_type: str,
    *,
    source_document: Document | None = None,
    invisible_to_representatives: bool = False,
) -> Attachment:
    attachment = Attachment(
        message=message,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        source_document=source_document,
        invisible_to_representatives=invisible_to_representatives,
    )
    sealing.seal_attachment(attachment, (name or "piece-jointe")[:200], data)
    attachment.save()
    return attachment


# --- Sending ---------------------------------------------------------------------------------


def _member(conversation: Conversation, mailbox: Mailbox) -> ConversationMember:
    member, _created = ConversationMember.objects.get_or_create(
        conversation=conversation, mailbox=mailbox
    )
    return member


def _deliver(
    *,
    conversation: Conversation,
    sender: Mailbox,
    by: Actor,
    professional: Professional | None,
    body: str,
    to: Sequence[Mailbox],
    cc: Sequence[Mailbox] = (),
    reply_mode: str = ReplyMode.REPLY_ALL,
    files: Sequence[tuple[NewAttachment, str]] = (),
    copies: Sequence[tuple[str, bytes, str, Document | None, bool]] = (),
) -> Message:
    """Store the message, its attachments and deliveries; move each member's folder state."""
    body = body.strip()
    if not body:
        raise MessagingError(_("Écrivez votre message."), reason="empty", field="body")
    if len(body) > MAX_BODY:
        raise MessagingError(
            _("Le message ne peut pas dépasser %(max)s caractères.") % {"max": MAX_BODY},
            reason="too_long",
            field="body",
        )
    total = sum(len(f.data) for f, _type in files) + sum(len(c[1]) for c in copies)
    recipients = [*to, *[m for m in cc if m not in to]]
    _check_sizes(total, [sender, *recipients], sender)
    now = timezone.now()
    message = Message(
        conversation=conversation,
        sender=sender,
        sender_professional=professional,
        written_by=by.user,
        sent_at=now,
        is_draft=False,
        reply_mode=reply_mode,
        attachments_size=total,
    )
    sealing.seal_body(message, body)
    message.save()
    for upload, content_type in files:
        _store_attachment(message, upload.name, upload.data, content_type)
    for name, data, content_type, document, hidden in copies:
        _store_attachment(
            message,
            name,
            data,
            content_type,
            source_document=document,
            invisible_to_representatives=hidden,
        )
    MessageRecipient.objects.bulk_create(
        [MessageRecipient(message=message, mailbox=m, kind=MessageRecipient.Kind.TO) for m in to]
        + [
            MessageRecipient(message=message, mailbox=m, kind=MessageRecipient.Kind.CC)
            for m in cc
            if m not in to
        ]
    )
    # The sender's own draft in this conversation is what they just sent.
    _discard_drafts(conversation, sender)
    for mailbox in {sender, *recipients}:
        _member(conversation, mailbox)
    ConversationMember.objects.filter(conversation=conversation, mailbox=sender).update(
        sent=True, last_message_at=now, deleted_at=None, trashed_at=None
    )
    ConversationMember.objects.filter(
        conversation=conversation, mailbox__in=[m.pk for m in recipients]
    ).update(
        received=True,
        last_message_at=now,
        unread=F("unread") + 1,
        deleted_at=None,
        trashed_at=None,
    )
    changes = {"last_message_at": now}
    if professional is not None and sender.is_professional:
        changes |= {"ended_at": None, "ended_by": None}  # a professional writing reopens it
    Conversation.objects.filter(pk=conversation.pk).update(**changes)
    for field, value in changes.items():
        setattr(conversation, field, value)
    if any(m.kind == Mailbox.Kind.PATIENT for m in recipients):
        notify_space(
            space=conversation.space,
            template="message_received",
            link=_space_link(conversation.space),
            except_user=by.user,
        )
    if sender.kind == Mailbox.Kind.PATIENT:
        _tell_professionals(recipients)
    return message


def _tell_professionals(mailboxes: Sequence[Mailbox]) -> None:
    """Email each professional a patient's message reached (by their own mailbox or an
    organisation's they read) that a new message awaits them, with nothing else: no
    subject, no patient, no specialty. At most one such email per professional per
    PRO_EMAIL_INTERVAL: their accounts are locked, then the outbox read, so two patients
    writing at once do not both email them."""
    personal = [m.professional_id for m in mailboxes if m.kind == Mailbox.Kind.PERSONAL]
    organisations = [m.pk for m in mailboxes if m.kind == Mailbox.Kind.ORGANISATIONAL]
    professionals = Professional.objects.filter(pk__in=personal)
    if organisations:
        professionals = professionals | Professional.objects.filter(
            organisation_mailboxes__in=organisations
        )
    # Those who turned the alerts off on their own mailbox are not emailed (a professional
    # without a personal mailbox yet has the default: on).
    professionals = professionals.exclude(mailbox__email_alerts=False)
    user_ids = set(professionals.values_list("user_id", flat=True))
    if not user_ids:
        return
    users = list(User.objects.select_for_update().filter(pk__in=user_ids, is_active=True))
    since = timezone.now() - PRO_EMAIL_INTERVAL
    recent = set(
        Notification.objects.filter(
            recipient_id__in=[u.pk for u in users], kind=PRO_EMAIL, created_at__gte=since
        ).values_list("recipient_id", flat=True)
    )
    link = _pro_link()
    for user in users:
        if user.pk not in recent:
            notify(recipient=user, template=PRO_EMAIL, link=link)


def _pro_link() -> str:
    try:
        return reverse("messagerie_pro:inbox")
    except NoReverseMatch:
        return reverse("pro:dashboard")


def _space_link(space: Space) -> str:
    try:
        return reverse("messagerie:inbox", args=[space.public_id])
    except NoReverseMatch:  # the messaging pages come with their own urls
        return reverse("espace_sante:space", args=[space.public_id])


def _check_cc(space: Space, cc: Sequence[Professional], refused: frozenset[int]) -> None:
    blocked = set(
        Block.objects.active()
        .filter(space=space, professional__in=cc)
        .values_list("professional_id", flat=True)
    )
    if blocked or refused & {p.pk for p in cc}:
        raise MessagingError(
            _("Un professionnel en copie ne peut pas recevoir les messages de ce patient."),
            reason="cc_refused",
            field="cc",
        )


def _sealed_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        raise MessagingError(_("Donnez un objet au message."), reason="empty", field="subject")
    if len(subject) > MAX_SUBJECT:
        raise MessagingError(
            _("L'objet ne peut pas dépasser %(max)s caractères.") % {"max": MAX_SUBJECT},
            reason="too_long",
            field="subject",
        )
    return subject


def _new_conversation(space: Space, sender: Mailbox, subject: str) -> Conversation:
    conversation = Conversation(space=space, started_by=sender)
    sealing.seal_subject(conversation, subject)
    conversation.save()
    return conversation


@transaction.atomic
def start_conversation(
    *,
    by: Actor,
    space: Space,
    subject: str,
    body: str,
    attachments: Sequence[NewAttachment] = (),
    cc: Sequence[Professional] = (),
    to: Sequence[Professional] = (),
    mailbox: Mailbox | None = None,
    reply_mode: str = ReplyMode.REPLY_ALL,
    principal: Principal | None = None,
) -> Conversation:
    """A new conversation with the patient of `space`, started by a professional (from
    their own mailbox or an organisation's `mailbox`), copied to `cc` professionals.

    A patient (holder or representative) starts one only with professionals (`to`) who
    already wrote to them. The policy decides (START_CONVERSATION).
    """
    subject = _sealed_subject(subject)
    files = _checked(attachments)
    refused = refused_professional_ids(space)
    if by.user is not None and by.user.kind == User.Kind.PATIENT:
        if not to:
            raise MessagingError(
                _("Choisissez le professionnel à qui écrire."), reason="no_recipient", field="to"
            )
        target = ConversationTarget(
            space=space,
            professional_ids=frozenset(p.pk for p in to),
            writer_ids=writer_ids(space),
            refused_professional_ids=refused,
        )
        decision = _decide(by, principal, Action.START_CONVERSATION, target)
        sender = patient_mailbox(space)
        conversation = _new_conversation(space, sender, subject)
        message = _deliver(
            conversation=conversation,
            sender=sender,
            by=by,
            professional=None,
            body=body,
            to=[personal_mailbox(p) for p in to],
            reply_mode=ReplyMode.REPLY_ALL,
            files=files,
        )
    else:
        professional = _professional(by)
        target = ConversationTarget(
            space=space,
            professional_ids=frozenset({professional.pk}),
            refused_professional_ids=refused,
        )
        decision = _decide(by, principal, Action.START_CONVERSATION, target)
        _check_cc(space, cc, refused)
        sender = _sending_mailbox(professional, mailbox)
        conversation = _new_conversation(space, sender, subject)
        message = _deliver(
            conversation=conversation,
            sender=sender,
            by=by,
            professional=professional,
            body=body,
            to=[patient_mailbox(space)],
            cc=[personal_mailbox(p) for p in cc if p.pk != professional.pk],
            reply_mode=reply_mode,
            files=files,
        )
    trace(
        actor=by,
        action=MessagingAction.CONVERSATION_STARTED,
        space=space,
        target=conversation,
        basis=str(decision.basis or ""),
        detail=_detail(message),
    )
    return conversation


def _detail(message: Message) -> dict:
    """What the trail says of a message: its id and how many files it carries, no content."""
    return {"message": str(message.public_id), "attachments": message.attachments.count()}


@transaction.atomic
def reply(
    *,
    by: Actor,
    conversation: Conversation,
    body: str,
    to_all: bool = False,
    attachments: Sequence[NewAttachment] = (),
    dmp_documents: Sequence[Document] = (),
    include_summary: bool = False,
    mailbox: Mailbox | None = None,
    reply_mode: str = ReplyMode.REPLY_ALL,
    principal: Principal | None = None,
) -> Message:
    """Answer in `conversation`.

    The patient (holder or representative) answers the author of the last professional
    message, or all its professionals (`to_all`) when that message allows it, with
    files, documents of their DMP they may see (`dmp_documents`) and the PDF summary of
    their profile (`include_summary`). A professional taking part writes to the patient
    (and, `to_all`, to the other professionals), which reopens an ended exchange.
    """
    space = conversation.space
    files = _checked(attachments)
    target = conversation_target(conversation, to_all=to_all)
    decision = _decide(by, principal, Action.REPLY, target)
    members = list(conversation.members.select_related("mailbox"))
    professional_boxes = [m.mailbox for m in members if m.mailbox.is_professional]
    if decision.basis in PATIENT_BASES:
        sender = patient_mailbox(space)
        last = _last_professional_message(conversation)
        to = professional_boxes if to_all or last is None else [last.sender]
        copies = _dmp_copies(by, principal, space, dmp_documents, include_summary)
        message = _deliver(
            conversation=conversation,
            sender=sender,
            by=by,
            professional=None,
            body=body,
            to=to,
            files=files,
            copies=copies,
        )
    else:
        if dmp_documents or include_summary:
            raise MessagingError(
                _("Seul le patient joint des documents de son dossier."), reason="dmp_documents"
            )
        professional = _professional(by)
        sender = mailbox_of_reader(by, conversation, mailbox)
        others = [m for m in professional_boxes if m.pk != sender.pk]
        message = _deliver(
            conversation=conversation,
            sender=sender,
            by=by,
            professional=professional,
            body=body,
            to=[patient_mailbox(space)],
            cc=others if to_all else [],
            reply_mode=reply_mode,
            files=files,
        )
    trace(
        actor=by,
        action=MessagingAction.MESSAGE_SENT,
        space=space,
        target=conversation,
        basis=str(decision.basis or ""),
        detail=_detail(message) | ({"to_all": True} if to_all else {}),
    )
    return message


def _dmp_copies(by, principal, space, documents, include_summary):
    """Copies of DMP documents (each one the writer may see) and of the profile's summary."""
    copies = []
    for document in documents:
        if document.space_id != space.pk:
            raise MessagingError(_("Ce document n'est pas accessible."), reason="document")
        _decide(by, principal, Action.VIEW_DOCUMENT, document)
        data = dossier_services.read_content(document)
        name = f"{slugify(document.title)[:60] or 'document'}.{document.extension}"
        copies.append(
            (name, data, document.content_type, document, document.invisible_to_representatives)
        )
    if include_summary:
        from dossier import summary

        _decide(by, principal, Action.VIEW_PROFILE, space)
        # Under the space's export decision: what its representatives may see, if it has any.
        pdf = summary.render_summary_pdf(space, decision=export_decision(space, None))
        name = summary.filename(summary.SUMMARY_FILENAME)
        copies.append((name, pdf, "application/pdf", None, False))
    return copies


@transaction.atomic
def send_prescription_to_pharmacy(
    *,
    by: Actor,
    space: Space,
    pharmacy: Mailbox,
    prescription: Document,
    body: str = "",
    principal: Principal | None = None,
) -> Conversation:
    """The patient sends a prescription of their DMP to a pharmacy whose organisational
    mailbox accepts them: the one message a patient writes first (MSSanté's exception)."""
    accepts = (
        pharmacy.kind == Mailbox.Kind.ORGANISATIONAL
        and pharmacy.organisation_kind == Mailbox.OrganisationKind.PHARMACIE
        and pharmacy.accepts_prescriptions
    )
    if not accepts:
        raise MessagingError(
            _("Cette pharmacie ne reçoit pas d'ordonnances par la messagerie."),
            reason="pharmacy_refuses_prescriptions",
        )
    if prescription.space_id != space.pk or prescription.category != Category.PRESCRIPTIONS:
        raise MessagingError(
            _("Choisissez une ordonnance de votre dossier."), reason="not_a_prescription"
        )
    target = ConversationTarget(
        space=space, refused_professional_ids=frozenset(), prescription_accepted=True
    )
    decision = _decide(by, principal, Action.START_CONVERSATION, target)
    sender = patient_mailbox(space)
    conversation = _new_conversation(space, sender, _("Ordonnance à préparer"))
    copies = _dmp_copies(by, principal, space, [prescription], False)
    message = _deliver(
        conversation=conversation,
        sender=sender,
        by=by,
        professional=None,
        body=body.strip() or _("Voici mon ordonnance."),
        to=[pharmacy],
        copies=copies,
    )
    trace(
        actor=by,
        action=MessagingAction.PRESCRIPTION_SENT,
        space=space,
        target=conversation,
        basis=str(decision.basis or ""),
        detail=_detail(message) | {"pharmacy": pharmacy.pk},
    )
    return conversation


@transaction.atomic
def end_conversation(
    *, by: Actor, conversation: Conversation, principal: Principal | None = None
) -> Conversation:
    """A professional taking part ends the exchange: the patient reads it but cannot reply
    until a professional writes again."""
    professional = _professional(by)
    decision = decide_read(by, conversation, principal)
    if conversation.ended_at is None:
        conversation.ended_at, conversation.ended_by = timezone.now(), professional
        conversation.save(update_fields=["ended_at", "ended_by"])
        trace(
            actor=by,
            action=MessagingAction.CONVERSATION_ENDED,
            space=conversation.space,
            target=conversation,
            basis=str(decision.basis or ""),
        )
    return conversation


@transaction.atomic
def save_draft(
    *,
    by: Actor,
    conversation: Conversation,
    body: str,
    mailbox: Mailbox | None = None,
    principal: Principal | None = None,
) -> Message:
    """Keep the reader's unsent reply in `conversation` (one draft per mailbox)."""
    decision = decide_read(by, conversation, principal)
    sender = mailbox_of_reader(by, conversation, mailbox)
    draft = conversation.messages.filter(sender=sender, is_draft=True).first()
    if draft is None:
        draft = Message(
            conversation=conversation,
            sender=sender,
            sender_professional=getattr(by.user, "professional", None)
            if sender.is_professional
            else None,
            is_draft=True,
        )
    draft.written_by = by.user
    sealing.seal_body(draft, body)
    draft.save()
    trace(
        actor=by,
        action=MessagingAction.DRAFT_SAVED,
        space=conversation.space,
        target=conversation,
        basis=str(decision.basis or ""),
    )
    return draft


def _discard_drafts(conversation: Conversation, mailbox: Mailbox) -> None:
    drafts = conversation.messages.filter(sender=mailbox, is_draft=True).select_related("data_key")
    drafts = list(drafts)
    for draft in drafts:
        crypto.destroy_data_key(draft.data_key)
    Message.objects.filter(pk__in=[d.pk for d in drafts]).delete()


# --- Reading and folders ---------------------------------------------------------------------


@transaction.atomic
def mark_read(
    *,
    by: Actor,
    conversation: Conversation,
    mailbox: Mailbox | None = None,
    principal: Principal | None = None,
    target: ConversationTarget | None = None,
) -> int:
    """The reader opened `conversation`: each message to their mailbox is read (a read
    receipt for its sender), and the mailbox's unread count for it is 0 everywhere.
    `target` as for `decide_read` (the page has just read it: the policy reads it once)."""
    decision = decide_read(by, conversation, principal, target)
    box = mailbox_of_reader(by, conversation, mailbox)
    now = timezone.now()
    count = MessageRecipient.objects.filter(
        message__conversation=conversation, mailbox=box, read_at__isnull=True
    ).update(read_at=now, read_by=by.user)
    ConversationMember.objects.filter(conversation=conversation, mailbox=box).update(
        unread=0, last_read_at=now
    )
    trace(
        actor=by,
        action=MessagingAction.MESSAGE_READ,
        space=conversation.space,
        target=conversation,
        basis=str(decision.basis or ""),
        detail={"messages": count},
    )
    return count


def _folder_change(by, conversation, mailbox, principal, action, **changes) -> ConversationMember:
    decision = decide_read(by, conversation, principal)
    box = mailbox_of_reader(by, conversation, mailbox)
    member = ConversationMember.objects.select_for_update().get(
        conversation=conversation, mailbox=box
    )
    for field, value in changes.items():
        setattr(member, field, value)
    member.save(update_fields=list(changes))
    trace(
        actor=by,
        action=action,
        space=conversation.space,
        target=conversation,
        basis=str(decision.basis or ""),
    )
    return member


@transaction.atomic
def trash(*, by: Actor, conversation: Conversation, mailbox=None, principal=None):
    """Move `conversation` to the reader's trash (the other mailboxes keep it where it is)."""
    return _folder_change(
        by,
        conversation,
        mailbox,
        principal,
        MessagingAction.CONVERSATION_TRASHED,
        trashed_at=timezone.now(),
    )


@transaction.atomic
def restore(*, by: Actor, conversation: Conversation, mailbox=None, principal=None):
    return _folder_change(
        by, conversation, mailbox, principal, MessagingAction.CONVERSATION_RESTORED, trashed_at=None
    )


@transaction.atomic
def delete_for_good(*, by: Actor, conversation: Conversation, mailbox=None, principal=None):
    """Delete `conversation` for the reader's mailbox: it never shows there again.

    Once every mailbox of it deleted it, it is crypto-shredded (`destroy_conversation`).
    """
    member = _folder_change(
        by,
        conversation,
        mailbox,
        principal,
        MessagingAction.CONVERSATION_DELETED,
        deleted_at=timezone.now(),
        unread=0,
    )
    # The names of an imported conversation (ARCHIVE mailboxes) keep nothing alive.
    remaining = conversation.members.filter(deleted_at__isnull=True).exclude(
        mailbox__kind=Mailbox.Kind.ARCHIVE
    )
    if not remaining.exists():
        destroy_conversation(conversation)
    return member


def destroy_conversation(conversation: Conversation) -> None:
    """Crypto-shred a conversation: every data key destroyed, files and rows deleted
    (`retention.shred`, the one routine the space's destruction and the purge use too)."""
    retention.shred([conversation.pk])


# --- Refusing a sender -----------------------------------------------------------------------


@transaction.atomic
def refuse_sender(
    *, by: Actor, space: Space, professional: Professional, principal: Principal | None = None
) -> SenderRefusal:
    """The patient refuses messages from `professional` (their DMP access is not changed)."""
    decision = _decide(by, principal, Action.MANAGE_ACCESS, space)
    refusal = SenderRefusal.objects.active().filter(space=space, professional=professional).first()
    if refusal is None:
        refusal = SenderRefusal.objects.create(space=space, professional=professional)
        trace(
            actor=by,
            action=MessagingAction.SENDER_REFUSED,
            space=space,
            target=professional,
            basis=str(decision.basis or ""),
        )
    return refusal


@transaction.atomic
def lift_refusal(
    *, by: Actor, space: Space, professional: Professional, principal: Principal | None = None
) -> int:
    decision = _decide(by, principal, Action.MANAGE_ACCESS, space)
    lifted = (
        SenderRefusal.objects.active()
        .filter(space=space, professional=professional)
        .update(lifted_at=timezone.now())
    )
    if lifted:
        trace(
            actor=by,
            action=MessagingAction.SENDER_REFUSAL_LIFTED,
            space=space,
            target=professional,
            basis=str(decision.basis or ""),
        )
    return lifted


# --- Attachments: download, into the DMP -----------------------------------------------------


def _readable_attachment(by, attachment: Attachment, principal) -> tuple[Decision, Mailbox]:
    """The reader's decision on the attachment's conversation, if the attachment is theirs
    to see: in a message their mailbox sent or received, and never, for a legal
    representative, a copy of a document invisible to representatives."""
    conversation = attachment.message.conversation
    decision = decide_read(by, conversation, principal)
    box = mailbox_of_reader(by, conversation)
    message = attachment.message
    delivered = message.sender_id == box.pk or message.recipients.filter(mailbox=box).exists()
    hidden = decision.basis == Basis.LEGAL_REPRESENTATIVE and not selectors.attachment_reaches(
        attachment, decision
    )
    if message.is_draft or not delivered or hidden:
        raise MessagingError(_("Cette pièce jointe n'est pas accessible."), reason="hidden")
    return decision, box


@transaction.atomic
def download_attachment(
    *, by: Actor, attachment: Attachment, principal: Principal | None = None
) -> Iterator[bytes]:
    """The decrypted content of `attachment` in chunks for its reader, the download traced.

    The file is authenticated before this returns (`sealing.attachment_chunks`).
    """
    decision, _box = _readable_attachment(by, attachment, principal)
    data = sealing.attachment_chunks(attachment)
    trace(
        actor=by,
        action=MessagingAction.ATTACHMENT_DOWNLOADED,
        space=attachment.message.conversation.space,
        target=attachment,
        basis=str(decision.basis or ""),
    )
    return data


def _new_document_args(attachment: Attachment, type_code: str, title: str, act_date):
    doc_type = DocumentType.objects.filter(code=type_code).first()
    if doc_type is None:
        raise MessagingError(_("Type de document inconnu."), reason="type", field="type")
    title = " ".join((title or "").split()) or sealing.attachment_name(attachment)
    day = act_date or timezone.localdate(attachment.message.sent_at)
    return doc_type, title, day


@transaction.atomic
def add_attachment_to_dmp(
    *,
    by: Actor,
    attachment: Attachment,
    type_code: str,
    title: str = "",
    act_date: date | None = None,
    principal: Principal | None = None,
) -> Document:
    """ "Ajouter aux documents": the patient adds a professional's attachment to their DMP,
    as a document of the type they choose, authored by the sender (of a type the sender's
    profession may add)."""
    decision, _box = _readable_attachment(by, attachment, principal)
    if decision.basis not in PATIENT_BASES:
        raise MessagingError(
            _("Classez la pièce jointe depuis l'espace professionnel."), reason="role"
        )
    sender = attachment.message.sender_professional
    if sender is None or not attachment.message.sender.is_professional:
        raise MessagingError(
            _("Seule une pièce jointe envoyée par un professionnel peut être ajoutée ainsi."),
            reason="not_professional",
        )
    if attachment.dmp_document_id is not None:
        raise MessagingError(
            _("Cette pièce jointe est déjà dans vos documents."), reason="already_added"
        )
    doc_type, title, day = _new_document_args(attachment, type_code, title, act_date)
    if doc_type.category == Category.OCCUPATIONAL or not matrix.allows(
        sender.profession, doc_type.code
    ):
        raise MessagingError(
            _("Ce professionnel ne peut pas ajouter ce type de document à votre dossier."),
            reason="type",
            field="type",
        )
    document = _add(by, attachment, doc_type, title, day, sender, decision, notify=False)
    trace(
        actor=by,
        action=MessagingAction.ATTACHMENT_ADDED_TO_DMP,
        space=attachment.message.conversation.space,
        target=attachment,
        basis=str(decision.basis or ""),
        detail={"document": str(document.public_id), "type": doc_type.code},
    )
    return document


@transaction.atomic
def file_attachment_into_dmp(
    *,
    by: Actor,
    attachment: Attachment,
    type_code: str,
    title: str = "",
    act_date: date | None = None,
    principal: Principal | None = None,
) -> Document:
    """A professional taking part files an attachment into the patient's DMP, under the
    matrix as any document they add (FILE_ATTACHMENT). A professional's attachment keeps
    its sender as author; the patient's is authored by the professional who files it."""
    professional = _professional(by)
    _readable_attachment(by, attachment, principal)
    if attachment.dmp_document_id is not None:
        raise MessagingError(
            _("Cette pièce jointe est déjà dans le dossier."), reason="already_added"
        )
    doc_type, title, day = _new_document_args(attachment, type_code, title, act_date)
    space = attachment.message.conversation.space
    new = NewDocument(space=space, type_code=doc_type.code, category=doc_type.category)
    decision = _decide(by, principal, Action.FILE_ATTACHMENT, new)
    message = attachment.message
    author = message.sender_professional if message.sender.is_professional else None
    document = _add(by, attachment, doc_type, title, day, author or professional, decision)
    trace(
        actor=by,
        action=MessagingAction.ATTACHMENT_FILED,
        space=space,
        target=attachment,
        basis=str(decision.basis or ""),
        detail={"document": str(document.public_id), "type": doc_type.code},
    )
    return document


def _add(by, attachment, doc_type, title, day, author, decision, *, notify=True) -> Document:
    try:
        document = dossier_services.add_document(
            space=attachment.message.conversation.space,
            type_code=doc_type.code,
            title=title,
            act_date=day,
            data=sealing.attachment_content(attachment),
            by=by,
            author_professional=author,
            invisible_to_representatives=not selectors.attachment_reaches(
                attachment, Decision(True, Basis.LEGAL_REPRESENTATIVE)
            ),
            basis=str(decision.basis or ""),
            tiff=True,
            notify=notify,
        )
    except dossier_services.DocumentError as exc:
        raise MessagingError(str(exc), reason="document") from exc
    attachment.dmp_document = document
    attachment.save(update_fields=["dmp_document"])
    return document
