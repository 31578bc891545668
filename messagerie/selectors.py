"""What the messaging pages read: folders, unread counts, a conversation's messages.

Each reads in a constant number of queries, whatever the number of conversations or
messages (subjects and bodies are decrypted per row, in Python).

Searching encrypted subjects: subjects are never stored in clear, nor as a searchable
digest. A search term is matched in SQL against the correspondents' names (a
professional's, an organisation's, the patient's) and, when it reads as a date
(31/12/2026 or 2026-12-31), against the day of the conversation's last message or start;
it is matched against subjects after decrypting them, within the mailbox's folder only
and over its SUBJECT_SCAN most recent conversations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, Sum

from acces.models import Professional
from acces.policy import Basis, Decision
from messagerie import sealing
from messagerie.models import (
    Attachment,
    Conversation,
    ConversationMember,
    Mailbox,
    Message,
    MessageRecipient,
)

FOLDERS = ("inbox", "sent", "drafts", "trash")
PER_PAGE = 25
SUBJECT_SCAN = 2000


@dataclass
class InboxRow:
    conversation: Conversation
    subject: str
    unread: int
    last_message_at: datetime | None
    correspondents: list[str]
    ended: bool
    trashed: bool
    imported: bool = False  # taken back from an archive ("Reprise de votre ancien dossier")


@dataclass
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    pages: int
    folder: str
    search: str = ""


@dataclass
class MessageView:
    message: Message
    body: str
    sender_name: str
    from_me: bool
    attachments: list[tuple[Attachment, str]] = field(default_factory=list)
    # For what the reader sent: who opened it, and when (read receipts).
    read_receipts: list[tuple[str, datetime | None]] = field(default_factory=list)


# --- Attachments a reader may reach ----------------------------------------------------------


def attachment_reaches(attachment: Attachment, decision: Decision) -> bool:
    """Whether `attachment` may reach a reader with `decision`: never, for a legal
    representative, a copy of a document invisible to representatives (as it is now)."""
    if decision.basis != Basis.LEGAL_REPRESENTATIVE:
        return True
    if attachment.invisible_to_representatives:
        return False
    source = attachment.source_document
    return source is None or not source.invisible_to_representatives


def attachments_visible_to(decision: Decision) -> Q:
    """The filter matching `attachment_reaches`, for lists."""
    if decision.basis != Basis.LEGAL_REPRESENTATIVE:
        return Q()
    return Q(invisible_to_representatives=False) & (
        Q(source_document__isnull=True) | Q(source_document__invisible_to_representatives=False)
    )


# --- Folders ---------------------------------------------------------------------------------


def _folder(mailbox: Mailbox, folder: str):
    if folder not in FOLDERS:
        raise ValueError(f"unknown folder {folder!r}")
    members = ConversationMember.objects.filter(mailbox=mailbox, deleted_at__isnull=True)
    if folder == "inbox":
        return members.filter(received=True, trashed_at__isnull=True)
    if folder == "sent":
        return members.filter(sent=True, trashed_at__isnull=True)
    if folder == "trash":
        return members.filter(trashed_at__isnull=False)
    drafts = Message.objects.filter(
        conversation_id=OuterRef("conversation_id"), sender=mailbox, is_draft=True
    )
    return members.filter(Exists(drafts), trashed_at__isnull=True)


def _as_date(term: str) -> date | None:
    patterns = ((r"(\d{1,2})/(\d{1,2})/(\d{4})", "dmy"), (r"(\d{4})-(\d{2})-(\d{2})", "ymd"))
    for pattern, order in patterns:
        match = re.fullmatch(pattern, term)
        if match:
            a, b, c = (int(g) for g in match.groups())
            try:
                return date(c, b, a) if order == "dmy" else date(a, b, c)
            except ValueError:
                return None
    return None


def _correspondent_match(term: str, reader: Mailbox) -> Q:
    """Conversations with a mailbox, other than the reader's, whose owner's name has `term`."""
    names = (
        Q(mailbox__professional__user__last_name__icontains=term)
        | Q(mailbox__professional__user__first_name__icontains=term)
        | Q(mailbox__name__icontains=term)
        | Q(mailbox__space__holder__last_name__icontains=term)
        | Q(mailbox__space__holder__first_names__icontains=term)
    )
    return Q(conversation_id__in=ConversationMember.objects.filter(names).values("conversation_id"))


def _searched(members, mailbox: Mailbox, search: str):
    term = " ".join(search.split())
    if not term:
        return members
    day = _as_date(term)
    if day is not None:
        return members.filter(Q(last_message_at__date=day) | Q(conversation__started_at__date=day))
    by_name = set(members.filter(_correspondent_match(term, mailbox)).values_list("pk", flat=True))
    lowered = term.casefold()
    by_subject = {
        member.pk
        for member in members.select_related("conversation__data_key").order_by("-last_message_at")[
            :SUBJECT_SCAN
        ]
        if lowered in sealing.subject(member.conversation).casefold()
    }
    return members.filter(pk__in=by_name | by_subject)


def inbox(
    mailbox: Mailbox,
    folder: str = "inbox",
    *,
    search: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> InboxPage:
    """One page of a folder (inbox, sent, drafts, trash), newest conversation first, with
    each one's subject, unread count and correspondents (the other mailboxes' names)."""
    members = _searched(_folder(mailbox, folder), mailbox, search)
    total = members.count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = list(
        members.select_related("conversation__data_key").order_by("-last_message_at", "-pk")[
            (page - 1) * per_page : page * per_page
        ]
    )
    names = _correspondents([r.conversation_id for r in rows], mailbox)
    return InboxPage(
        rows=[
            InboxRow(
                conversation=r.conversation,
                subject=sealing.subject(r.conversation),
                unread=r.unread,
                last_message_at=r.last_message_at,
                correspondents=names.get(r.conversation_id, []),
                ended=r.conversation.ended_at is not None,
                trashed=r.trashed_at is not None,
                imported=r.conversation.imported_at is not None,
            )
            for r in rows
        ],
        total=total,
        page=page,
        pages=pages,
        folder=folder,
        search=search,
    )


_MAILBOX_NAMES = (
    "mailbox__professional__user",
    "mailbox__space__holder",
)


def _correspondents(conversation_ids: list[int], reader: Mailbox) -> dict[int, list[str]]:
    """The other mailboxes' names of each conversation (one query). A name is worked out
    once per mailbox: an inbox page of 25 conversations with one GP names her once."""
    names: dict[int, list[str]] = {}
    known: dict[int, str] = {}
    others = (
        ConversationMember.objects.filter(conversation_id__in=conversation_ids)
        .exclude(mailbox=reader)
        .select_related(*_MAILBOX_NAMES)
        .order_by("pk")
    )
    for member in others:
        name = known.get(member.mailbox_id)
        if name is None:
            name = known[member.mailbox_id] = member.mailbox.display_name
        names.setdefault(member.conversation_id, []).append(name)
    return names


def unread_count(mailbox: Mailbox) -> int:
    """Messages received and not opened, in the conversations of the inbox (one query)."""
    total = ConversationMember.objects.filter(
        mailbox=mailbox, deleted_at__isnull=True, trashed_at__isnull=True, unread__gt=0
    ).aggregate(total=Sum("unread"))["total"]
    return total or 0


def unread_for_space(space) -> int:
    """The unread count of a space's mailbox (0 before it has one), for the navigation."""
    mailbox = Mailbox.objects.filter(space=space).first()
    return unread_count(mailbox) if mailbox is not None else 0


def unread_for_professional(professional) -> int:
    """Unread messages in the professional's own mailbox and the organisations' they read,
    for the pro portal's navigation (one query)."""
    # One `IN` over a UNION of the mailboxes, not an OR across two joins: PostgreSQL read
    # every unread membership of every mailbox for it (bench/http.py).
    own = Mailbox.objects.filter(professional=professional).values("pk")
    read = Mailbox.members.through.objects.filter(professional=professional).values("mailbox_id")
    total = ConversationMember.objects.filter(
        mailbox_id__in=own.union(read, all=True),
        deleted_at__isnull=True,
        trashed_at__isnull=True,
        unread__gt=0,
    ).aggregate(total=Sum("unread"))["total"]
    return total or 0


def mailbox_usage(mailbox: Mailbox) -> int:
    """The bytes of attachments in the messages the mailbox sent or received, in the
    conversations it still holds (those deleted for good no longer count)."""
    held = ConversationMember.objects.filter(mailbox=mailbox, deleted_at__isnull=True).values(
        "conversation_id"
    )
    # EXISTS, not `pk IN (…)`: PostgreSQL then walks the mailbox's conversations only
    # (an OR with a hashed IN scans every message: 2.4 s at 5,000,000, bench/messagerie.py).
    delivered = MessageRecipient.objects.filter(mailbox=mailbox, message_id=OuterRef("pk"))
    total = (
        # Only the messages with files count (the partial index `message_with_files`).
        Message.objects.filter(conversation_id__in=held, is_draft=False, attachments_size__gt=0)
        .filter(Q(sender=mailbox) | Exists(delivered))
        .aggregate(total=Sum("attachments_size"))["total"]
    )
    return total or 0


# --- A conversation --------------------------------------------------------------------------


def conversation_messages(
    conversation: Conversation, mailbox: Mailbox, decision: Decision
) -> list[MessageView]:
    """The messages `mailbox` sent or received in `conversation`, oldest first, decrypted,
    with the attachments `decision` lets the reader reach and, for what the mailbox sent,
    its read receipts. Constant queries."""
    delivered = MessageRecipient.objects.filter(mailbox=mailbox).values("message_id")
    messages = (
        Message.objects.filter(conversation=conversation, is_draft=False)
        .filter(Q(sender=mailbox) | Q(pk__in=delivered))
        .select_related(
            "data_key",
            "sender__professional__user",
            "sender__space__holder",
            "sender_professional__user",
        )
        .prefetch_related(
            Prefetch(
                "attachments",
                queryset=Attachment.objects.filter(attachments_visible_to(decision)).select_related(
                    "data_key"
                ),
            ),
            Prefetch(
                "recipients",
                queryset=MessageRecipient.objects.select_related(*_MAILBOX_NAMES).order_by("pk"),
            ),
        )
        .order_by("sent_at", "pk")
    )
    messages = _one_object_per_person(list(messages))
    views = []
    for message in messages:
        from_me = message.sender_id == mailbox.pk
        views.append(
            MessageView(
                message=message,
                body=sealing.body(message),
                sender_name=_sender_name(message),
                from_me=from_me,
                attachments=[(a, sealing.attachment_name(a)) for a in message.attachments.all()],
                read_receipts=[
                    (r.mailbox.display_name, r.read_at) for r in message.recipients.all()
                ]
                if from_me
                else [],
            )
        )
    return views


def _one_object_per_person(messages: list[Message]) -> list[Message]:
    """The same Mailbox and Professional object wherever one appears on the page.

    The ORM builds a sender and each recipient afresh for every message: twenty messages
    between two people made some sixty mailboxes, and their names (`Professional.title`,
    its translated profession and specialty, cached per object) were worked out for each.
    Shared, a name is worked out once per person. No query.
    """
    boxes: dict[int, Mailbox] = {}
    for message in messages:
        message.sender = boxes.setdefault(message.sender_id, message.sender)
        for recipient in message.recipients.all():
            recipient.mailbox = boxes.setdefault(recipient.mailbox_id, recipient.mailbox)
    professionals: dict[int, Professional] = {}
    for box in boxes.values():
        if box.professional_id and Mailbox.professional.is_cached(box):
            box.professional = professionals.setdefault(box.professional_id, box.professional)
    for message in messages:
        if message.sender_professional_id:
            message.sender_professional = professionals.setdefault(
                message.sender_professional_id, message.sender_professional
            )
    return messages


def _sender_name(message: Message) -> str:
    if message.sender.kind == Mailbox.Kind.ORGANISATIONAL and message.sender_professional:
        return f"{message.sender_professional.title} ({message.sender.name})"
    return message.sender.display_name


def draft_of(conversation: Conversation, mailbox: Mailbox) -> str:
    """The text of the mailbox's draft reply in `conversation` ("" when none)."""
    draft = (
        Message.objects.filter(conversation=conversation, sender=mailbox, is_draft=True)
        .select_related("data_key")
        .first()
    )
    return sealing.body(draft) if draft is not None else ""


def read_at(message: Message, mailbox: Mailbox) -> datetime | None:
    """When `mailbox` opened `message` (its read receipt), None while unread."""
    return (
        MessageRecipient.objects.filter(message=message, mailbox=mailbox)
        .values_list("read_at", flat=True)
        .first()
    )
