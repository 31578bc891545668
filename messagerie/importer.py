"""Taking conversations back from an archive: the FHIR `Communication`s of the DMP's Bundle
(`messagerie.export.communications` writes them), for `manage.py import_dmp`, which hands
them over through `dossier.fhir.register_importer` (done by `MessagerieConfig.ready`).

What it guarantees:

- a conversation taken back is a "reprise" (`Conversation.imported_at`): an archive does
  not prove who wrote a message (as an imported document is linked to no professional),
  so each correspondent other than the patient is a name only, an `ARCHIVE` mailbox of
  that conversation (no address, nobody reads it, destroyed with it); no message has a
  `sender_professional`, so no professional of this service reads it, answers it or
  finds it in their messaging, and the patient cannot write to a name. Every message is
  "pas de réponse" (`ReplyMode.NO_REPLY`) and the policy refuses a reply to an imported
  conversation with its reason (`conversation_imported`);
- the patient's own messages are theirs again (sent by the space's mailbox); the dates
  are the archive's (`sent`, and `received` as the patient's reading: unread otherwise);
- subjects, bodies, attachments' names and contents are encrypted under their own data
  keys by `messagerie.sealing`, as every message; each attachment is read from the
  archive by its path (or its inline `data`), checked against its `hash`, then by its
  content as any attachment (`dossier.validation.sniff`), within MESSAGE_MAX_BYTES per
  message. The mailbox quota is not applied: the archive is the patient's own past;
- idempotent: a conversation is found again by its archive identifier (the
  Communications' conversation identifier, `Conversation.source_identifier`), a message
  by its own (`Message.source_identifier`); a message still in this space under that
  identifier (an archive of this very space) is already there too;
- each message in its own transaction, traced ("Reprise d'un message d'un ancien
  dossier", by the import's actor, in the space's trail); one refused message (no date,
  empty, an attachment missing, altered or refused for its content) is reported with its
  reason and the others go on.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from dossier.fhir import URI_SYSTEM
from dossier.importer import ImportContext, ImportEntry, Malformed
from dossier.validation import RejectedFile, sniff
from espace_sante.tracing import trace
from messagerie import sealing, services
from messagerie.actions import MessagingAction
from messagerie.export import CONVERSATION_SYSTEM
from messagerie.models import (
    Conversation,
    ConversationMember,
    Mailbox,
    Message,
    MessageRecipient,
)

LABEL = "Messages"
MAX_IDENTIFIER = 200
UNNAMED_SENDER = "Expéditeur non précisé (ancien dossier)"
UNNAMED_RECIPIENT = "Destinataire non précisé (ancien dossier)"
DEFAULT_SUBJECT = "Conversation reprise de votre ancien dossier"


@dataclass
class _File:
    name: str
    data: bytes
    content_type: str


@dataclass
class _Incoming:
    """One Communication, read and checked, before anything is stored."""

    entry: ImportEntry
    source: str
    conversation: str
    subject: str
    sent: datetime
    received: datetime | None
    from_patient: bool
    sender_name: str
    recipient_names: list[str]
    to_patient: bool
    body: str
    files: list[_File] = field(default_factory=list)


def _identifier(resource: dict, system: str) -> str:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == system:
            value = identifier.get("value")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def _instant(value: object, what: str) -> datetime:
    if not isinstance(value, str) or len(value) < 10:
        raise Malformed(f"{what} manquante")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed(f"{what} illisible « {value} »") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _is_patient(reference: object, context: ImportContext) -> bool:
    return isinstance(reference, dict) and reference.get("reference") in context.patient_refs


def _name(reference: object) -> str:
    if isinstance(reference, dict) and isinstance(reference.get("display"), str):
        return " ".join(reference["display"].split())[:200]
    return ""


def _file(context: ImportContext, entry: ImportEntry, attachment: dict, budget: int) -> _File:
    title = attachment.get("title")
    title = title.strip()[:200] if isinstance(title, str) and title.strip() else "piece-jointe"
    inline = attachment.get("data")
    if isinstance(inline, str) and inline:
        try:
            data = base64.b64decode(inline, validate=True)
        except (binascii.Error, ValueError):
            raise Malformed(f"pièce jointe « {title} » : contenu (data) illisible") from None
        if len(data) > budget:
            raise Malformed(f"pièce jointe « {title} » trop volumineuse")
    else:
        data = context.read(entry, attachment.get("url"), limit=budget, sha1=attachment.get("hash"))
    try:
        content_type = sniff(data, tiff=True).content_type
    except RejectedFile as exc:
        raise Malformed(f"pièce jointe « {title} » refusée : {exc}") from exc
    return _File(title, data, content_type)


def _read(context: ImportContext, entry: ImportEntry) -> _Incoming | None:
    """The Communication as a message to store; None when it is not one to take back."""
    resource = entry.resource
    if resource.get("status") in ("entered-in-error", "not-done", "preparation"):
        return None
    source = (
        _identifier(resource, URI_SYSTEM)
        or entry.full_url
        or (f"Communication/{resource['id']}" if isinstance(resource.get("id"), str) else "")
    )
    if not source:
        raise Malformed("identifiant du message manquant (identifier)")
    conversation = _identifier(resource, CONVERSATION_SYSTEM) or source
    if len(source) > MAX_IDENTIFIER or len(conversation) > MAX_IDENTIFIER:
        raise Malformed("identifiant trop long (identifier)")
    sent = _instant(resource.get("sent"), "date d'envoi (sent)")
    received = (
        _instant(resource["received"], "date de lecture (received)")
        if resource.get("received")
        else None
    )
    sender = resource.get("sender")
    from_patient = _is_patient(sender, context)
    recipients = [r for r in resource.get("recipient") or [] if isinstance(r, dict)]
    to_patient = any(_is_patient(r, context) for r in recipients)
    if not from_patient and not to_patient:
        raise Malformed("ce message n'a pas été envoyé au patient ni par lui (recipient)")
    names = [_name(r) or UNNAMED_RECIPIENT for r in recipients if not _is_patient(r, context)]
    payload = [p for p in resource.get("payload") or [] if isinstance(p, dict)]
    body = "\n\n".join(
        p["contentString"].strip()
        for p in payload
        if isinstance(p.get("contentString"), str) and p["contentString"].strip()
    )
    if len(body) > services.MAX_BODY:
        raise Malformed(
            _("texte trop long (plus de %(max)s caractères)") % {"max": services.MAX_BODY}
        )
    topic = resource.get("topic")
    subject = topic.get("text") if isinstance(topic, dict) else None
    subject = " ".join(subject.split())[: services.MAX_SUBJECT] if isinstance(subject, str) else ""
    incoming = _Incoming(
        entry=entry,
        source=source,
        conversation=conversation,
        subject=subject,
        sent=sent,
        received=received,
        from_patient=from_patient,
        sender_name="" if from_patient else (_name(sender) or UNNAMED_SENDER),
        recipient_names=names,
        to_patient=to_patient,
        body=body,
    )
    budget = settings.MESSAGE_MAX_BYTES
    for part in payload:
        attachment = part.get("contentAttachment")
        if not isinstance(attachment, dict):
            continue
        found = _file(context, entry, attachment, budget)
        budget -= len(found.data)
        incoming.files.append(found)
    if not incoming.body and not incoming.files:
        raise Malformed("message vide (payload)")
    return incoming


def take_back(context: ImportContext, entries: list[ImportEntry]) -> None:
    """Take back the Communications of one Bundle as "reprise" conversations."""
    groups: dict[str, list[_Incoming]] = {}
    for entry in entries:
        try:
            incoming = _read(context, entry)
        except Malformed as exc:
            context.skipped(entry.where, str(exc))
            continue
        if incoming is not None:
            groups.setdefault(incoming.conversation, []).append(incoming)
    if not groups:
        return
    patient = services.patient_mailbox(context.space)
    for key, messages in groups.items():
        for incoming in sorted(messages, key=lambda m: m.sent):
            if _present(context, key, incoming.source):
                context.present()
                continue
            with transaction.atomic():
                _store(context, patient, key, incoming)
            context.imported()


def _present(context: ImportContext, key: str, source: str) -> bool:
    space = context.space
    if Message.objects.filter(
        conversation__space=space, conversation__source_identifier=key, source_identifier=source
    ).exists():
        return True
    # A message still in this space (the archive is of this very space).
    try:
        native = uuid.UUID(source.removeprefix("urn:uuid:"))
    except ValueError:  # not one of ours
        return False
    return Message.objects.filter(conversation__space=space, public_id=native).exists()


def _correspondent(conversation: Conversation | None, name: str, made: dict) -> Mailbox:
    """The conversation's ARCHIVE mailbox named `name`, made the first time."""
    if name in made:
        return made[name]
    mailbox = None
    if conversation is not None:
        mailbox = (
            Mailbox.objects.filter(
                kind=Mailbox.Kind.ARCHIVE, name=name, memberships__conversation=conversation
            )
            .order_by("pk")
            .first()
        )
    if mailbox is None:
        mailbox = Mailbox.objects.create(kind=Mailbox.Kind.ARCHIVE, name=name)
    made[name] = mailbox
    return mailbox


def _store(context: ImportContext, patient: Mailbox, key: str, incoming: _Incoming) -> None:
    space = context.space
    conversation = (
        Conversation.objects.select_for_update().filter(space=space, source_identifier=key).first()
    )
    made: dict[str, Mailbox] = {}
    if incoming.from_patient:
        sender = patient
    else:
        sender = _correspondent(conversation, incoming.sender_name, made)
    if conversation is None:
        conversation = Conversation(
            space=space,
            started_by=sender,
            started_at=incoming.sent,
            last_message_at=incoming.sent,
            imported_at=timezone.now(),
            source_identifier=key,
        )
        sealing.seal_subject(conversation, incoming.subject or DEFAULT_SUBJECT)
        conversation.save()
    others = [_correspondent(conversation, name, made) for name in incoming.recipient_names]
    if incoming.from_patient and not others:
        others = [_correspondent(conversation, UNNAMED_RECIPIENT, made)]
    message = Message(
        conversation=conversation,
        sender=sender,
        sent_at=incoming.sent,
        is_draft=False,
        reply_mode=Message.ReplyMode.NO_REPLY,
        attachments_size=sum(len(f.data) for f in incoming.files),
        source_identifier=incoming.source,
    )
    sealing.seal_body(message, incoming.body)
    message.save()
    for found in incoming.files:
        services._store_attachment(message, found.name, found.data, found.content_type)
    to = [m for m in ([patient] if incoming.to_patient else []) + others if m.pk != sender.pk]
    read_at = incoming.received
    MessageRecipient.objects.bulk_create(
        [
            MessageRecipient(
                message=message,
                mailbox=mailbox,
                # `received` is the first reading: the patient's of a message to her,
                # a correspondent's of hers (a read receipt); unknown otherwise.
                read_at=read_at if mailbox.pk == patient.pk or incoming.from_patient else None,
            )
            for mailbox in dict.fromkeys(to)
        ]
    )
    for mailbox in {sender, *to}:
        ConversationMember.objects.get_or_create(
            conversation=conversation, mailbox=mailbox, defaults={"joined_at": incoming.sent}
        )
    members = ConversationMember.objects.filter(conversation=conversation)
    members.filter(mailbox=sender).update(sent=True)
    members.filter(mailbox__in=[m.pk for m in to]).update(received=True)
    if patient in to and read_at is None:
        members.filter(mailbox=patient).update(unread=F("unread") + 1)
    for member in members.filter(mailbox__in=[sender.pk, *(m.pk for m in to)]):
        if member.last_message_at is None or member.last_message_at < incoming.sent:
            member.last_message_at = incoming.sent
            member.save(update_fields=["last_message_at"])
    changes = {}
    if incoming.sent < conversation.started_at:
        changes |= {"started_at": incoming.sent, "started_by": sender}
    if incoming.sent > conversation.last_message_at:
        changes["last_message_at"] = incoming.sent
    if changes:
        Conversation.objects.filter(pk=conversation.pk).update(**changes)
    trace(
        actor=context.by,
        action=MessagingAction.MESSAGE_IMPORTED,
        space=space,
        target=conversation,
        detail={"message": str(message.public_id), "attachments": len(incoming.files)},
    )
