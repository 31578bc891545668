"""Conversations stored as the messaging stores them (encrypted rows and files), for the
tests of the part's lifecycle."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.core.files.base import ContentFile
from django.utils import timezone

from espace_sante import crypto
from messagerie import sealing
from messagerie.models import (
    Attachment,
    Conversation,
    ConversationMember,
    Mailbox,
    Message,
    MessageRecipient,
)


def patient_mailbox(space) -> Mailbox:
    return Mailbox.objects.get_or_create(space=space, kind=Mailbox.Kind.PATIENT)[0]


def personal_mailbox(professional) -> Mailbox:
    return Mailbox.objects.get_or_create(
        professional=professional,
        kind=Mailbox.Kind.PERSONAL,
        defaults={"stored_address": f"pro{professional.rpps}@medecin.mssante.fr"},
    )[0]


def start(space, professional, *, subject: str, when: datetime | None = None) -> Conversation:
    when = when or timezone.now()
    conversation = Conversation(
        space=space,
        data_key=crypto.new_data_key(),
        started_by=personal_mailbox(professional),
        started_at=when,
        last_message_at=when,
        subject_ciphertext=b"",
    )
    conversation.subject_ciphertext = crypto.encrypt(
        subject.encode(), conversation.data_key, context=sealing.subject_context(conversation)
    )
    conversation.save()
    for mailbox in (conversation.started_by, patient_mailbox(space)):
        ConversationMember.objects.create(conversation=conversation, mailbox=mailbox)
    return conversation


def write(
    conversation,
    *,
    sender: Mailbox,
    to: list[Mailbox],
    body: str,
    attachments=(),
    when: datetime | None = None,
    reply_mode=Message.ReplyMode.REPLY_ALL,
    draft: bool = False,
) -> Message:
    """A message with its recipients; `attachments`: (name, bytes, content type, flags)."""
    when = when or timezone.now()
    message = Message(
        conversation=conversation,
        sender=sender,
        sender_professional=sender.professional,
        data_key=crypto.new_data_key(),
        body_ciphertext=b"",
        created_at=when,
        sent_at=None if draft else when,
        is_draft=draft,
        reply_mode=reply_mode,
    )
    message.body_ciphertext = crypto.encrypt(
        body.encode(), message.data_key, context=sealing.body_context(message)
    )
    message.save()
    for mailbox in to:
        MessageRecipient.objects.create(message=message, mailbox=mailbox)
    for name, data, content_type, flags in attachments:
        attachment = Attachment(
            message=message,
            data_key=crypto.new_data_key(),
            filename_ciphertext=b"",
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            **flags,
        )
        attachment.filename_ciphertext = crypto.encrypt(
            name.encode(), attachment.data_key, context=sealing.attachment_name_context(attachment)
        )
        ciphertext = crypto.encrypt(
            data, attachment.data_key, context=sealing.attachment_context(attachment)
        )
        attachment.file.save(f"{attachment.public_id}.bin", ContentFile(ciphertext), save=False)
        attachment.save()
    if not draft:
        conversation.last_message_at = when
        conversation.save(update_fields=["last_message_at"])
        ConversationMember.objects.filter(conversation=conversation, mailbox__in=to).update(
            received=True, last_message_at=when
        )
        ConversationMember.objects.filter(conversation=conversation, mailbox=sender).update(
            sent=True, last_message_at=when
        )
        for mailbox in to:
            member = ConversationMember.objects.get(conversation=conversation, mailbox=mailbox)
            member.unread += 1
            member.save(update_fields=["unread"])
    return message
