"""Decrypting what a conversation holds: its subject, a message's body, an attachment.

Each object is encrypted under its own data key, with its identity as the authenticated
context, so a ciphertext copied onto another object does not decrypt.
"""

from __future__ import annotations

from espace_sante import crypto
from messagerie.models import Attachment, Conversation, Message


def subject_context(conversation: Conversation) -> bytes:
    return f"conversation:{conversation.public_id}:subject".encode()


def body_context(message: Message) -> bytes:
    return f"message:{message.public_id}:body".encode()


def attachment_name_context(attachment: Attachment) -> bytes:
    return f"attachment:{attachment.public_id}:name".encode()


def attachment_context(attachment: Attachment) -> bytes:
    return f"attachment:{attachment.public_id}".encode()


def subject(conversation: Conversation) -> str:
    return crypto.decrypt(
        bytes(conversation.subject_ciphertext),
        conversation.data_key,
        context=subject_context(conversation),
    ).decode("utf-8")


def body(message: Message) -> str:
    return crypto.decrypt(
        bytes(message.body_ciphertext), message.data_key, context=body_context(message)
    ).decode("utf-8")


def attachment_name(attachment: Attachment) -> str:
    return crypto.decrypt(
        bytes(attachment.filename_ciphertext),
        attachment.data_key,
        context=attachment_name_context(attachment),
    ).decode("utf-8")


def attachment_content(attachment: Attachment) -> bytes:
    with attachment.file.open("rb") as handle:
        ciphertext = handle.read()
    return crypto.decrypt(ciphertext, attachment.data_key, context=attachment_context(attachment))
