"""Encrypting and decrypting what a conversation holds: subject, bodies, attachments.

Each object is encrypted under its own data key, with its identity as the authenticated
context, so a ciphertext copied onto another object does not decrypt. The pages, the
export and the retention purge all read through this module.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.files.base import ContentFile

from espace_sante import crypto, integrity
from messagerie.models import Attachment, Conversation, Message


def subject_context(conversation: Conversation) -> bytes:
    return f"conversation:{conversation.public_id}:subject".encode()


def body_context(message: Message) -> bytes:
    return f"message:{message.public_id}:body".encode()


def attachment_name_context(attachment: Attachment) -> bytes:
    return f"attachment:{attachment.public_id}:name".encode()


def attachment_context(attachment: Attachment) -> bytes:
    return f"attachment:{attachment.public_id}".encode()


def seal_subject(conversation: Conversation, subject: str) -> None:
    conversation.data_key = crypto.new_data_key()
    conversation.subject_ciphertext = crypto.encrypt(
        subject.encode("utf-8"), conversation.data_key, context=subject_context(conversation)
    )


def seal_body(message: Message, body: str) -> None:
    if message.data_key_id is None:
        message.data_key = crypto.new_data_key()
    message.body_ciphertext = crypto.encrypt(
        body.encode("utf-8"), message.data_key, context=body_context(message)
    )


def seal_attachment(attachment: Attachment, name: str, data: bytes) -> None:
    """Encrypt the name into its column and the content into its file (not yet saved)."""
    attachment.data_key = crypto.new_data_key()
    attachment.filename_ciphertext = crypto.encrypt(
        name.encode("utf-8"), attachment.data_key, context=attachment_name_context(attachment)
    )
    ciphertext = crypto.encrypt(data, attachment.data_key, context=attachment_context(attachment))
    attachment.file.save(f"{attachment.public_id}.enc", ContentFile(ciphertext), save=False)


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
    storage, name = attachment.file.storage, attachment.file.name
    return crypto.decrypt_stored(
        lambda: storage.open(name, "rb"),
        attachment.data_key,
        context=attachment_context(attachment),
    )


def attachment_chunks(attachment: Attachment) -> Iterator[bytes]:
    """The decrypted content in chunks, as a document's download (`crypto.decrypt_chunks`).

    The whole file is authenticated and its first chunk decrypted before this returns.
    """
    storage, name = attachment.file.storage, attachment.file.name
    chunks = crypto.decrypt_chunks(
        lambda: storage.open(name, "rb"),
        attachment.data_key,
        context=attachment_context(attachment),
    )
    return integrity.checked_stream(chunks, where=f"attachment download {attachment.public_id}")
