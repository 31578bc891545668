"""The messaging part of a space, registered with `espace_sante.parts` by `MessagerieConfig.ready`.

"messages": the conversations of the space, with their messages and attachments.

- export: one PDF per conversation and its attachments, decrypted, under `messagerie/`
  (`messagerie.export`); the messages are also FHIR `Communication`s in the DMP's Bundle
  (`dossier.fhir.register_resources`, done by `MessagerieConfig.ready`);
- counts: the reader's conversations and unread messages, one aggregate query;
- has_professional_content: a professional wrote in the space;
- destroy: every conversation crypto-shredded (`messagerie.retention`); at closure there
  is nothing to do: messages are kept with the archive and readable at reactivation.
"""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from acces.policy import PATIENT_BASES
from espace_sante.parts import Part
from messagerie import export, retention
from messagerie.actions import MessagingAction
from messagerie.models import ConversationMember, Mailbox, Message


def count_messages(space, decision):
    """(label, number) for the space page: the reader's conversations of this space and
    their unread messages; the patient's mailbox for the holder and representatives, a
    professional's own and organisations' mailboxes for them (one aggregate query)."""
    members = ConversationMember.objects.filter(conversation__space=space, deleted_at__isnull=True)
    if decision.basis in PATIENT_BASES:
        members = members.filter(mailbox__space=space, mailbox__kind=Mailbox.Kind.PATIENT)
    elif decision.professional_id:
        pro = decision.professional_id
        members = members.filter(Q(mailbox__professional_id=pro) | Q(mailbox__members=pro))
    else:
        return []
    totals = members.aggregate(
        conversations=Count("conversation", distinct=True), unread=Sum("unread")
    )
    return [
        (_("Conversations"), totals["conversations"]),
        (_("Messages non lus"), totals["unread"] or 0),
    ]


def has_professional_messages(space) -> bool:
    """Whether a professional already wrote in this space (one `exists()` query)."""
    return Message.objects.filter(
        conversation__space=space, is_draft=False, sender__kind__in=PROFESSIONAL_KINDS
    ).exists()


PROFESSIONAL_KINDS = (Mailbox.Kind.PERSONAL, Mailbox.Kind.ORGANISATIONAL)

MESSAGES = Part(
    name="messages",
    label=_("Messagerie"),
    export=export.export_messages,
    export_steps=export.count_exported_files,
    counts=count_messages,
    destroy=retention.destroy_messages,
    has_professional_content=has_professional_messages,
    actions=MessagingAction,
)
