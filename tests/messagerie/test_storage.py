"""Messages are encrypted at rest, traced in the messaging vocabulary, and read in constant
queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acces.models import AuditEvent, CareRelation
from espace_sante import actions as audit_actions
from espace_sante.models import DataKey
from messagerie import selectors, services
from messagerie.actions import MessagingAction
from messagerie.models import Attachment
from tests import factories, stored
from tests.messagerie.cast import actor, pdf, pro_with, start

pytestmark = pytest.mark.django_db

SUBJECT = "Résultat de la biopsie hépatique"
BODY = "La biopsie montre une fibrose de stade F2."
SECRET_PDF = b"%PDF-1.4\n% Diagnostic: cirrhose debutante\n%%EOF\n"


def _raw_rows(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return cursor.fetchall()


def _as_bytes(value):
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def test_subjects_bodies_names_and_files_are_encrypted_at_rest(settings):
    space = factories.SpaceFactory()
    gp = pro_with(space, CareRelation.Basis.ATTENDING)
    conversation = start(
        gp,
        space,
        subject=SUBJECT,
        body=BODY,
        attachments=[services.NewAttachment("biopsie-foie.pdf", SECRET_PDF)],
    )
    services.reply(by=actor(space.holder.user), conversation=conversation, body=BODY + " Merci")
    tables = [
        "messagerie_mailbox",
        "messagerie_conversation",
        "messagerie_conversationmember",
        "messagerie_message",
        "messagerie_messagerecipient",
        "messagerie_attachment",
        "acces_auditevent",
        "espace_sante_notification",
    ]
    dump = b"".join(
        _as_bytes(value) for table in tables for row in _raw_rows(table) for value in row
    )
    for clear in (SUBJECT, "biopsie", "fibrose", "biopsie-foie", "cirrhose"):
        assert clear.encode("utf-8") not in dump
    attachment = Attachment.objects.get()
    assert b"cirrhose" not in stored.read(attachment.file)
    # Each object under its own data key.
    keys = {
        conversation.data_key_id,
        *conversation.messages.values_list("data_key_id", flat=True),
        attachment.data_key_id,
    }
    assert len(keys) == 4 and DataKey.objects.filter(pk__in=keys).count() == 4
    assert selectors.inbox(services.patient_mailbox(space)).rows[0].subject == SUBJECT


def test_deleting_for_good_everywhere_shreds_the_keys():
    space = factories.SpaceFactory()
    gp = pro_with(space, CareRelation.Basis.ATTENDING)
    conversation = start(gp, space, attachments=[pdf()])
    keys = [
        conversation.data_key_id,
        *conversation.messages.values_list("data_key_id", flat=True),
        *Attachment.objects.values_list("data_key_id", flat=True),
    ]
    for who in (space.holder.user, gp):
        services.delete_for_good(by=actor(who), conversation=conversation)
    assert not DataKey.objects.filter(pk__in=keys, destroyed_at__isnull=True).exists()
    assert not Attachment.objects.exists()


def test_every_messaging_action_is_traced_and_labelled():
    space = factories.SpaceFactory()
    gp = pro_with(space, CareRelation.Basis.ATTENDING)
    holder = actor(space.holder.user)
    conversation = start(gp, space, attachments=[pdf()])
    attachment = Attachment.objects.get()
    services.mark_read(by=holder, conversation=conversation)
    services.download_attachment(by=holder, attachment=attachment)
    services.add_attachment_to_dmp(by=holder, attachment=attachment, type_code="11502-2")
    services.save_draft(by=holder, conversation=conversation, body="Brouillon")
    services.reply(by=holder, conversation=conversation, body="Merci", attachments=[pdf()])
    filed = Attachment.objects.get(message__sender__kind="patient")
    services.file_attachment_into_dmp(by=actor(gp), attachment=filed, type_code="11488-4")
    services.end_conversation(by=actor(gp), conversation=conversation)
    services.trash(by=holder, conversation=conversation)
    services.restore(by=holder, conversation=conversation)
    services.refuse_sender(by=holder, space=space, professional=gp)
    services.lift_refusal(by=holder, space=space, professional=gp)
    services.trash(by=holder, conversation=conversation)
    services.delete_for_good(by=holder, conversation=conversation)
    traced = set(AuditEvent.objects.filter(space=space).values_list("action", flat=True))
    # Each of these has its own test; the professional's inbox is on their own chain.
    expected = set(MessagingAction) - {
        MessagingAction.PRESCRIPTION_SENT,
        MessagingAction.PRO_INBOX_VIEWED,
        MessagingAction.MESSAGE_IMPORTED,
    }
    assert expected <= traced
    for action in MessagingAction:
        assert audit_actions.label(action.value) == action.label
        assert str(action.label)[0].isupper()


def _conversations(space, gp, count):
    for n in range(count):
        start(gp, space, subject=f"Sujet {n}")


@pytest.mark.parametrize("folder", ["inbox", "sent", "drafts", "trash"])
def test_inbox_costs_the_same_queries_for_1_and_50_conversations(folder):
    counts = []
    for size in (1, 50):
        space = factories.SpaceFactory()
        gp = pro_with(space, CareRelation.Basis.ATTENDING)
        other = pro_with(space, CareRelation.Basis.AUTHORISED)
        _conversations(space, gp, size)
        start(other, space, cc=[gp])
        box = services.patient_mailbox(space)
        with CaptureQueriesContext(connection) as queries:
            page = selectors.inbox(box, folder, per_page=100)
            selectors.unread_count(box)
        if folder == "inbox":
            assert len(page.rows) == size + 1
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_searching_costs_the_same_queries_for_1_and_50_conversations():
    counts = []
    for size in (1, 50):
        space = factories.SpaceFactory()
        gp = pro_with(space, CareRelation.Basis.ATTENDING)
        _conversations(space, gp, size)
        box = services.patient_mailbox(space)
        with CaptureQueriesContext(connection) as queries:
            assert selectors.inbox(box, search="sujet", per_page=100).total == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_conversation_costs_the_same_queries_for_1_and_20_messages():
    counts = []
    for size in (1, 20):
        space = factories.SpaceFactory()
        gp = pro_with(space, CareRelation.Basis.ATTENDING)
        conversation = start(gp, space, attachments=[pdf()])
        for n in range(size - 1):
            services.reply(
                by=actor(gp), conversation=conversation, body=f"Suite {n}", attachments=[pdf()]
            )
        holder = actor(space.holder.user)
        decision = services.decide_read(holder, conversation)
        box = services.patient_mailbox(space)
        with CaptureQueriesContext(connection) as queries:
            views = selectors.conversation_messages(conversation, box, decision)
        assert len(views) == size and all(len(v.attachments) == 1 for v in views)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_admin_shows_no_message():
    from django.contrib import admin

    assert not [m for m in admin.site._registry if m._meta.app_label == "messagerie"]
