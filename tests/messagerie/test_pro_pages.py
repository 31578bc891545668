"""The pro portal's messaging pages: what a professional sees, writes, ends and files."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from acces.models import AuditEvent, CareRelation
from dossier.models import Document
from messagerie import services
from messagerie.actions import MessagingAction
from messagerie.models import Conversation
from tests import factories
from tests.conftest import sign_in
from tests.messagerie.cast import PDF, actor, block, pdf, pro_with, start

pytestmark = pytest.mark.django_db

Basis = CareRelation.Basis
SECRET_SUBJECT = "Résultats Zygomatiques"
SECRET_BODY = "Votre hémoglobine glyquée est à 6,1 %."
HOSPITAL_REPORT = "34112-3"
BIOLOGY = "11502-2"


@pytest.fixture
def space():
    return factories.SpaceFactory(holder__last_name="Martin", holder__first_names="Camille")


def _pro(space, basis=Basis.ATTENDING, **kwargs):
    professional = pro_with(space, basis, **kwargs)
    factories.TOTPDeviceFactory(user=professional.user)
    return professional


@pytest.fixture
def gp(space):
    return _pro(space, user__last_name="Durand")


@pytest.fixture
def gp_client(gp):
    return sign_in(Client(), gp.user)


@pytest.fixture
def conversation(space, gp):
    return start(gp, space, subject=SECRET_SUBJECT, body=SECRET_BODY, attachments=[pdf()])


def _compose_url(space):
    return f"/pro/messagerie/patients/{space.public_id}/nouveau/"


def _url(conversation, rest=""):
    return f"/pro/messagerie/{conversation.public_id}/{rest}"


def test_the_inbox_lists_the_professionals_conversations_with_unread_counts(
    space, gp, gp_client, conversation
):
    services.reply(by=actor(space.holder.user), conversation=conversation, body="Merci docteur")
    page = gp_client.get("/pro/messagerie/").content.decode()
    assert SECRET_SUBJECT in page
    assert "Martin" in page
    assert "1 non lu" in page
    sent = gp_client.get("/pro/messagerie/?dossier=sent").content.decode()
    assert SECRET_SUBJECT in sent


def test_the_inbox_searches_by_patient_name(space, gp, gp_client, conversation):
    other = factories.SpaceFactory(holder__last_name="Bernard")
    factories.CareRelationFactory(space=other, professional=gp, basis=Basis.ATTENDING)
    start(gp, other, subject="Vaccin de Bernard")
    page = gp_client.get("/pro/messagerie/?dossier=sent&q=Martin").content.decode()
    assert SECRET_SUBJECT in page
    assert "Vaccin de Bernard" not in page


def test_the_navigation_shows_the_unread_count(space, gp, gp_client, conversation):
    services.reply(by=actor(space.holder.user), conversation=conversation, body="Merci")
    page = gp_client.get("/pro/").content.decode()
    assert "/pro/messagerie/" in page
    assert "1 non lu" in page


def test_the_patient_page_links_to_compose(space, gp, gp_client):
    page = gp_client.get(f"/pro/patients/{space.public_id}/").content.decode()
    assert _compose_url(space) in page
    assert "Écrire au patient" in page


def test_the_patient_chooser_lists_the_professionals_patients(space, gp, gp_client):
    stranger = factories.SpaceFactory(holder__last_name="Inconnu")
    page = gp_client.get("/pro/messagerie/nouveau/").content.decode()
    assert _compose_url(space) in page
    assert str(stranger.public_id) not in page


def test_the_gp_writes_to_the_patient_with_a_pdf(space, gp, gp_client):
    colleague = _pro(space, Basis.CARE_TEAM, user__last_name="Cardio")
    stranger = factories.ProfessionalFactory(user__last_name="Étranger")
    page = gp_client.get(_compose_url(space)).content.decode()
    assert "Martin" in page
    # Copies: among the patient's care team (and the sender's colleagues), not the directory.
    assert "Cardio" in page and "Étranger" not in page
    assert "20,0 Mio au plus par message" in page  # the limit is shown
    upload = _upload("resultats.pdf", PDF)
    response = gp_client.post(
        _compose_url(space),
        {
            "subject": "Vos analyses",
            "body": "Voici vos analyses.",
            "attachments": [upload],
            "cc": [colleague.pk],
        },
    )
    conversation = Conversation.objects.get(space=space)
    assert response.status_code == 302
    assert response["Location"] == _url(conversation)
    assert conversation.messages.get().attachments.count() == 1
    assert conversation.members.filter(mailbox__professional=colleague).exists()
    refused = gp_client.post(
        _compose_url(space), {"subject": "Objet", "body": "Texte", "cc": [stranger.pk]}
    )
    assert refused.status_code == 200  # not a choice: the form says so, nothing is sent
    assert Conversation.objects.filter(space=space).count() == 1


def _upload(name, data, content_type="application/pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def test_html_named_pdf_is_refused_with_the_french_message(space, gp, gp_client):
    upload = _upload("resultats.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>")
    response = gp_client.post(
        _compose_url(space), {"subject": "Objet", "body": "Texte", "attachments": [upload]}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "pages web" in page
    assert not Conversation.objects.filter(space=space).exists()


@pytest.mark.parametrize("who", ["no_basis", "blocked", "refused"])
def test_a_professional_who_may_not_write_is_told_why_and_nothing_is_sent(space, who):
    if who == "no_basis":
        professional = _pro(space, basis=None)
        words = "ne pouvez"
    elif who == "blocked":
        professional = _pro(space)
        block(space, professional)
        words = "pas autorisé"
    else:
        professional = _pro(space)
        services.refuse_sender(by=actor(space.holder.user), space=space, professional=professional)
        words = "refusé"
    client = sign_in(Client(), professional.user)
    before = AuditEvent.objects.filter(space=space, outcome="denied").count()
    for response in (
        client.get(_compose_url(space)),
        client.post(_compose_url(space), {"subject": "Objet", "body": "Texte"}),
    ):
        assert response.status_code == 403
        assert words in response.content.decode()
    assert AuditEvent.objects.filter(space=space, outcome="denied").count() == before + 2
    assert not Conversation.objects.filter(space=space).exists()


def test_the_conversation_page_shows_messages_and_read_receipts(space, gp, gp_client, conversation):
    page = gp_client.get(_url(conversation)).content.decode()
    assert SECRET_BODY in page and "pas encore lu" in page
    services.mark_read(by=actor(space.holder.user), conversation=conversation)
    page = gp_client.get(_url(conversation)).content.decode()
    assert "lu le" in page


def test_the_professional_downloads_an_attachment_safely(space, gp, gp_client, conversation):
    attachment = conversation.messages.get().attachments.get()
    response = gp_client.get(_url(conversation, f"pieces-jointes/{attachment.public_id}/"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert AuditEvent.objects.filter(action=MessagingAction.ATTACHMENT_DOWNLOADED).exists()


def test_the_professional_replies_and_ends_the_exchange(space, gp, gp_client, conversation):
    response = gp_client.post(
        _url(conversation, "repondre/"), {"body": "Autre chose ?", "reply_mode": "reply_all"}
    )
    assert response.status_code == 302
    assert conversation.messages.count() == 2
    confirm = gp_client.get(_url(conversation, "fin/"))
    assert "Mettre fin aux échanges" in confirm.content.decode()
    conversation.refresh_from_db()
    assert conversation.ended_at is None  # GET only asks
    gp_client.post(_url(conversation, "fin/"))
    conversation.refresh_from_db()
    assert conversation.ended_at is not None
    with pytest.raises(services.MessagingError):
        services.reply(by=actor(space.holder.user), conversation=conversation, body="Encore")


@pytest.mark.parametrize("who", ["outsider", "blocked", "other_gp"])
def test_another_professionals_conversation_is_refused_and_shows_nothing(space, conversation, who):
    if who == "outsider":
        professional = _pro(factories.SpaceFactory(), user__last_name="Dehors")
    elif who == "other_gp":
        professional = _pro(space, Basis.AUTHORISED, user__last_name="Autre")  # not a participant
    else:
        professional = _pro(space, basis=Basis.CARE_TEAM)
        block(space, professional)
    client = sign_in(Client(), professional.user)
    attachment = conversation.messages.get().attachments.get()
    for method, rest in [
        ("get", ""),
        ("get", "fin/"),
        ("post", "fin/"),
        ("post", "repondre/"),
        ("post", "corbeille/"),
        ("post", "supprimer/"),
        ("get", f"pieces-jointes/{attachment.public_id}/"),
        ("post", f"pieces-jointes/{attachment.public_id}/classer/"),
    ]:
        response = getattr(client, method)(_url(conversation, rest), {"body": "x"})
        assert response.status_code == 403, (method, rest)
        body = response.content.decode(errors="replace")
        assert SECRET_SUBJECT not in body and SECRET_BODY not in body
    conversation.refresh_from_db()
    assert conversation.ended_at is None
    assert conversation.messages.count() == 1
    assert not conversation.members.exclude(trashed_at=None, deleted_at=None).exists()
    assert (
        AuditEvent.objects.filter(space=space, outcome="denied", actor=professional.user).count()
        >= 6
    )


def test_an_unknown_conversation_is_a_404(gp_client):
    import uuid

    assert gp_client.get(f"/pro/messagerie/{uuid.uuid4()}/").status_code == 404


def test_filing_an_attachment_respects_the_matrix(space, gp, gp_client, conversation):
    attachment = conversation.messages.get().attachments.get()
    url = _url(conversation, f"pieces-jointes/{attachment.public_id}/classer/")
    page = gp_client.get(_url(conversation)).content.decode()
    assert "Classer dans le dossier" in page
    gp_client.post(url, {"type_code": BIOLOGY})
    document = Document.objects.get(space=space)
    assert document.type.code == BIOLOGY
    assert document.author_professional == gp


def test_a_pharmacist_cannot_file_a_hospital_report(space, gp):
    pharmacist = _pro(space, basis=Basis.CARE_TEAM, profession="pharmacien", specialty="")
    conversation = start(pharmacist, space, attachments=[pdf()])
    client = sign_in(Client(), pharmacist.user)
    attachment = conversation.messages.get().attachments.get()
    page = client.get(_url(conversation)).content.decode()
    assert HOSPITAL_REPORT not in page  # not offered
    client.post(
        _url(conversation, f"pieces-jointes/{attachment.public_id}/classer/"),
        {"type_code": HOSPITAL_REPORT},
    )
    assert not Document.objects.filter(space=space).exists()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_inbox_reads_in_constant_queries(space, gp, gp_client):
    start(gp, space, subject="Premier")
    one = _queries(gp_client, "/pro/messagerie/?dossier=sent")
    for n in range(29):
        other = factories.SpaceFactory()
        factories.CareRelationFactory(space=other, professional=gp, basis=Basis.ATTENDING)
        start(gp, other, subject=f"Message {n}")
    assert _queries(gp_client, "/pro/messagerie/?dossier=sent") == one


def test_the_conversation_reads_in_constant_queries(space, gp, gp_client, conversation):
    gp_client.get(_url(conversation))
    one = _queries(gp_client, _url(conversation))
    for n in range(29):
        services.reply(
            by=actor(gp.user), conversation=conversation, body=f"Suite {n}", attachments=[pdf()]
        )
    assert _queries(gp_client, _url(conversation)) == one


def test_a_draft_reply_is_kept_and_shown_in_drafts(space, gp, gp_client, conversation):
    gp_client.post(_url(conversation, "repondre/"), {"body": "À compléter", "brouillon": "1"})
    assert conversation.messages.filter(is_draft=False).count() == 1
    assert "À compléter" in gp_client.get(_url(conversation)).content.decode()
    drafts = gp_client.get("/pro/messagerie/?dossier=drafts").content.decode()
    assert SECRET_SUBJECT in drafts


def test_trash_restore_and_delete_for_good_move_only_the_professionals_copy(
    space, gp, gp_client, conversation
):
    gp_client.post(_url(conversation, "corbeille/"))
    assert SECRET_SUBJECT not in gp_client.get("/pro/messagerie/?dossier=sent").content.decode()
    assert SECRET_SUBJECT in gp_client.get("/pro/messagerie/?dossier=trash").content.decode()
    gp_client.post(_url(conversation, "restaurer/"))
    assert SECRET_SUBJECT in gp_client.get("/pro/messagerie/?dossier=sent").content.decode()
    gp_client.post(_url(conversation, "corbeille/"))
    gp_client.post(_url(conversation, "supprimer/"))
    assert SECRET_SUBJECT not in gp_client.get("/pro/messagerie/?dossier=trash").content.decode()
    patient_inbox = services.selectors.inbox(services.patient_mailbox(space))
    assert [row.subject for row in patient_inbox.rows] == [SECRET_SUBJECT]


def test_opening_the_messaging_is_traced_on_the_professionals_own_chain(
    space, gp, gp_client, conversation
):
    assert gp_client.get("/pro/messagerie/?dossier=sent&q=Martin").status_code == 200
    event = AuditEvent.objects.get(action=MessagingAction.PRO_INBOX_VIEWED)
    assert event.actor == gp.user
    assert event.space is None  # not on the patient's trail: it lists several patients
    assert event.target_type == "messagerie.mailbox"
    assert event.detail["folder"] == "sent"
    assert event.detail["searched"] is True
    assert event.detail["conversations"] == [str(conversation.public_id)]
    # Neither the words searched nor a subject are written to the trail.
    assert "Martin" not in str(event.detail) and SECRET_SUBJECT not in str(event.detail)
    gp_client.get("/pro/messagerie/?dossier=trash")
    assert AuditEvent.objects.filter(action=MessagingAction.PRO_INBOX_VIEWED).count() == 2
    assert not AuditEvent.objects.filter(
        space=space, action=MessagingAction.PRO_INBOX_VIEWED
    ).exists()


def test_the_conversation_page_reads_what_the_policy_needs_once(gp_client, conversation):
    """The conversation is decided on and marked read under one reading of its target (the
    refusals, participants and writers): ten queries were five twice (bench/http.py)."""
    with CaptureQueriesContext(connection) as captured:
        assert gp_client.get(_url(conversation)).status_code == 200
    refusals = [q for q in captured if "messagerie_senderrefusal" in q["sql"]]
    assert len(refusals) == 1
