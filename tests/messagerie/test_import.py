"""`manage.py import_dmp` takes the archive's FHIR Communications back as "reprise"
conversations: names only, no reply, encrypted, traced, idempotent, bad ones reported."""

import base64
import hashlib
import json
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from acces.models import AuditEvent, CareRelation
from dossier import fhir
from espace_sante import export, lifecycle
from espace_sante.tracing import Actor
from messagerie import sealing, selectors, services
from messagerie.actions import MessagingAction
from messagerie.models import Attachment, Conversation, ConversationMember, Mailbox, Message
from tests import factories
from tests.conftest import sign_in
from tests.fhir import assert_valid_fhir_r4
from tests.messagerie.cast import actor, pdf, start

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
RESULT = b"%PDF-1.4\n% compte rendu de biologie importe\n%%EOF\n"
SUBJECT = "Vos résultats de thyroïde"
BODY = "Bonjour, votre TSH est normale, voici le compte rendu."
ANSWER = "Merci docteur, à bientôt."
NAME = "Dr Paul Martin — Médecin, médecine générale (Cabinet du Port)"


@pytest.fixture
def gp():
    return factories.ProfessionalFactory(
        user__first_name="Paul", user__last_name="Martin", practice_name="Cabinet du Port"
    )


@pytest.fixture
def source(gp):
    """A space where the GP wrote with a PDF, the patient answered, and another
    conversation the GP ended."""
    space = factories.SpaceFactory()
    factories.CareRelationFactory(space=space, professional=gp, basis=CareRelation.Basis.ATTENDING)
    conversation = start(gp, space, subject=SUBJECT, body=BODY, attachments=[pdf(data=RESULT)])
    services.mark_read(by=actor(space.holder.user), conversation=conversation)
    services.reply(by=actor(space.holder.user), conversation=conversation, body=ANSWER)
    ended = start(gp, space, subject="Rendez-vous", body="Venez mardi.")
    services.end_conversation(by=actor(gp), conversation=ended)
    return space


def _archive(space, tmp_path):
    path = tmp_path / "archive.zip"
    path.write_bytes(export.build_archive(space, requester=space.holder.user))
    return path


def run(path, *args, **options):
    out, err = StringIO(), StringIO()
    try:
        call_command("import_dmp", str(path), *args, stdout=out, stderr=err, **options)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def _imported(space):
    return list(
        Conversation.objects.filter(space=space).select_related("data_key").order_by("started_at")
    )


def test_round_trip_takes_the_conversations_back_as_reprise_once(source, gp, tmp_path):
    path = _archive(source, tmp_path)
    with zipfile.ZipFile(path) as handle:
        assert_valid_fhir_r4(json.loads(handle.read(fhir.FILENAME)))
    # The old space is destroyed; a new one gets the archive.
    lifecycle.destroy(space=lifecycle.request_deletion(space=source, by=SYSTEM), by=SYSTEM)
    target = factories.SpaceFactory()

    out, err, failure = run(path, space_nir=target.holder.nir)
    assert failure is None, err
    assert "Messages : 3 importés, 0 déjà présent, 0 ignoré." in out

    first, second = _imported(target)
    assert sealing.subject(first) == SUBJECT and sealing.subject(second) == "Rendez-vous"
    assert first.imported_at is not None and first.source_identifier
    # Encrypted at rest like every message.
    assert SUBJECT.encode() not in bytes(first.subject_ciphertext)
    messages = list(first.messages.select_related("sender", "data_key").order_by("sent_at"))
    assert [sealing.body(m) for m in messages] == [BODY, ANSWER]
    assert all(BODY.encode() not in bytes(m.body_ciphertext) for m in messages)
    # Nobody of this service wrote them: the GP is a name, the patient's answer is hers.
    doctor, patient = (m.sender for m in messages)
    assert doctor.kind == Mailbox.Kind.ARCHIVE and doctor.name == NAME
    assert doctor.professional is None and not doctor.stored_address
    assert patient == services.patient_mailbox(target)
    assert all(m.sender_professional is None and m.written_by is None for m in messages)
    assert {m.reply_mode for m in messages} == {Message.ReplyMode.NO_REPLY}
    (attachment,) = Attachment.objects.filter(message__conversation=first)
    assert sealing.attachment_content(attachment) == RESULT
    assert sealing.attachment_name(attachment) == "resultats.pdf"
    assert attachment.sha256 == hashlib.sha256(RESULT).hexdigest()
    with attachment.file.open("rb") as stored:
        assert RESULT not in stored.read()
    # The first message was read in the old record, the ended one was not: it is new here.
    assert selectors.unread_for_space(target) == 1
    events = AuditEvent.objects.filter(space=target, action=MessagingAction.MESSAGE_IMPORTED)
    assert events.count() == 3 and {e.actor_id for e in events} == {None}

    # Again: nothing is added twice.
    out, err, failure = run(path, space_nir=target.holder.nir)
    assert failure is None, err
    assert "Messages : 0 importé, 3 déjà présents, 0 ignoré." in out
    assert len(_imported(target)) == 2
    assert Message.objects.filter(conversation__space=target).count() == 3
    assert Attachment.objects.filter(message__conversation__space=target).count() == 1
    assert Mailbox.objects.filter(kind=Mailbox.Kind.ARCHIVE).count() == 2
    assert events.count() == 3

    # Downloaded again, they are valid FHIR again.
    bundle = fhir.build_bundle(target)
    assert_valid_fhir_r4(bundle)
    assert (
        len([e for e in bundle["entry"] if e["resource"]["resourceType"] == "Communication"]) == 3
    )


def test_the_patient_reads_them_marked_as_reprise_and_is_told_why_she_cannot_reply(
    source, gp, tmp_path
):
    target = factories.SpaceFactory()
    run(_archive(source, tmp_path), space_nir=target.holder.nir)
    first, _second = _imported(target)
    client = sign_in(Client(), target.holder.user)
    inbox = client.get(f"/espace/{target.public_id}/messagerie/").content.decode()
    assert "Reprise de votre ancien dossier" in inbox
    assert SUBJECT in inbox and NAME in inbox
    page = client.get(f"/espace/{target.public_id}/messagerie/{first.public_id}/").content.decode()
    assert "Reprise de votre ancien dossier" in page
    assert NAME in page and BODY in page
    assert "vous ne pouvez donc pas y répondre" in page
    assert 'name="body"' not in page  # no reply form
    assert "Ajouter aux documents" not in page
    # Her answer's reading is not in the archive: no made-up receipt either way.
    assert "Lu par" not in page and "Pas encore lu" not in page
    assert "mssante.fr" not in page
    (attachment,) = Attachment.objects.filter(message__conversation=first)
    download = client.get(
        f"/espace/{target.public_id}/messagerie/pieces-jointes/{attachment.public_id}/"
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == RESULT
    refused = client.post(
        f"/espace/{target.public_id}/messagerie/{first.public_id}/repondre/", {"body": "Bonjour"}
    )
    assert refused.status_code in (400, 403)
    assert "vous ne pouvez donc pas y répondre" in refused.content.decode()
    assert Message.objects.filter(conversation=first).count() == 2
    with pytest.raises(services.MessagingError) as error:
        services.reply(by=actor(target.holder.user), conversation=first, body="Bonjour")
    assert error.value.reason == "conversation_imported"
    # Nor can she write to the name as to a professional who wrote to her.
    assert not services.writer_ids(target)


def test_the_professional_named_in_the_archive_does_not_get_them_as_his_own(source, gp, tmp_path):
    target = factories.SpaceFactory()
    factories.CareRelationFactory(space=target, professional=gp, basis=CareRelation.Basis.ATTENDING)
    factories.TOTPDeviceFactory(user=gp.user)
    run(_archive(source, tmp_path), space_nir=target.holder.nir)
    first, _second = _imported(target)
    client = sign_in(Client(), gp.user)
    for folder in ("inbox", "sent", "trash"):
        page = client.get(f"/pro/messagerie/?dossier={folder}").content.decode()
        assert str(first.public_id) not in page
    # The source space's own conversations are his; the imported ones are not.
    assert (
        Conversation.objects.filter(members__mailbox__professional=gp)
        .exclude(space=target)
        .exists()
    )
    assert not Conversation.objects.filter(space=target, members__mailbox__professional=gp)
    assert client.get(f"/pro/messagerie/{first.public_id}/").status_code == 403
    assert selectors.unread_for_professional(gp) == 1  # the patient's answer in the source
    with pytest.raises(services.MessagingError):
        services.reply(by=actor(gp), conversation=first, body="Je reprends")


def test_deleting_an_imported_conversation_for_good_shreds_it_and_its_names(source, tmp_path):
    target = factories.SpaceFactory()
    run(_archive(source, tmp_path), space_nir=target.holder.nir)
    first, second = _imported(target)
    holder = actor(target.holder.user)
    services.delete_for_good(by=holder, conversation=first)
    assert not Conversation.objects.filter(pk=first.pk).exists()
    assert not Attachment.objects.filter(message__conversation_id=first.pk).exists()
    assert Mailbox.objects.filter(kind=Mailbox.Kind.ARCHIVE).count() == 1
    lifecycle.destroy(space=lifecycle.request_deletion(space=target, by=SYSTEM), by=SYSTEM)
    assert not Conversation.objects.filter(pk=second.pk).exists()
    assert not Mailbox.objects.filter(kind=Mailbox.Kind.ARCHIVE).exists()


def _communication(patient, **changes):
    resource = {
        "resourceType": "Communication",
        "id": changes.pop("id"),
        "status": "completed",
        "subject": {"reference": patient},
        "topic": {"text": "Suivi"},
        "sent": "2024-05-02T10:00:00+02:00",
        "sender": {"display": "Dr Anne Leroy"},
        "recipient": [{"reference": patient}],
        "payload": [{"contentString": "Bonjour"}],
    }
    resource.update(changes)
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def test_bad_communications_are_reported_and_the_others_taken_back(tmp_path):
    target = factories.SpaceFactory()
    patient = "urn:uuid:00000000-0000-4000-8000-000000000001"
    html = b"<html><script>alert(1)</script></html>"

    def attached(name, data, **extra):
        digest = base64.b64encode(hashlib.sha1(data).digest()).decode()
        return {"contentAttachment": {"url": name, "title": name, "hash": digest, **extra}}

    ids = [f"00000000-0000-4000-8000-00000000001{n}" for n in range(7)]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": patient,
                "resource": {
                    "resourceType": "Patient",
                    "id": "00000000-0000-4000-8000-000000000001",
                    "identifier": [{"system": fhir.INS_NIR_SYSTEM, "value": target.holder.nir}],
                },
            },
            _communication(patient, id=ids[0]),  # good
            _communication(patient, id=ids[1], sent=None),
            _communication(patient, id=ids[2], payload=[attached("absent.pdf", RESULT)]),
            _communication(patient, id=ids[3], payload=[attached("page.pdf", html)]),
            _communication(patient, id=ids[4], payload=[attached("altere.pdf", b"%PDF-1.4 autre")]),
            _communication(patient, id=ids[5], payload=[]),
            _communication(patient, id=ids[6], payload=[attached("../../etc/passwd", RESULT)]),
        ],
    }
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "page.pdf").write_bytes(html)
    (folder / "altere.pdf").write_bytes(RESULT)
    (folder / fhir.FILENAME).write_text(json.dumps(bundle), encoding="utf-8")

    out, err, failure = run(folder)
    assert failure is not None and failure.returncode == 1
    assert "Messages : 1 importé, 0 déjà présent, 6 ignorés." in out
    lines = err.splitlines()
    assert len(lines) == 6
    assert f"Communication/{ids[1]} : date d'envoi (sent) manquante" in err
    assert "fichier « absent.pdf » absent de l'archive" in err
    assert "pièce jointe « page.pdf » refusée" in err
    assert "« altere.pdf » ne correspond pas à son empreinte (hash)" in err
    assert f"Communication/{ids[5]} : message vide (payload)" in err
    assert "il sort de l'archive" in err
    (conversation,) = Conversation.objects.filter(space=target)
    assert conversation.messages.get().sender.name == "Dr Anne Leroy"
    assert not Attachment.objects.exists()
    assert timezone.localtime(conversation.started_at).year == 2024
    assert ConversationMember.objects.filter(conversation=conversation).count() == 2


def test_the_patients_inbox_lists_imported_conversations_in_constant_queries(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.messagerie.cast import imported_conversation

    target = factories.SpaceFactory()
    client = sign_in(Client(), target.holder.user)
    url = f"/espace/{target.public_id}/messagerie/"

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    def add(n):
        folder = tmp_path / str(n)
        folder.mkdir()
        imported_conversation(target, folder, subject=f"Reprise {n}", sender=f"Dr Nom {n}")

    add(0)
    client.get(url)
    one = queries()
    for n in range(1, 21):
        add(n)
    assert queries() == one
    page = client.get(url).content.decode()
    assert page.count("Reprise de votre ancien dossier") == 21
