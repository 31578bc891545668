"""The messages as a part of the space: in the full download (PDF per conversation, the
attachments, FHIR Communications), on the space page, crypto-shredded at deletion."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from acces.models import AuditEvent
from acces.policy import Basis, Decision
from dossier import fhir
from espace_sante import crypto, export, lifecycle
from espace_sante.models import DataKey
from espace_sante.tracing import Actor
from messagerie import retention
from messagerie.models import (
    Attachment,
    Conversation,
    ConversationMember,
    Mailbox,
    Message,
    MessageRecipient,
)
from messagerie.parts import MESSAGES
from tests import factories
from tests.conftest import sign_in
from tests.dossier.test_summary import pdf_text
from tests.fhir import assert_valid_fhir_r4
from tests.messagerie import helpers

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
PDF = factories.PDF_BYTES
RESULT = b"%PDF-1.4\n% compte rendu de biologie\n%%EOF\n"


def _archive(space, requester) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(export.build_archive(space, requester=requester)))


def _messages(archive) -> list[str]:
    return sorted(n for n in archive.namelist() if n.startswith("messagerie/"))


@pytest.fixture
def gp():
    return factories.ProfessionalFactory(user__last_name="Martin", practice_name="Cabinet du Port")


def _exchange(space, gp, *, subject="Vos résultats de prise de sang"):
    """The GP writes with a PDF result, the patient answers."""
    conversation = helpers.start(space, gp, subject=subject)
    patient, doctor = helpers.patient_mailbox(space), helpers.personal_mailbox(gp)
    first = helpers.write(
        conversation,
        sender=doctor,
        to=[patient],
        body="Bonjour, voici vos résultats : tout est normal.",
        attachments=[("résultats.pdf", RESULT, "application/pdf", {})],
    )
    answer = helpers.write(
        conversation, sender=patient, to=[doctor], body="Merci docteur, bonne journée."
    )
    return conversation, first, answer


def test_the_full_download_holds_a_pdf_per_conversation_and_its_attachments(gp):
    space = factories.SpaceFactory()
    conversation, _first, _answer = _exchange(space, gp)
    helpers.start(space, gp, subject="Rendez-vous de contrôle")
    # A draft of the GP's never reached the patient: not in the archive.
    helpers.write(
        conversation,
        sender=helpers.personal_mailbox(gp),
        to=[helpers.patient_mailbox(space)],
        body="Brouillon jamais envoyé",
        attachments=[("brouillon.pdf", PDF, "application/pdf", {})],
        draft=True,
    )
    archive = _archive(space, space.holder.user)
    day = timezone.localdate()
    slug = "vos-resultats-de-prise-de-sang"
    stem = f"messagerie/{day:%Y-%m-%d}-{slug}-{str(conversation.public_id)[:8]}"
    names = _messages(archive)
    assert f"{stem}.pdf" in names
    assert f"{stem}/pieces-jointes/01-resultats.pdf" in names
    assert archive.read(f"{stem}/pieces-jointes/01-resultats.pdf") == RESULT
    assert len([n for n in names if n.endswith(".pdf") and "/pieces-jointes/" not in n]) == 2
    assert len(names) == 3  # two conversations, one attachment: the draft's is not there
    text = pdf_text(archive.read(f"{stem}.pdf"))
    assert "Vos résultats de prise de sang" in text
    assert "voici vos résultats : tout est normal." in text
    assert "Merci docteur, bonne journée." in text
    assert "résultats.pdf" in text
    assert "Brouillon jamais envoyé" not in text
    # The professional is named, never addressed.
    assert "Martin" in text
    assert "mssante.fr" not in text


def test_the_progress_bar_counts_the_messages_files(gp):
    space = factories.SpaceFactory()
    _exchange(space, gp)
    steps = []
    archive = zipfile.ZipFile(
        io.BytesIO(
            export.build_archive(
                space, progress=lambda done, total: steps.append(total), requester=space.holder.user
            )
        )
    )
    assert steps[-1] == len(steps) == len(archive.namelist())
    assert MESSAGES.export_steps(space, Decision(True, Basis.HOLDER)) == 2


def test_a_conversation_deleted_for_good_by_the_patient_is_not_exported(gp):
    space = factories.SpaceFactory()
    conversation, _first, _answer = _exchange(space, gp)
    ConversationMember.objects.filter(
        conversation=conversation, mailbox=helpers.patient_mailbox(space)
    ).update(deleted_at=timezone.now())
    assert _messages(_archive(space, space.holder.user)) == []


def test_a_representative_never_gets_an_attachment_hidden_from_representatives(gp):
    representative = factories.LegalRepresentativeFactory()
    space = representative.space
    hidden_document = factories.make_document(
        space,
        professional=gp,
        title="Consultation confidentielle",
        invisible_to_representatives=True,
    )
    conversation = helpers.start(space, gp, subject="Documents")
    helpers.write(
        conversation,
        sender=helpers.personal_mailbox(gp),
        to=[helpers.patient_mailbox(space)],
        body="Voici trois documents.",
        attachments=[
            ("visible.pdf", PDF, "application/pdf", {}),
            ("marque.pdf", PDF, "application/pdf", {"invisible_to_representatives": True}),
            ("copie.pdf", PDF, "application/pdf", {"source_document": hidden_document}),
        ],
    )
    archive = _archive(space, representative.user)
    attachments = [n for n in _messages(archive) if "/pieces-jointes/" in n]
    assert [n.rsplit("/", 1)[1] for n in attachments] == ["01-visible.pdf"]
    (pdf,) = [n for n in _messages(archive) if n.count("/") == 1]
    text = pdf_text(archive.read(pdf))
    assert "visible.pdf" in text
    assert "marque.pdf" not in text and "copie.pdf" not in text
    bundle = json.loads(archive.read(fhir.FILENAME))
    urls = [
        payload["contentAttachment"]["url"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Communication"
        for payload in entry["resource"].get("payload", [])
        if "contentAttachment" in payload
    ]
    assert urls == attachments


def test_each_message_is_a_valid_fhir_communication_in_the_dmps_bundle(gp):
    space = factories.SpaceFactory()
    conversation, first, answer = _exchange(space, gp)
    MessageRecipient.objects.filter(message=first).update(read_at=timezone.now())
    archive = _archive(space, space.holder.user)
    bundle = json.loads(archive.read(fhir.FILENAME))
    assert_valid_fhir_r4(bundle)
    patient_urn = next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    communications = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Communication"
    ]
    assert [c["id"] for c in communications] == [str(first.public_id), str(answer.public_id)]
    sent, reply = communications
    assert sent["status"] == "completed"
    assert sent["subject"] == {"reference": patient_urn}
    assert sent["topic"] == {"text": "Vos résultats de prise de sang"}
    assert sent["sender"]["identifier"]["value"] == f"8{gp.rpps}"
    assert "mssante.fr" not in json.dumps(sent)  # named, never addressed
    assert sent["recipient"] == [{"reference": patient_urn}]
    assert "received" in sent and "received" not in reply
    assert sent["payload"][0] == {
        "contentString": "Bonjour, voici vos résultats : tout est normal."
    }
    attachment = sent["payload"][1]["contentAttachment"]
    assert archive.read(attachment["url"]) == RESULT
    assert attachment["title"] == "résultats.pdf" and attachment["size"] == len(RESULT)
    assert reply["inResponseTo"] == [{"reference": f"urn:uuid:{first.public_id}"}]
    assert reply["sender"] == {"reference": patient_urn}
    assert {i["value"] for i in reply["identifier"]} >= {str(conversation.public_id)}


def test_definitive_deletion_crypto_shreds_every_message_and_attachment(gp):
    space = factories.SpaceFactory()
    conversation, first, answer = _exchange(space, gp)
    attachment = Attachment.objects.get(message=first)
    keys = {conversation.data_key_id, first.data_key_id, answer.data_key_id, attachment.data_key_id}
    stored = attachment.file.name
    ciphertext = bytes(first.body_ciphertext)
    assert default_storage.exists(stored)
    other = factories.SpaceFactory()
    _exchange(other, gp)  # another patient's conversation with the same GP stays

    space = lifecycle.request_deletion(space=space, by=SYSTEM)
    lifecycle.destroy(space=space, by=SYSTEM)

    assert not Conversation.objects.filter(space=space).exists()
    assert not Message.objects.filter(pk__in=[first.pk, answer.pk]).exists()
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert not MessageRecipient.objects.filter(message_id__in=[first.pk, answer.pk]).exists()
    assert not ConversationMember.objects.filter(conversation_id=conversation.pk).exists()
    assert not Mailbox.objects.filter(space=space).exists()
    assert not default_storage.exists(stored)
    for key in DataKey.objects.filter(pk__in=keys):
        assert key.wrapped is None and key.destroyed_at is not None
        # A copy of the database taken before reads as noise.
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(ciphertext, key)
    assert Conversation.objects.filter(space=other).count() == 1
    assert Mailbox.objects.filter(professional=gp).exists()


def test_a_closed_space_keeps_its_messages_readable_at_reactivation(gp):
    space = factories.SpaceFactory()
    _exchange(space, gp)
    space = lifecycle.close(space=space, by=SYSTEM, reason="test")
    space = lifecycle.reactivate(space=space, by=SYSTEM, reason="test")
    archive = _archive(space, space.holder.user)
    (pdf,) = [n for n in _messages(archive) if n.count("/") == 1]
    assert "Merci docteur, bonne journée." in pdf_text(archive.read(pdf))


def test_the_space_page_counts_conversations_and_unread_in_constant_queries(client, gp):
    space = factories.SpaceFactory()
    _exchange(space, gp)
    sign_in(client, space.holder.user)
    url = reverse("espace_sante:space", args=[space.public_id])
    client.get(url)  # the first page of a session does more (its device, its level)
    with CaptureQueriesContext(connection) as one:
        page = client.get(url).content.decode()
    assert "Conversations : 1" in page
    for number in range(5):
        conversation = helpers.start(space, gp, subject=f"Sujet {number}")
        helpers.write(
            conversation,
            sender=helpers.personal_mailbox(gp),
            to=[helpers.patient_mailbox(space)],
            body="Bonjour",
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()
    assert "Conversations : 6" in page
    assert "Messages non lus : 6" in page  # the first message and one in each new one
    assert len(many) == len(one)


def test_the_counts_are_the_readers_own():
    gp, other = factories.ProfessionalFactory(), factories.ProfessionalFactory()
    space = factories.SpaceFactory()
    _exchange(space, gp)
    helpers.start(space, other, subject="Autre")
    with CaptureQueriesContext(connection) as queries:
        holder = MESSAGES.counts(space, Decision(True, Basis.HOLDER))
    assert len(queries) == 1
    assert [(str(label), n) for label, n in holder] == [
        ("Conversations", 2),
        ("Messages non lus", 1),
    ]
    doctor = Decision(True, Basis.AUTHORISED, professional_id=gp.pk)
    assert [n for _label, n in MESSAGES.counts(space, doctor)] == [1, 1]
    assert MESSAGES.counts(space, Decision(True, Basis.EMERGENCY)) == []


def test_professional_messages_make_professional_content(gp):
    space = factories.SpaceFactory()
    assert not lifecycle.has_professional_content(space)
    _exchange(space, gp)
    assert lifecycle.has_professional_content(space)


def test_retention_shreds_conversations_older_than_the_setting(settings, gp):
    space = factories.SpaceFactory()
    old, _first, _answer = _exchange(space, gp, subject="Ancien")
    recent, *_ = _exchange(space, gp, subject="Récent")
    Conversation.objects.filter(pk=old.pk).update(
        last_message_at=timezone.now() - timedelta(days=400)
    )
    settings.MESSAGES_RETENTION_DAYS = None
    assert retention.purge_expired_conversations() == 0
    settings.MESSAGES_RETENTION_DAYS = 365
    assert retention.purge_expired_conversations() == 1
    assert list(Conversation.objects.filter(space=space)) == [recent]
    assert Message.objects.filter(conversation=recent).count() == 2
    event = AuditEvent.objects.get(space=space, action="message_conversation_deleted")
    assert event.detail == {"reason": "retention", "days": 365}
    assert event.target_id == str(old.public_id)
    assert retention.purge_expired_conversations() == 0


def test_what_the_services_store_is_what_the_download_holds():
    """Through the real sending services: the GP writes with a PDF, the holder answers
    with a document of their DMP."""
    from acces.models import CareRelation
    from messagerie import services

    space = factories.SpaceFactory()
    doctor = factories.ProfessionalFactory(user__last_name="Martin")
    factories.CareRelationFactory(
        space=space, professional=doctor, basis=CareRelation.Basis.ATTENDING
    )
    holder = space.holder.user
    document = factories.make_document(space, title="Ancienne prise de sang", data=RESULT)
    conversation = services.start_conversation(
        by=Actor(user=doctor.user, role=doctor.user.kind),
        space=space,
        subject="Vos résultats",
        body="Voici vos résultats.",
        attachments=[services.NewAttachment("résultats.pdf", PDF)],
    )
    services.reply(
        by=Actor(user=holder, role=holder.kind),
        conversation=conversation,
        body="Voici l'ancienne pour comparer.",
        dmp_documents=[document],
    )
    archive = _archive(space, holder)
    files = {n: archive.read(n) for n in _messages(archive) if "/pieces-jointes/" in n}
    assert sorted(files.values()) == sorted([PDF, RESULT])
    (pdf,) = [n for n in _messages(archive) if n.count("/") == 1]
    text = pdf_text(archive.read(pdf))
    assert "Voici vos résultats." in text and "Voici l'ancienne pour comparer." in text
    assert_valid_fhir_r4(json.loads(archive.read(fhir.FILENAME)))


def test_the_conversation_pdf_draws_digits_with_the_text_font_and_emoji_with_an_emoji_font(gp):
    import subprocess

    def fonts(pdf):
        return subprocess.run(
            ["/usr/bin/pdffonts", "-"], input=pdf, capture_output=True, check=True, timeout=30
        ).stdout.decode()

    space = factories.SpaceFactory()
    conversation = helpers.start(space, gp, subject="Rendez-vous du 12/03/2026")
    patient, doctor = helpers.patient_mailbox(space), helpers.personal_mailbox(gp)
    helpers.write(conversation, sender=doctor, to=[patient], body="À 10:45, merci.")
    archive = _archive(space, space.holder.user)
    (pdf,) = [n for n in _messages(archive) if n.count("/") == 1]
    assert "Emoji" not in fonts(archive.read(pdf))
    helpers.write(conversation, sender=patient, to=[doctor], body="Merci 👍")
    archive = _archive(space, space.holder.user)
    assert "Emoji" in fonts(archive.read(pdf))
    assert "Merci 👍" in pdf_text(archive.read(pdf))
