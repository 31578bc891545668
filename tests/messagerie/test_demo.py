"""The demo's messaging: Camille's conversations with her GP and her pharmacy."""

from io import StringIO

import pytest
from django.core.management import call_command

from acces.models import AuditEvent, Professional
from acces.policy import Action, decide
from espace_sante.models import Notification, Space
from messagerie import selectors, services
from messagerie.actions import MessagingAction
from messagerie.models import Attachment, Conversation, Mailbox, Message, MessageRecipient
from messagerie.services import MessagingError
from tests.messagerie.cast import actor

pytestmark = pytest.mark.django_db


def _demo():
    call_command("demo", stdout=StringIO())


def _camille():
    return Space.objects.get(holder__first_names__startswith="Camille")


def _pro(key):
    return Professional.objects.get(user__email__startswith=f"{key}@")


def _rows(space):
    return {row.subject: row for row in selectors.inbox(services.patient_mailbox(space)).rows}


def test_camille_has_three_conversations_newest_first_two_unread():
    _demo()
    space = _camille()
    page = selectors.inbox(services.patient_mailbox(space))
    assert [row.subject for row in page.rows] == [
        "Résultats de votre bilan sanguin",
        "Renouvellement de votre traitement",
        "Ordonnance à préparer",
    ]
    rows = _rows(space)
    assert rows["Résultats de votre bilan sanguin"].correspondents == [
        "Dr Martin Bernard — Médecin, médecine générale (Cabinet Bernard)"
    ]
    assert rows["Ordonnance à préparer"].correspondents == ["Pharmacie Petit — Pharmacie"]
    assert selectors.unread_count(services.patient_mailbox(space)) == 2  # result, pharmacy
    assert Notification.objects.filter(
        recipient=space.holder.user, kind="message_received"
    ).exists()


def test_the_gp_result_carries_a_pdf_camille_can_add_to_her_documents():
    _demo()
    space = _camille()
    conversation = _rows(space)["Résultats de votre bilan sanguin"].conversation
    attachment = Attachment.objects.get(message__conversation=conversation)
    assert attachment.content_type == "application/pdf"
    assert attachment.dmp_document is None  # left for her to add
    camille = actor(space.holder.user)
    document = services.add_attachment_to_dmp(
        by=camille, attachment=attachment, type_code="11502-2"
    )
    assert document.space == space
    assert document.author_professional == _pro("generaliste")


def test_the_gp_ended_the_renewal_and_camille_can_no_longer_reply():
    _demo()
    space = _camille()
    row = _rows(space)["Renouvellement de votre traitement"]
    assert row.ended and row.unread == 0
    conversation = row.conversation
    assert conversation.ended_by == _pro("generaliste")
    assert conversation.messages.filter(is_draft=False).count() == 3
    with pytest.raises(MessagingError):
        services.reply(by=actor(space.holder.user), conversation=conversation, body="Merci !")
    # The GP's side: the patient read his messages (read receipts).
    gp_box = services.personal_mailbox(_pro("generaliste"))
    assert not MessageRecipient.objects.filter(
        message__conversation=conversation, read_at__isnull=True
    ).exists()
    gp_rows = selectors.inbox(gp_box, "sent").rows
    assert {r.subject for r in gp_rows} == {
        "Résultats de votre bilan sanguin",
        "Renouvellement de votre traitement",
    }
    assert all(r.correspondents == [space.holder.display_name] for r in gp_rows)


def test_the_pharmacy_has_an_organisational_mailbox_that_accepts_prescriptions():
    _demo()
    space = _camille()
    pharmacist = _pro("pharmacien")
    pharmacy = Mailbox.objects.get(kind=Mailbox.Kind.ORGANISATIONAL)
    assert pharmacy.accepts_prescriptions
    assert pharmacy.organisation_kind == Mailbox.OrganisationKind.PHARMACIE
    assert list(pharmacy.members.all()) == [pharmacist]
    conversation = _rows(space)["Ordonnance à préparer"].conversation
    first, answer = conversation.messages.filter(is_draft=False).order_by("sent_at", "pk")
    assert first.sender == services.patient_mailbox(space)
    assert first.attachments.get().source_document.category == "prescriptions"
    assert answer.sender == pharmacy and answer.sender_professional == pharmacist
    assert selectors.unread_for_professional(pharmacist) == 0  # he read it to answer
    assert AuditEvent.objects.filter(space=space, action=MessagingAction.PRESCRIPTION_SENT).exists()
    assert decide(pharmacist.user, Action.VIEW_SPACE, space)


def test_the_messaging_demo_goes_through_the_services():
    _demo()
    space = _camille()
    actions = set(AuditEvent.objects.filter(space=space).values_list("action", flat=True))
    assert {
        MessagingAction.CONVERSATION_STARTED,
        MessagingAction.MESSAGE_SENT,
        MessagingAction.MESSAGE_READ,
        MessagingAction.CONVERSATION_ENDED,
    } <= actions
    # Encrypted at rest: no subject nor body in clear in its columns.
    for message in Message.objects.all():
        assert "Lévothyroxine".encode() not in bytes(message.body_ciphertext)
    for conversation in Conversation.objects.all():
        assert b"sanguin" not in bytes(conversation.subject_ciphertext)


def test_the_messaging_demo_is_idempotent():
    _demo()
    counts = (
        Conversation.objects.count(),
        Message.objects.count(),
        Attachment.objects.count(),
        Mailbox.objects.count(),
        Notification.objects.count(),
        AuditEvent.objects.filter(action__startswith="message_").count(),
    )
    _demo()
    assert (
        Conversation.objects.count(),
        Message.objects.count(),
        Attachment.objects.count(),
        Mailbox.objects.count(),
        Notification.objects.count(),
        AuditEvent.objects.filter(action__startswith="message_").count(),
    ) == counts
