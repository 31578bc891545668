"""The messages in the space's full download: one PDF per conversation, its attachments
beside it, and a FHIR R4 `Communication` per message in the DMP's Bundle.

What goes in is what the requester's export decision (`acces.policy.export_decision`:
the holder, or the legal representatives while the space has any) lets them see:

- the conversations of the space's patient mailbox, except those it deleted for good;
- of each, the sent messages the patient mailbox wrote or received (never a
  professional's draft);
- of each message, the attachments `selectors.attachments_visible_to(decision)` lets
  through (the rule the pages follow): a representative never gets an attachment
  copied from a document invisible to them.

`exported_conversations` is the one source of the PDFs, the attachments' files and the
Communications that point at them, so the three always agree. Everything is decrypted
here, in memory, and goes straight into the encrypted archive.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from acces.policy import Decision
from dossier.fhir import RPPS_SYSTEM, URI_SYSTEM
from espace_sante.models import Space
from messagerie import sealing
from messagerie.models import Attachment, Conversation, Mailbox, Message, MessageRecipient
from messagerie.selectors import attachments_visible_to

FOLDER = "messagerie"
ATTACHMENTS_FOLDER = "pieces-jointes"
# The conversation a message belongs to, as a second identifier of its Communication.
CONVERSATION_SYSTEM = "urn:mon-espace-sante:messagerie:conversation"
# FHIR has no element for the reply a message allows (MSSanté's reply kinds).
REPLY_MODE_EXTENSION = "urn:mon-espace-sante:StructureDefinition:mss-reply-mode"


@dataclass
class ExportedAttachment:
    attachment: Attachment
    filename: str  # as its sender named it
    path: str  # in the archive


@dataclass
class ExportedMessage:
    message: Message
    body: str
    recipients: list[MessageRecipient]
    attachments: list[ExportedAttachment] = field(default_factory=list)


@dataclass
class ExportedConversation:
    conversation: Conversation
    subject: str
    path: str  # of its PDF
    messages: list[ExportedMessage] = field(default_factory=list)


def _patient_mailbox(space: Space) -> Mailbox | None:
    return Mailbox.objects.filter(space=space, kind=Mailbox.Kind.PATIENT).first()


def exportable_conversations(space: Space, mailbox: Mailbox | None) -> QuerySet[Conversation]:
    """The conversations of the patient mailbox it has not deleted for good, oldest first."""
    if mailbox is None:
        return Conversation.objects.none()
    return Conversation.objects.filter(
        space=space, members__mailbox=mailbox, members__deleted_at__isnull=True
    ).order_by("started_at", "pk")


def _exported_messages(mailbox: Mailbox) -> QuerySet[Message]:
    delivered = MessageRecipient.objects.filter(message=OuterRef("pk"), mailbox=mailbox)
    return Message.objects.filter(is_draft=False).filter(Q(sender=mailbox) | Exists(delivered))


def _exported_attachments(space: Space, decision: Decision, mailbox: Mailbox):
    return Attachment.objects.filter(
        message__conversation__in=exportable_conversations(space, mailbox),
        message__in=_exported_messages(mailbox),
    ).filter(attachments_visible_to(decision))


def count_exported_files(space: Space, decision: Decision) -> int:
    """The PDFs and attachments `export_messages` yields (two `count()` queries)."""
    mailbox = _patient_mailbox(space)
    if mailbox is None:
        return 0
    return (
        exportable_conversations(space, mailbox).count()
        + _exported_attachments(space, decision, mailbox).count()
    )


def _stem(conversation: Conversation, subject: str) -> str:
    day = timezone.localtime(conversation.started_at).date()
    name = slugify(subject)[:60] or "conversation"
    return f"{FOLDER}/{day:%Y-%m-%d}-{name}-{str(conversation.public_id)[:8]}"


def _attachment_name(index: int, filename: str, attachment: Attachment) -> str:
    """A safe file name: numbered (two attachments may share a name), slugified, with the
    extension of its sniffed type, never the sender's (no path, no `.html`)."""
    stem = slugify(posixpath.splitext(filename)[0])[:60] or "piece-jointe"
    return f"{index:02d}-{stem}.{attachment.extension}"


def exported_conversations(space: Space, decision: Decision) -> list[ExportedConversation]:
    """Each conversation of the download, decrypted, with its messages and attachments."""
    mailbox = _patient_mailbox(space)
    if mailbox is None:
        return []
    messages = (
        _exported_messages(mailbox)
        .select_related("data_key", "sender", "sender__professional__user", "sender_professional")
        .prefetch_related(
            Prefetch(
                "recipients",
                queryset=MessageRecipient.objects.select_related(
                    "mailbox__professional__user", "mailbox__space__holder"
                ).order_by("kind", "pk"),
            ),
            Prefetch(
                "attachments",
                queryset=Attachment.objects.filter(attachments_visible_to(decision))
                .select_related("data_key")
                .order_by("pk"),
            ),
        )
        .order_by("sent_at", "pk")
    )
    conversations = (
        exportable_conversations(space, mailbox)
        .select_related("data_key", "ended_by__user")
        .prefetch_related(Prefetch("messages", queryset=messages, to_attr="exported_messages"))
    )
    exported = []
    for conversation in conversations:
        subject = sealing.subject(conversation)
        stem = _stem(conversation, subject)
        item = ExportedConversation(conversation, subject, f"{stem}.pdf")
        index = 0
        for message in conversation.exported_messages:
            entry = ExportedMessage(message, sealing.body(message), list(message.recipients.all()))
            for attachment in message.attachments.all():
                index += 1
                filename = sealing.attachment_name(attachment)
                name = _attachment_name(index, filename, attachment)
                path = f"{stem}/{ATTACHMENTS_FOLDER}/{name}"
                entry.attachments.append(ExportedAttachment(attachment, filename, path))
            item.messages.append(entry)
        exported.append(item)
    return exported


def render_conversation_pdf(space: Space, item: ExportedConversation) -> bytes:
    """The printable A4 of one conversation (WeasyPrint; nothing is fetched)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string(
        "messagerie/conversation.pdf.html",
        {
            "space": space,
            "holder": space.holder,
            "item": item,
            "now": timezone.localtime(),
            "blocked": Message.ReplyMode.REPLY_BLOCKED,
        },
    )
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()


def export_messages(space: Space, decision: Decision) -> Iterator[tuple[str, bytes]]:
    """The messages' files for the space's download (the "messages" part)."""
    for item in exported_conversations(space, decision):
        yield item.path, render_conversation_pdf(space, item)
        for message in item.messages:
            for exported in message.attachments:
                yield exported.path, sealing.attachment_content(exported.attachment)


# --- FHIR ---------------------------------------------------------------------------------


def _party(mailbox: Mailbox, professional, patient_ref: dict) -> dict:
    """A sender or recipient: the Bundle's Patient, else a professional or organisation by
    name (and RPPS), never by address."""
    if mailbox.kind == Mailbox.Kind.PATIENT:
        return dict(patient_ref)
    reference: dict = {"display": mailbox.display_name}
    professional = professional or mailbox.professional
    if professional is not None:
        reference["identifier"] = {"system": RPPS_SYSTEM, "value": f"8{professional.rpps}"}
    return reference


def _instant(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def communications(
    space: Space, decision: Decision, patient_ref: dict
) -> Iterator[tuple[str, dict]]:
    """A FHIR R4 Communication per exported message, for the DMP's Bundle (`dossier.fhir`).

    Each points at its attachments' files in the archive, and at the message it answers.
    """
    for item in exported_conversations(space, decision):
        previous = None
        for entry in item.messages:
            message = entry.message
            resource_id = str(message.public_id)
            payload: list[dict] = [{"contentString": entry.body}] if entry.body else []
            for exported in entry.attachments:
                attachment = exported.attachment
                data = sealing.attachment_content(attachment)
                digest = hashlib.sha1(data, usedforsecurity=False).digest()
                payload.append(
                    {
                        "contentAttachment": {
                            "contentType": attachment.content_type,
                            "url": exported.path,
                            "size": len(data),
                            "hash": base64.b64encode(digest).decode("ascii"),
                            "title": exported.filename,
                        }
                    }
                )
            resource: dict = {
                "resourceType": "Communication",
                "identifier": [
                    {"system": URI_SYSTEM, "value": f"urn:uuid:{message.public_id}"},
                    {"system": CONVERSATION_SYSTEM, "value": str(item.conversation.public_id)},
                ],
                "status": "completed",
                "subject": dict(patient_ref),
                "topic": {"text": item.subject},
                "sent": _instant(message.sent_at),
                "sender": _party(message.sender, message.sender_professional, patient_ref),
                "recipient": [_party(r.mailbox, None, patient_ref) for r in entry.recipients],
                "extension": [{"url": REPLY_MODE_EXTENSION, "valueCode": message.reply_mode}],
            }
            read = [r.read_at for r in entry.recipients if r.read_at]
            if read:
                resource["received"] = _instant(min(read))
            if previous is not None:
                resource["inResponseTo"] = [{"reference": f"urn:uuid:{previous}"}]
            if payload:
                resource["payload"] = payload
            previous = resource_id
            yield resource_id, resource
