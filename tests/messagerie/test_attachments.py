"""Attachments: checked by their content, size limits, into the DMP, and who they reach."""

import pytest

from acces.models import AuditEvent, CareRelation
from dossier.models import Document
from dossier.validation import sniff
from espace_sante import crypto
from messagerie import sealing, selectors, services
from messagerie.actions import MessagingAction
from messagerie.models import Attachment, Conversation, Message
from messagerie.services import MessagingError, NewAttachment
from tests import factories, stored
from tests.messagerie.cast import (
    PDF,
    TIFF,
    actor,
    block,
    minor_space_with_representative,
    pdf,
    pro_with,
    start,
)

pytestmark = pytest.mark.django_db

Basis = CareRelation.Basis


@pytest.fixture
def space():
    return factories.SpaceFactory()


@pytest.fixture
def gp(space):
    return pro_with(space, Basis.ATTENDING)


def holder(space):
    return actor(space.holder.user)


def _stored_files(settings):
    return stored.names("messages")


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("resultat.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "pages web"),
        ("image.png", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "images SVG"),
        ("vide.pdf", b"", "vide"),
        ("programme.pdf", b"MZ\x90\x00\x03\x00\x00\x00\xff\xfe", "n'est pas accepté"),
    ],
)
def test_refused_content_stores_nothing(space, gp, settings, name, data, words):
    with pytest.raises(MessagingError) as refused:
        start(gp, space, attachments=[NewAttachment(name, data)])
    assert words in str(refused.value)
    assert "TIFF" in str(refused.value)  # the messages name what attachments accept
    assert not Conversation.objects.exists() and not Message.objects.exists()
    assert not Attachment.objects.exists() and not _stored_files(settings)


def test_the_same_checks_as_dmp_documents_tiff_besides():
    html = b"<html><body>x</body></html>"
    from dossier.validation import RejectedFile

    with pytest.raises(RejectedFile) as dmp:
        sniff(html)
    with pytest.raises(RejectedFile) as attachment:
        sniff(html, tiff=True)
    assert str(dmp.value).split(" Formats")[0] == str(attachment.value).split(" Formats")[0]
    assert sniff(TIFF, tiff=True).content_type == "image/tiff"
    assert sniff(b"MM\x00*" + b"\x00" * 16, tiff=True).content_type == "image/tiff"
    with pytest.raises(RejectedFile):
        sniff(TIFF)  # DMP documents are unchanged: no TIFF


def test_accepted_attachments_are_typed_by_their_bytes(space, gp):
    conversation = start(gp, space, attachments=[pdf("a.txt"), NewAttachment("scan.pdf", TIFF)])
    types = list(
        Attachment.objects.filter(message__conversation=conversation).values_list(
            "content_type", flat=True
        )
    )
    assert types == ["application/pdf", "image/tiff"]


def test_size_limit_per_message(space, gp, settings):
    settings.MESSAGE_MAX_BYTES = 1000
    with pytest.raises(MessagingError) as refused:
        start(gp, space, attachments=[pdf(data=PDF + b"0" * 1000)])
    assert "ne peuvent pas dépasser" in str(refused.value)
    assert not Attachment.objects.exists()


def test_size_limit_per_mailbox(space, gp, settings):
    settings.MAILBOX_MAX_BYTES = len(PDF) * 2
    conversation = start(gp, space, attachments=[pdf(), pdf()])
    assert selectors.mailbox_usage(services.patient_mailbox(space)) == len(PDF) * 2
    with pytest.raises(MessagingError) as refused:
        services.reply(
            by=holder(space), conversation=conversation, body="Ci-joint", attachments=[pdf()]
        )
    assert "Votre messagerie est pleine" in str(refused.value)
    colleague = pro_with(space, Basis.AUTHORISED)
    with pytest.raises(MessagingError) as refused:
        start(colleague, space, attachments=[pdf()])
    assert "du destinataire est pleine" in str(refused.value)
    # Deleting for good frees the room.
    services.trash(by=holder(space), conversation=conversation)
    services.delete_for_good(by=holder(space), conversation=conversation)
    assert selectors.mailbox_usage(services.patient_mailbox(space)) == 0


def test_download_is_decrypted_and_traced(space, gp):
    conversation = start(gp, space, attachments=[pdf()])
    attachment = Attachment.objects.get(message__conversation=conversation)
    chunks = services.download_attachment(by=holder(space), attachment=attachment)
    assert b"".join(chunks) == PDF
    assert sealing.attachment_name(attachment) == "resultats.pdf"
    event = AuditEvent.objects.get(action=MessagingAction.ATTACHMENT_DOWNLOADED)
    assert event.target_id == str(attachment.public_id)
    stranger = factories.ProfessionalFactory()
    with pytest.raises(MessagingError):
        services.download_attachment(by=actor(stranger), attachment=attachment)


def test_an_altered_file_is_refused_before_its_first_byte_and_not_traced(space, gp):
    conversation = start(gp, space, attachments=[pdf()])
    attachment = Attachment.objects.get(message__conversation=conversation)
    stored.alter(attachment.file, -1)  # the GCM tag, checked before anything is sent
    with pytest.raises(crypto.DecryptionError):
        services.download_attachment(by=holder(space), attachment=attachment)
    assert not AuditEvent.objects.filter(action=MessagingAction.ATTACHMENT_DOWNLOADED).exists()


def test_the_patient_adds_an_attachment_to_her_documents_authored_by_the_sender(space, gp):
    conversation = start(gp, space, attachments=[pdf()])
    attachment = Attachment.objects.get(message__conversation=conversation)
    document = services.add_attachment_to_dmp(
        by=holder(space), attachment=attachment, type_code="11502-2", title="Bilan"
    )
    assert document.author_professional == gp and document.author_label == gp.title
    assert document.source == Document.Source.PROFESSIONAL
    assert document.added_by == space.holder.user
    from dossier.services import read_content

    assert read_content(document) == PDF
    actions = set(AuditEvent.objects.filter(space=space).values_list("action", flat=True))
    assert {MessagingAction.ATTACHMENT_ADDED_TO_DMP, "document_added"} <= actions
    with pytest.raises(MessagingError):  # once
        services.add_attachment_to_dmp(by=holder(space), attachment=attachment, type_code="11502-2")


def test_the_patient_chooses_only_a_type_the_sender_may_add(space):
    physio = pro_with(space, Basis.AUTHORISED, profession="masseur_kinesitherapeute", specialty="")
    conversation = start(physio, space, attachments=[pdf()])
    attachment = Attachment.objects.get(message__conversation=conversation)
    with pytest.raises(MessagingError) as refused:
        services.add_attachment_to_dmp(by=holder(space), attachment=attachment, type_code="11488-4")
    assert "ne peut pas ajouter ce type" in str(refused.value)
    assert not Document.objects.exists()


def test_a_professional_files_an_attachment_under_the_matrix(space, gp):
    conversation = start(gp, space)
    services.reply(by=holder(space), conversation=conversation, body="Voici", attachments=[pdf()])
    attachment = Attachment.objects.get(message__sender__kind="patient")
    document = services.file_attachment_into_dmp(
        by=actor(gp), attachment=attachment, type_code="11488-4", title="Compte rendu"
    )
    assert document.author_professional == gp
    assert AuditEvent.objects.filter(action=MessagingAction.ATTACHMENT_FILED).exists()


def test_filing_is_refused_outside_the_matrix_and_when_blocked(space):
    pharmacist = pro_with(space, Basis.AUTHORISED, profession="pharmacien", specialty="")
    conversation = start(pharmacist, space, attachments=[pdf()])
    attachment = Attachment.objects.get(message__conversation=conversation)
    with pytest.raises(MessagingError):
        services.file_attachment_into_dmp(
            by=actor(pharmacist), attachment=attachment, type_code="11488-4"
        )
    block(space, pharmacist)
    with pytest.raises(MessagingError):
        services.file_attachment_into_dmp(
            by=actor(pharmacist), attachment=attachment, type_code="11502-2"
        )
    assert not Document.objects.exists()


def test_the_patient_attaches_documents_of_her_dmp_and_never_hidden_ones(space, gp):
    conversation = start(gp, space)
    mine = factories.make_document(space, type_code="51855-5", title="Mes notes")
    hidden = factories.make_document(
        space, professional=gp, invisible_to_patient=True, title="Annonce à venir"
    )
    with pytest.raises(MessagingError):
        services.reply(
            by=holder(space), conversation=conversation, body="Ci-joint", dmp_documents=[hidden]
        )
    message = services.reply(
        by=holder(space), conversation=conversation, body="Ci-joint", dmp_documents=[mine]
    )
    attachment = message.attachments.get()
    assert attachment.source_document == mine
    assert sealing.attachment_content(attachment) == PDF
    other_space = factories.SpaceFactory()
    elsewhere = factories.make_document(other_space, type_code="51855-5")
    with pytest.raises(MessagingError):
        services.reply(
            by=holder(space), conversation=conversation, body="Ci-joint", dmp_documents=[elsewhere]
        )


def test_the_patient_attaches_the_summary_of_her_profile(space, gp):
    conversation = start(gp, space)
    message = services.reply(
        by=holder(space), conversation=conversation, body="Ma synthèse", include_summary=True
    )
    attachment = message.attachments.get()
    assert attachment.content_type == "application/pdf"
    assert sealing.attachment_name(attachment).startswith("synthese-profil-medical")
    assert sealing.attachment_content(attachment).startswith(b"%PDF")


def test_a_document_invisible_to_representatives_never_reaches_them():
    space, parent = minor_space_with_representative()
    gp = pro_with(space, Basis.ATTENDING)
    secret = factories.make_document(
        space, professional=gp, invisible_to_representatives=True, title="Contraception"
    )
    conversation = start(gp, space)
    # The parent cannot attach it (she does not see it)...
    with pytest.raises(MessagingError):
        services.reply(
            by=actor(parent), conversation=conversation, body="Ci-joint", dmp_documents=[secret]
        )
    # ...the teenager can; the copy is hidden from her parent, in lists and downloads.
    message = services.reply(
        by=actor(space.holder.user),
        conversation=conversation,
        body="Ci-joint",
        dmp_documents=[secret],
    )
    attachment = message.attachments.get()
    assert attachment.invisible_to_representatives
    box = services.patient_mailbox(space)
    parent_view = selectors.conversation_messages(
        conversation, box, services.decide_read(actor(parent), conversation)
    )
    assert all(not view.attachments for view in parent_view)
    holder_view = selectors.conversation_messages(
        conversation, box, services.decide_read(actor(space.holder.user), conversation)
    )
    assert sum(len(view.attachments) for view in holder_view) == 1
    with pytest.raises(MessagingError):
        services.download_attachment(by=actor(parent), attachment=attachment)
    # The trail the parent reads does not tell of it either.
    services.download_attachment(by=actor(space.holder.user), attachment=attachment)
    from acces.policy import Action, decide
    from acces.selectors import history_for

    parent_trail = history_for(space, parent, decide(parent, Action.VIEW_HISTORY, space))
    assert not parent_trail.filter(action=MessagingAction.ATTACHMENT_DOWNLOADED).exists()
    assert AuditEvent.objects.filter(action=MessagingAction.ATTACHMENT_DOWNLOADED).exists()
    # Filed into the DMP by the GP, it stays invisible to the representatives there too.
    document = services.file_attachment_into_dmp(
        by=actor(gp), attachment=attachment, type_code="11488-4", title="Suivi"
    )
    assert document.invisible_to_representatives


def test_the_quota_reads_only_the_messages_with_files(space, gp, django_assert_num_queries):
    """Messages without files cost the quota nothing (the partial index
    `message_with_files`): a 10,000-message mailbox walked them all (bench/http.py)."""
    conversation = services.start_conversation(
        by=actor(gp), space=space, subject="Résultats", body="Sans fichier"
    )
    services.reply(by=actor(gp), conversation=conversation, body="Encore sans fichier")
    services.reply(
        by=actor(gp),
        conversation=conversation,
        body="Avec",
        attachments=[services.NewAttachment(name="a.pdf", data=PDF)],
    )
    box = services.patient_mailbox(space)
    with django_assert_num_queries(1) as captured:
        assert selectors.mailbox_usage(box) == len(PDF)
    assert '"attachments_size" > 0' in captured.captured_queries[0]["sql"]
