"""The patient's messaging pages: what the holder (or a parent) sees and does, and what
everyone else is refused."""

import re

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acces.models import AuditEvent, CareRelation
from dossier.models import Document
from messagerie import selectors, services, views
from messagerie.actions import MessagingAction
from messagerie.models import Attachment, Conversation, Message, MessageRecipient
from tests import factories
from tests.conftest import sign_in
from tests.messagerie.cast import (
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


def url(name, space, *args):
    return reverse(f"messagerie:{name}", args=[space.public_id, *args])


def patient(client, space):
    return sign_in(client, space.holder.user)


def test_the_inbox_shows_subjects_decrypted_and_unread_counts_in_the_nav(client, space, gp):
    start(gp, space, subject="Résultats de la prise de sang")
    conversation = start(gp, space, subject="Rendez-vous de contrôle")
    services.reply(by=actor(gp), conversation=conversation, body="Et aussi")
    body = patient(client, space).get(url("inbox", space)).content.decode()
    assert "Résultats de la prise de sang" in body and "Rendez-vous de contrôle" in body
    assert body.index("Rendez-vous de contrôle") < body.index("Résultats de la prise")  # newest
    assert "3 messages non lus" in body  # the navigation's entry
    assert "2 non lus" in body and gp.title in body
    # The space page's navigation says it too.
    home = client.get(reverse("espace_sante:space", args=[space.public_id])).content.decode()
    assert "3 messages non lus" in home


def test_opening_a_conversation_shows_the_bodies_and_records_read_receipts(client, space, gp):
    conversation = start(gp, space, body="Votre bilan est normal.", attachments=[pdf()])
    response = patient(client, space).get(url("conversation", space, conversation.public_id))
    body = response.content.decode()
    assert "Votre bilan est normal." in body and "resultats.pdf" in body
    assert "Nouveau" in body and "Ajouter aux documents" in body
    assert "message non lu" not in body  # read now, so the navigation counts it no more
    assert MessageRecipient.objects.get(mailbox__space=space).read_at is not None
    assert AuditEvent.objects.filter(action=MessagingAction.MESSAGE_READ, space=space).exists()
    assert selectors.unread_for_space(space) == 0


def test_search_by_correspondent(client, space, gp):
    gp.user.last_name = "Martin"
    gp.user.save()
    start(gp, space, subject="Prise de sang")
    start(pro_with(space, Basis.AUTHORISED), space, subject="Kinésithérapie")
    body = patient(client, space).get(url("inbox", space), {"q": "martin"}).content.decode()
    assert "Prise de sang" in body and "Kinésithérapie" not in body


def test_the_download_is_an_attachment_never_sniffed_nor_run(client, space, gp):
    conversation = start(gp, space, attachments=[pdf()])
    attachment = Attachment.objects.get(message__conversation=conversation)
    response = patient(client, space).get(url("download", space, attachment.public_id))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == factories.PDF_BYTES
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert AuditEvent.objects.filter(action=MessagingAction.ATTACHMENT_DOWNLOADED).exists()


def test_the_download_streams_the_decrypted_file_in_chunks(client, space, gp):
    conversation = start(gp, space, attachments=[pdf()])
    attachment = Attachment.objects.get(message__conversation=conversation)
    response = patient(client, space).get(url("download", space, attachment.public_id))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Length"] == str(len(factories.PDF_BYTES))
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == factories.PDF_BYTES


def test_another_patients_space_or_conversation_is_refused(client, space, gp):
    conversation = start(gp, space, subject="Secret Zygomatique", attachments=[pdf()])
    attachment = Attachment.objects.get(message__conversation=conversation)
    other = factories.SpaceFactory()
    sign_in(client, other.holder.user)
    for name, args in (
        ("inbox", ()),
        ("conversation", (conversation.public_id,)),
        ("download", (attachment.public_id,)),
    ):
        response = client.get(url(name, space, *args))
        assert response.status_code == 403
        assert "Zygomatique" not in response.content.decode()
    # Her own space with the other's conversation id: a 404 that shows nothing.
    for name, args in (
        ("conversation", (conversation.public_id,)),
        ("download", (attachment.public_id,)),
        ("add_to_documents", (attachment.public_id,)),
    ):
        response = client.get(url(name, other, *args))
        assert response.status_code == 404
        assert "Zygomatique" not in response.content.decode()
    assert not MessageRecipient.objects.filter(read_at__isnull=False).exists()


def test_professionals_and_agents_do_not_read_the_patients_pages(client, space, gp, agent):
    conversation = start(gp, space)
    factories.TOTPDeviceFactory(user=gp.user)
    for user in (gp.user, agent):
        sign_in(client, user)
        for target in (url("inbox", space), url("conversation", space, conversation.public_id)):
            assert client.get(target).status_code == 403


def test_a_forged_reply_to_an_ended_conversation_is_refused(client, space, gp):
    conversation = start(gp, space)
    services.end_conversation(by=actor(gp), conversation=conversation)
    patient(client, space)
    page = client.get(url("conversation", space, conversation.public_id)).content.decode()
    assert "Le professionnel a mis fin à vos échanges" in page
    assert 'name="body"' not in page
    response = client.post(url("reply", space, conversation.public_id), {"body": "Forcé"})
    assert response.status_code == 400
    assert "mis fin à vos échanges" in response.content.decode()
    assert not Message.objects.filter(sender__kind="patient").exists()


def test_the_patient_replies_with_a_dmp_document_and_the_profile_summary(client, space, gp):
    conversation = start(gp, space)
    mine = factories.make_document(space, type_code="51855-5", title="Mes notes")
    patient(client, space)
    response = client.post(
        url("reply", space, conversation.public_id),
        {"body": "Voici mes notes", "documents": [mine.pk], "include_summary": "on"},
    )
    assert response.status_code == 302
    message = Message.objects.get(sender__kind="patient")
    assert services.sealing.body(message) == "Voici mes notes"
    assert message.attachments.count() == 2
    assert selectors.unread_count(services.personal_mailbox(gp)) == 1


def test_an_html_file_named_pdf_is_refused_with_the_french_message(client, space, gp):
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = start(gp, space)
    patient(client, space)
    html = SimpleUploadedFile("resultat.pdf", b"<!DOCTYPE html><html><script>x</script></html>")
    response = client.post(
        url("reply", space, conversation.public_id),
        {"body": "Ci-joint", "attachments": [html]},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "pages web" in body and "Ci-joint" in body  # the reply is kept for another try
    assert not Message.objects.filter(sender__kind="patient").exists()


def test_the_patient_adds_a_pdf_to_her_documents(client, space, gp):
    conversation = start(gp, space, attachments=[pdf()])
    attachment = Attachment.objects.get(message__conversation=conversation)
    patient(client, space)
    form = client.get(url("add_to_documents", space, attachment.public_id)).content.decode()
    assert "resultats.pdf" in form and "11502-2" in form
    response = client.post(
        url("add_to_documents", space, attachment.public_id),
        {"type_code": "11502-2", "title": "Bilan sanguin"},
    )
    document = Document.objects.get(space=space)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "dossier:detail", args=[space.public_id, document.public_id]
    )
    assert document.title == "Bilan sanguin" and document.author_professional == gp


def test_delete_for_good_needs_a_confirmation(client, space, gp):
    conversation = start(gp, space, subject="À supprimer")
    patient(client, space)
    client.post(url("move_to_trash", space, conversation.public_id))
    trash = client.get(url("trash", space)).content.decode()
    assert "À supprimer" in trash
    assert "À supprimer" not in client.get(url("inbox", space)).content.decode()
    page = client.get(url("delete", space, conversation.public_id))
    assert page.status_code == 200 and "Cette action est définitive" in page.content.decode()
    assert client.post(url("delete", space, conversation.public_id)).status_code == 400
    assert selectors.inbox(services.patient_mailbox(space), "trash").total == 1
    client.post(url("delete", space, conversation.public_id), {"confirm": "on"})
    assert selectors.inbox(services.patient_mailbox(space), "trash").total == 0
    assert client.get(url("conversation", space, conversation.public_id)).status_code == 404


def test_restore_from_the_trash(client, space, gp):
    conversation = start(gp, space)
    patient(client, space)
    client.post(url("move_to_trash", space, conversation.public_id))
    client.post(url("restore", space, conversation.public_id))
    assert selectors.inbox(services.patient_mailbox(space)).total == 1


def test_a_new_conversation_only_with_a_professional_who_wrote(client, space, gp):
    stranger = pro_with(space, Basis.AUTHORISED)
    patient(client, space)
    assert (
        "Aucun professionnel ne vous a encore écrit"
        in client.get(url("compose", space)).content.decode()
    )
    start(gp, space)
    page = client.get(url("compose", space)).content.decode()
    assert gp.title in page and stranger.title not in page
    response = client.post(
        url("compose", space), {"to": stranger.pk, "subject": "Question", "body": "Bonjour"}
    )
    assert response.status_code == 400
    response = client.post(
        url("compose", space), {"to": gp.pk, "subject": "Question", "body": "Bonjour"}
    )
    assert response.status_code == 302
    assert Conversation.objects.filter(started_by__kind="patient").count() == 1


def test_a_prescription_goes_to_a_pharmacy_that_accepts_them(client, space):
    from tests.messagerie.cast import pharmacy

    accepting = pharmacy(factories.ProfessionalFactory(profession="pharmacien", specialty=""))
    prescription = factories.make_document(space, type_code="57833-6", title="Ordonnance")
    patient(client, space)
    assert "Pharmacie du Port" in client.get(url("prescription", space)).content.decode()
    response = client.post(
        url("prescription", space), {"pharmacy": accepting.pk, "prescription": prescription.pk}
    )
    assert response.status_code == 302
    assert selectors.unread_count(accepting) == 1


def test_refusing_a_sender_shows_on_the_access_page_and_can_be_lifted(client, space, gp):
    start(gp, space)
    patient(client, space)
    page = client.get(url("refuse_sender", space, gp.rpps))
    assert page.status_code == 200 and "Son accès à votre dossier médical ne change pas" in (
        page.content.decode()
    )
    assert not services.refused_professional_ids(space)  # GET changes nothing
    client.post(url("refuse_sender", space, gp.rpps), {"confirm": "1"})
    assert services.refused_professional_ids(space) == {gp.pk}
    access = client.get(reverse("acces_patient:page", args=[space.public_id])).content.decode()
    section = access[access.index("Messages refusés") :]
    assert gp.title in section
    client.post(url("lift_refusal", space, gp.rpps), {"next": "acces"})
    assert not services.refused_professional_ids(space)


def test_a_blocked_professional_is_told_blocked(client, space, gp):
    block(space, gp)
    factories.TOTPDeviceFactory(user=gp.user)
    sign_in(client, gp.user)
    assert client.get(url("inbox", space)).status_code == 403
    event = AuditEvent.objects.filter(space=space, outcome="denied").order_by("-seq").first()
    assert event.detail["reason"] == "blocked"


def test_a_representative_reads_and_answers(client):
    space, parent = minor_space_with_representative()
    gp = pro_with(space, Basis.ATTENDING)
    conversation = start(gp, space, subject="Vaccin de rappel", body="Le rappel est dû.")
    sign_in(client, parent)
    assert "Vaccin de rappel" in client.get(url("inbox", space)).content.decode()
    page = client.get(url("conversation", space, conversation.public_id)).content.decode()
    assert "Le rappel est dû." in page
    response = client.post(url("reply", space, conversation.public_id), {"body": "Merci"})
    assert response.status_code == 302
    assert Message.objects.get(sender__kind="patient").written_by == parent


def test_a_document_hidden_from_representatives_does_not_reach_them_as_attachment(client):
    space, parent = minor_space_with_representative()
    gp = pro_with(space, Basis.ATTENDING)
    secret = factories.make_document(space, professional=gp, invisible_to_representatives=True)
    conversation = start(gp, space)
    message = services.reply(
        by=actor(space.holder.user),
        conversation=conversation,
        body="Ci-joint",
        dmp_documents=[secret],
    )
    attachment = message.attachments.get()
    sign_in(client, parent)
    page = client.get(url("conversation", space, conversation.public_id)).content.decode()
    assert str(attachment.public_id) not in page
    assert client.get(url("download", space, attachment.public_id)).status_code == 404


def _queries(client, target):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(target).status_code == 200
    return len(captured)


def test_the_inbox_page_costs_the_same_queries_for_1_and_30_conversations(client, space, gp):
    start(gp, space)
    patient(client, space)
    one = _queries(client, url("inbox", space))
    for i in range(29):
        start(gp, space, subject=f"Objet {i}")
    assert _queries(client, url("inbox", space)) == one


def test_the_conversation_page_costs_the_same_queries_for_1_and_30_messages(client, space, gp):
    conversation = start(gp, space, attachments=[pdf()])
    patient(client, space)
    target = url("conversation", space, conversation.public_id)
    one = _queries(client, target)
    for i in range(29):
        services.reply(
            by=actor(gp), conversation=conversation, body=f"Suite {i}", attachments=[pdf()]
        )
    assert _queries(client, target) == one


def test_a_draft_is_kept_and_shown_in_the_drafts_folder(client, space, gp):
    conversation = start(gp, space, subject="À compléter")
    patient(client, space)
    client.post(
        url("reply", space, conversation.public_id), {"body": "Je reviens vers vous", "draft": "1"}
    )
    assert not Message.objects.filter(sender__kind="patient", is_draft=False).exists()
    assert "À compléter" in client.get(url("drafts", space)).content.decode()
    page = client.get(url("conversation", space, conversation.public_id)).content.decode()
    assert "Je reviens vers vous" in page


def test_the_inbox_is_paginated_newest_first(client, space, gp):
    for i in range(selectors.PER_PAGE + 1):
        start(gp, space, subject=f"Objet numéro {i:02d}")
    patient(client, space)
    first = client.get(url("inbox", space)).content.decode()
    assert f"Objet numéro {selectors.PER_PAGE:02d}" in first and "Objet numéro 00" not in first
    assert "Page suivante" in first
    second = client.get(url("inbox", space), {"page": 2}).content.decode()
    assert "Objet numéro 00" in second


def test_the_reply_form_offers_the_latest_documents_and_finds_older_ones(client, space, gp):
    conversation = start(gp, space)
    old = factories.make_document(space, type_code="51855-5", title="Vieille radiographie")
    for i in range(views.REPLY_DOCUMENTS + 5):
        factories.make_document(space, title=f"Bilan numéro {i}")
    patient(client, space)
    target = url("conversation", space, conversation.public_id)
    page = client.get(target).content.decode()
    assert page.count('name="documents"') == views.REPLY_DOCUMENTS  # not the whole record
    assert "Vieille radiographie" not in page and "D'autres documents existent" in page
    found = client.get(target, {"documents_titre": "vieille"}).content.decode()
    assert found.count('name="documents"') == 1 and "Vieille radiographie" in found
    # Any document the patient may see can be attached, shown or not.
    response = client.post(
        url("reply", space, conversation.public_id), {"body": "La voici", "documents": [old.pk]}
    )
    assert response.status_code == 302
    assert Message.objects.get(sender__kind="patient").attachments.count() == 1


def test_a_ticked_document_stays_ticked_when_the_reply_comes_back_with_an_error(client, space, gp):
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = start(gp, space)
    old = factories.make_document(space, type_code="51855-5", title="Vieille radiographie")
    for i in range(views.REPLY_DOCUMENTS):
        factories.make_document(space, title=f"Bilan numéro {i}")
    patient(client, space)
    html = SimpleUploadedFile("resultat.pdf", b"<!DOCTYPE html><html></html>")
    response = client.post(
        url("reply", space, conversation.public_id),
        {"body": "Ci-joint", "documents": [old.pk], "attachments": [html]},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Vieille radiographie" in body
    assert re.search(rf'value="{old.pk}"[^>]*checked', body)


def test_the_conversation_page_costs_the_same_queries_for_1_and_40_documents(client, space, gp):
    conversation = start(gp, space)
    factories.make_document(space)
    patient(client, space)
    target = url("conversation", space, conversation.public_id)
    one = _queries(client, target)
    for i in range(39):
        factories.make_document(space, title=f"Bilan numéro {i}")
    assert _queries(client, target) == one


def test_the_conversation_page_reads_what_the_policy_needs_once(client, space, gp):
    conversation = start(gp, space)
    patient(client, space)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url("conversation", space, conversation.public_id)).status_code == 200
    refusals = [q for q in captured if "messagerie_senderrefusal" in q["sql"]]
    assert len(refusals) == 1  # the page and the marking as read share one reading
