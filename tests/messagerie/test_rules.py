"""Who may write, read and reply in the secure messaging, and how an exchange ends."""

import pytest

from acces.models import AuditEvent, CareRelation
from acces.policy import Action, decide
from espace_sante.models import Notification
from messagerie import selectors, services
from messagerie.actions import MessagingAction
from messagerie.models import Conversation, Mailbox, Message, MessageRecipient
from messagerie.services import MessagingError
from tests import factories
from tests.messagerie.cast import actor, block, pharmacy, pro_with, start

pytestmark = pytest.mark.django_db

Basis = CareRelation.Basis
ReplyMode = Message.ReplyMode


@pytest.fixture
def space():
    return factories.SpaceFactory()


@pytest.fixture
def gp(space):
    return pro_with(space, Basis.ATTENDING)


def holder(space):
    return actor(space.holder.user)


@pytest.mark.parametrize("basis", [Basis.ATTENDING, Basis.AUTHORISED, Basis.CARE_TEAM, "emergency"])
def test_a_professional_with_a_basis_starts_a_conversation(space, basis):
    professional = pro_with(space, basis, profession="infirmier", specialty="")
    conversation = start(professional, space)
    assert conversation.space == space
    inbox = selectors.inbox(services.patient_mailbox(space))
    assert [row.subject for row in inbox.rows] == ["Vos résultats"]
    assert AuditEvent.objects.filter(
        action=MessagingAction.CONVERSATION_STARTED, space=space
    ).exists()


def _refused(professional_user, space, reason):
    with pytest.raises(MessagingError) as refused:
        services.start_conversation(
            by=actor(professional_user), space=space, subject="Objet", body="Texte"
        )
    assert refused.value.reason == reason
    assert not Conversation.objects.exists()
    return refused.value


def test_a_professional_without_basis_cannot_write(space):
    stranger = factories.ProfessionalFactory()
    error = _refused(stranger.user, space, "no_basis_to_write")
    assert "médecin traitant" in str(error)


def test_a_blocked_professional_cannot_write(space, gp):
    block(space, gp)
    error = _refused(gp.user, space, "blocked")
    assert str(error) == "Le patient ne vous a pas autorisé à accéder à son dossier."


def test_a_refused_sender_cannot_write_but_keeps_dmp_access(space, gp):
    services.refuse_sender(by=holder(space), space=space, professional=gp)
    error = _refused(gp.user, space, "sender_refused")
    assert str(error) == "Le patient a refusé de recevoir vos messages."
    assert decide(gp.user, Action.VIEW_SPACE, space)  # messaging is not DMP access
    services.lift_refusal(by=holder(space), space=space, professional=gp)
    assert start(gp, space)
    actions = set(AuditEvent.objects.filter(space=space).values_list("action", flat=True))
    assert {MessagingAction.SENDER_REFUSED, MessagingAction.SENDER_REFUSAL_LIFTED} <= actions


def test_agents_and_other_patients_cannot_write_nor_read(space, gp, agent):
    conversation = start(gp, space)
    with pytest.raises(MessagingError):
        services.start_conversation(by=actor(agent), space=space, subject="Objet", body="Texte")
    other = factories.SpaceFactory().holder.user
    for user in (agent, other):
        with pytest.raises(MessagingError):
            services.mark_read(by=actor(user), conversation=conversation)
        with pytest.raises(MessagingError):
            services.reply(by=actor(user), conversation=conversation, body="Bonjour")
        assert not decide(user, Action.READ_MESSAGES, space)
    # Another patient cannot start one in this space either, nor write to its patient.
    with pytest.raises(MessagingError):
        services.start_conversation(
            by=actor(other), space=space, subject="Objet", body="Texte", to=[gp]
        )


def test_the_patient_cannot_write_first(space, gp):
    with pytest.raises(MessagingError) as refused:
        services.start_conversation(
            by=holder(space), space=space, subject="Question", body="Bonjour", to=[gp]
        )
    assert refused.value.reason == "patient_writes_to_writers"
    assert "qui vous a déjà écrit" in str(refused.value)


def test_the_patient_writes_again_to_a_professional_who_wrote_to_her(space, gp):
    start(gp, space)
    conversation = services.start_conversation(
        by=holder(space), space=space, subject="Autre question", body="Bonjour", to=[gp]
    )
    assert selectors.inbox(services.personal_mailbox(gp)).total == 1  # her new one
    assert selectors.unread_count(services.personal_mailbox(gp)) == 1
    assert conversation.started_by.kind == Mailbox.Kind.PATIENT
    # She may add to it before he answers.
    services.reply(by=holder(space), conversation=conversation, body="J'oubliais")
    assert selectors.unread_count(services.personal_mailbox(gp)) == 2
    # ...but not to another professional, with or without a basis.
    nurse = pro_with(space, Basis.CARE_TEAM, profession="infirmier", specialty="")
    with pytest.raises(MessagingError):
        services.start_conversation(
            by=holder(space), space=space, subject="Question", body="Bonjour", to=[gp, nurse]
        )


def test_reply_modes(space, gp):
    colleague = factories.ProfessionalFactory()
    conversation = start(gp, space, cc=[colleague], reply_mode=ReplyMode.REPLY)
    with pytest.raises(MessagingError) as refused:
        services.reply(by=holder(space), conversation=conversation, body="Merci", to_all=True)
    assert refused.value.reason == "reply_all_not_allowed"
    message = services.reply(by=holder(space), conversation=conversation, body="Merci")
    assert [r.mailbox.professional for r in message.recipients.all()] == [gp]
    # The copied colleague does not receive an answer meant for the author.
    assert selectors.unread_count(services.personal_mailbox(colleague)) == 1

    services.reply(
        by=actor(gp), conversation=conversation, body="Suite", reply_mode=ReplyMode.REPLY_ALL
    )
    message = services.reply(
        by=holder(space), conversation=conversation, body="A tous", to_all=True
    )
    assert {r.mailbox.professional for r in message.recipients.all()} == {gp, colleague}

    for mode in (ReplyMode.REPLY_BLOCKED, ReplyMode.NO_REPLY):
        services.reply(by=actor(gp), conversation=conversation, body="Info", reply_mode=mode)
        with pytest.raises(MessagingError) as refused:
            services.reply(by=holder(space), conversation=conversation, body="Merci")
        assert refused.value.reason == "reply_not_allowed"


def test_ending_an_exchange_until_the_professional_writes_again(space, gp):
    conversation = start(gp, space)
    services.end_conversation(by=actor(gp), conversation=conversation)
    with pytest.raises(MessagingError) as refused:
        services.reply(by=holder(space), conversation=conversation, body="Merci")
    assert "mis fin à vos échanges" in str(refused.value)
    # She still reads it.
    services.mark_read(by=holder(space), conversation=conversation)
    assert selectors.inbox(services.patient_mailbox(space)).rows[0].ended
    services.reply(by=actor(gp), conversation=conversation, body="Une dernière chose")
    conversation.refresh_from_db()
    assert conversation.ended_at is None
    assert services.reply(by=holder(space), conversation=conversation, body="Merci")
    assert AuditEvent.objects.filter(action=MessagingAction.CONVERSATION_ENDED).count() == 1


def test_only_a_professional_taking_part_ends_or_reads_a_conversation(space, gp):
    conversation = start(gp, space)
    other = pro_with(space, Basis.AUTHORISED)
    with pytest.raises(MessagingError) as refused:
        services.end_conversation(by=actor(other), conversation=conversation)
    assert refused.value.reason == "not_a_participant"
    with pytest.raises(MessagingError):
        services.end_conversation(by=holder(space), conversation=conversation)


def test_a_blocked_professional_reads_his_own_conversation_but_cannot_write_in_it(space, gp):
    conversation = start(gp, space)
    block(space, gp)
    assert services.mark_read(by=actor(gp), conversation=conversation) == 0
    with pytest.raises(MessagingError) as refused:
        services.reply(by=actor(gp), conversation=conversation, body="Encore")
    assert refused.value.reason == "blocked"


def test_a_prescription_goes_to_a_pharmacy_that_accepts_them(space):
    pharmacist = factories.ProfessionalFactory(profession="pharmacien", specialty="")
    accepting = pharmacy(pharmacist)
    prescription = factories.make_document(space, type_code="57833-6", title="Ordonnance")
    conversation = services.send_prescription_to_pharmacy(
        by=holder(space), space=space, pharmacy=accepting, prescription=prescription
    )
    attachment = conversation.messages.get().attachments.get()
    assert attachment.source_document == prescription
    # Its members read it from the organisation's mailbox and answer.
    assert selectors.unread_count(accepting) == 1
    services.mark_read(by=actor(pharmacist), conversation=conversation)
    answer = services.reply(by=actor(pharmacist), conversation=conversation, body="Prête demain")
    assert answer.sender == accepting and answer.sender_professional == pharmacist
    assert selectors.unread_for_professional(pharmacist) == 0
    services.reply(by=holder(space), conversation=conversation, body="Merci")
    assert selectors.unread_for_professional(pharmacist) == 1
    assert AuditEvent.objects.filter(action=MessagingAction.PRESCRIPTION_SENT).exists()

    refusing = pharmacy(pharmacist, accepts=False, address="autre@pharmacien.mssante.fr")
    with pytest.raises(MessagingError) as refused:
        services.send_prescription_to_pharmacy(
            by=holder(space), space=space, pharmacy=refusing, prescription=prescription
        )
    assert "ne reçoit pas d'ordonnances" in str(refused.value)


def test_only_a_prescription_goes_to_a_pharmacy(space):
    accepting = pharmacy(factories.ProfessionalFactory(profession="pharmacien", specialty=""))
    note = factories.make_document(space, type_code="51855-5", title="Note")
    with pytest.raises(MessagingError):
        services.send_prescription_to_pharmacy(
            by=holder(space), space=space, pharmacy=accepting, prescription=note
        )


def test_read_receipts_and_unread_counts(space, gp):
    conversation = start(gp, space)
    services.reply(by=actor(gp), conversation=conversation, body="Et aussi")
    box = services.patient_mailbox(space)
    assert selectors.unread_count(box) == 2
    assert selectors.inbox(box).rows[0].unread == 2
    assert selectors.unread_for_space(space) == 2
    assert services.mark_read(by=holder(space), conversation=conversation) == 2
    assert selectors.unread_count(box) == 0
    assert selectors.inbox(box).rows[0].unread == 0
    assert not MessageRecipient.objects.filter(mailbox=box, read_at__isnull=True).exists()
    views = selectors.conversation_messages(
        conversation, services.personal_mailbox(gp), services.decide_read(actor(gp), conversation)
    )
    assert all(view.from_me and view.read_receipts[0][1] is not None for view in views)
    assert AuditEvent.objects.filter(action=MessagingAction.MESSAGE_READ).exists()


def test_a_representative_reads_and_answers_a_minors_messages():
    from tests.messagerie.cast import minor_space_with_representative

    space, parent = minor_space_with_representative()
    gp = pro_with(space, Basis.ATTENDING)
    conversation = start(gp, space)
    assert decide(parent, Action.READ_MESSAGES, space)
    services.mark_read(by=actor(parent), conversation=conversation)
    # Read by the parent is read for the holder as well: one mailbox, one count.
    assert selectors.unread_count(services.patient_mailbox(space)) == 0
    message = services.reply(by=actor(parent), conversation=conversation, body="Merci docteur")
    assert message.written_by == parent
    event = AuditEvent.objects.get(action=MessagingAction.MESSAGE_SENT)
    assert event.basis == "legal_representative"


def test_a_new_message_notifies_the_patient_with_nothing_medical(space, gp):
    start(gp, space, subject="Résultat VIH", body="Votre test est positif")
    notification = Notification.objects.get(kind="message_received")
    assert notification.recipient == space.holder.user
    text = notification.subject + notification.body
    assert "Vous avez reçu un message d'un professionnel de santé" in text
    assert "VIH" not in text and "positif" not in text and "générale" not in text
    assert notification.link


def test_folders_trash_restore_delete_for_good(space, gp):
    conversation = start(gp, space)
    box = services.patient_mailbox(space)
    services.trash(by=holder(space), conversation=conversation)
    assert selectors.inbox(box).total == 0
    assert selectors.inbox(box, "trash").total == 1
    assert selectors.unread_count(box) == 0  # a trashed conversation counts no more
    # The professional's side is not moved.
    assert selectors.inbox(services.personal_mailbox(gp), "sent").total == 1
    services.restore(by=holder(space), conversation=conversation)
    assert selectors.inbox(box).total == 1
    services.trash(by=holder(space), conversation=conversation)
    services.delete_for_good(by=holder(space), conversation=conversation)
    assert selectors.inbox(box, "trash").total == 0
    assert Conversation.objects.filter(pk=conversation.pk).exists()  # the GP keeps his copy
    services.delete_for_good(by=actor(gp), conversation=conversation)
    assert not Conversation.objects.filter(pk=conversation.pk).exists()  # shredded
    actions = list(
        AuditEvent.objects.filter(space=space, action__startswith="message_conversation_")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == [
        MessagingAction.CONVERSATION_STARTED,
        MessagingAction.CONVERSATION_TRASHED,
        MessagingAction.CONVERSATION_RESTORED,
        MessagingAction.CONVERSATION_TRASHED,
        MessagingAction.CONVERSATION_DELETED,
        MessagingAction.CONVERSATION_DELETED,
    ]


def test_a_new_message_brings_a_conversation_back_from_the_trash(space, gp):
    conversation = start(gp, space)
    services.trash(by=holder(space), conversation=conversation)
    services.reply(by=actor(gp), conversation=conversation, body="Relance")
    assert selectors.inbox(services.patient_mailbox(space)).total == 1


def test_drafts(space, gp):
    conversation = start(gp, space)
    services.save_draft(by=holder(space), conversation=conversation, body="Je vous répondrai")
    box = services.patient_mailbox(space)
    assert selectors.inbox(box, "drafts").total == 1
    assert selectors.draft_of(conversation, box) == "Je vous répondrai"
    services.reply(by=holder(space), conversation=conversation, body="Voilà")
    assert selectors.inbox(box, "drafts").total == 0
    assert selectors.inbox(box, "sent").total == 1


def test_search_by_correspondent_subject_and_date(space, gp):
    gp.user.last_name = "Martin"
    gp.user.save()
    start(gp, space, subject="Résultats de la prise de sang")
    other = pro_with(space, Basis.AUTHORISED)
    start(other, space, subject="Rendez-vous de contrôle")
    box = services.patient_mailbox(space)
    assert [r.subject for r in selectors.inbox(box, search="martin").rows] == [
        "Résultats de la prise de sang"
    ]
    assert [r.subject for r in selectors.inbox(box, search="contrôle").rows] == [
        "Rendez-vous de contrôle"
    ]
    from django.utils import timezone

    today = timezone.localdate().strftime("%d/%m/%Y")
    assert selectors.inbox(box, search=today).total == 2
    assert selectors.inbox(box, search="01/01/2001").total == 0


def test_the_patient_sees_names_never_addresses(space, gp):
    start(gp, space)
    row = selectors.inbox(services.patient_mailbox(space)).rows[0]
    assert row.correspondents == [gp.title]
    assert "@" not in row.correspondents[0]


def test_addresses(space, gp, settings):
    settings.MSSANTE_PATIENT_DOMAIN = "mssante.fr"
    box = services.patient_mailbox(space)
    assert box.address == f"{space.holder.nir}@patient.mssante.fr"
    assert len(space.holder.nir) == 15
    assert services.patient_mailbox(space) == box  # one per space
    own = services.personal_mailbox(gp)
    assert own.address.endswith("@medecin.mssante.fr") and gp.rpps in own.address
    assert services.personal_mailbox(gp) == own


def test_the_pro_unread_count_adds_his_and_his_organisations_in_one_query_without_or(
    space, django_assert_num_queries
):
    """One `IN` over a UNION of his mailboxes: an OR across the two joins made PostgreSQL
    read every unread membership of every mailbox (bench/http.py)."""
    pharmacist = factories.ProfessionalFactory(profession="pharmacien", specialty="")
    accepting = pharmacy(pharmacist)
    prescription = factories.make_document(space, type_code="57833-6", title="Ordonnance")
    services.send_prescription_to_pharmacy(
        by=holder(space), space=space, pharmacy=accepting, prescription=prescription
    )
    other = pro_with(space, CareRelation.Basis.ATTENDING)
    conversation = start(other, space)
    services.reply(by=holder(space), conversation=conversation, body="Merci")  # to `other`
    with django_assert_num_queries(1) as captured:
        assert selectors.unread_for_professional(pharmacist) == 1
    assert " OR " not in captured.captured_queries[0]["sql"]
    assert selectors.unread_for_professional(other) == 1
