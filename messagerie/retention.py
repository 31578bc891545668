"""Destroying messages for good: at the space's definitive deletion, and, when
MESSAGES_RETENTION_DAYS is set, old conversations.

Both crypto-shred (`docs/PARTS.md`): each conversation's subject key, each message's
body key and each attachment's key are destroyed, the attachments' files deleted, then
the rows (subjects, senders and dates are medical content too). Only the audit trail
keeps a trace. A document the patient added to their DMP from an attachment is a copy
of its own: it stays in the DMP.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from espace_sante import crypto
from espace_sante.models import Space
from espace_sante.tracing import Actor, trace
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


def shred(conversation_ids: list[int]) -> None:
    """Destroy the keys, files and rows of these conversations (in the caller's transaction)."""
    if not conversation_ids:
        return
    attachments = Attachment.objects.filter(message__conversation__in=conversation_ids)
    for attachment in attachments.select_related("data_key"):
        crypto.destroy_data_key(attachment.data_key)
        attachment.file.delete(save=False)
    messages = Message.objects.filter(conversation__in=conversation_ids)
    for message in messages.select_related("data_key").only("pk", "data_key"):
        crypto.destroy_data_key(message.data_key)
    conversations = Conversation.objects.filter(pk__in=conversation_ids)
    for conversation in conversations.select_related("data_key").only("pk", "data_key"):
        crypto.destroy_data_key(conversation.data_key)
    # The correspondents of conversations taken back from an archive are theirs alone.
    archived = list(
        ConversationMember.objects.filter(
            conversation__in=conversation_ids, mailbox__kind=Mailbox.Kind.ARCHIVE
        ).values_list("mailbox_id", flat=True)
    )
    attachments.delete()
    MessageRecipient.objects.filter(message__conversation__in=conversation_ids).delete()
    messages.delete()
    ConversationMember.objects.filter(conversation__in=conversation_ids).delete()
    conversations.delete()
    if archived:
        Mailbox.objects.filter(pk__in=archived, kind=Mailbox.Kind.ARCHIVE).delete()


def destroy_messages(space: Space, *, keep_occupational: bool) -> int:
    """Crypto-shred every conversation of `space` (the "messages" part's `destroy`).

    Nothing of messaging belongs to the occupational-health part: all goes in both cases.
    The patient's mailbox and the senders the patient refused go too. Not traced here:
    `lifecycle.destroy` writes the space's event.
    """
    ids = list(Conversation.objects.filter(space=space).values_list("pk", flat=True))
    shred(ids)
    SenderRefusal.objects.filter(space=space).delete()
    Mailbox.objects.filter(space=space, kind=Mailbox.Kind.PATIENT).delete()
    return len(ids)


def retention_cutoff(now: datetime | None = None) -> datetime | None:
    """Conversations whose last message is older than this are destroyed (None: kept)."""
    days = settings.MESSAGES_RETENTION_DAYS
    if days is None:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def purge_expired_conversations(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Crypto-shred the conversations past MESSAGES_RETENTION_DAYS; return how many went.

    Each space's batch is its own transaction, with one trail event per conversation
    (by the system, in the space's chain); the rows are locked and read again inside
    it, so a conversation someone just wrote in is left alone, and two runs never
    destroy the same one twice.
    """
    cutoff = retention_cutoff(now)
    if cutoff is None:
        return 0
    destroyed = 0
    while True:
        space_id = (
            Conversation.objects.filter(last_message_at__lt=cutoff)
            .order_by("space_id")
            .values_list("space_id", flat=True)
            .first()
        )
        if space_id is None:
            return destroyed
        with transaction.atomic():
            space = Space.objects.select_for_update().get(pk=space_id)
            conversations = list(
                Conversation.objects.select_for_update()
                .filter(space=space, last_message_at__lt=cutoff)
                .order_by("pk")[:batch_size]
            )
            for conversation in conversations:
                trace(
                    actor=Actor.system(),
                    action=MessagingAction.CONVERSATION_DELETED,
                    space=space,
                    target=conversation,
                    detail={"reason": "retention", "days": settings.MESSAGES_RETENTION_DAYS},
                )
            shred([c.pk for c in conversations])
        destroyed += len(conversations)
