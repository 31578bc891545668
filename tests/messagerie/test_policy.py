"""The policy's messaging decisions, read on targets that say what they are (acces never
imports messagerie)."""

import pytest

from acces.models import CareRelation
from acces.policy import REFUSALS, Action, decide
from acces.principal import Principal
from acces.targets import ConversationTarget
from tests import factories
from tests.messagerie.cast import pro_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def space():
    return factories.SpaceFactory()


def test_a_professional_reads_only_the_conversations_he_takes_part_in(space):
    gp = pro_with(space, CareRelation.Basis.ATTENDING)
    other = pro_with(space, CareRelation.Basis.AUTHORISED)
    target = ConversationTarget(space=space, professional_ids=frozenset({gp.pk}))
    assert decide(gp.user, Action.READ_MESSAGES, target).basis == "correspondent"
    assert decide(other.user, Action.READ_MESSAGES, target).reason == "not_a_participant"
    # A space's messages as a whole are the patient's.
    assert not decide(gp.user, Action.READ_MESSAGES, space)


def test_writing_needs_a_conversation_target(space):
    gp = pro_with(space, CareRelation.Basis.ATTENDING)
    assert decide(gp.user, Action.START_CONVERSATION, space).reason == "unknown_target"
    assert decide(space.holder.user, Action.REPLY, space).reason == "unknown_target"


def test_the_occupational_physician_does_not_write_through_messaging(space):
    doctor = pro_with(space, CareRelation.Basis.OCCUPATIONAL, specialty="medecine_travail")
    target = ConversationTarget(space=space, professional_ids=frozenset({doctor.pk}))
    assert decide(doctor.user, Action.START_CONVERSATION, target).reason == "no_basis_to_write"


def test_a_closed_space_takes_no_message_but_its_patient_still_reads(space):
    gp = pro_with(space, CareRelation.Basis.ATTENDING)
    space.state = space.State.CLOSED
    space.save()
    target = ConversationTarget(
        space=space,
        professional_ids=frozenset({gp.pk}),
        writer_ids=frozenset({gp.pk}),
        reply_mode="reply",
    )
    assert decide(gp.user, Action.START_CONVERSATION, target).reason == "space_not_open"
    assert decide(space.holder.user, Action.REPLY, target).reason == "space_not_open"
    assert decide(space.holder.user, Action.READ_MESSAGES, target)


def test_an_app_gets_no_messaging_scope(space):
    app = Principal.app_for(space.holder.user, "app-1", ["patient/DocumentReference.read"])
    assert decide(app, Action.READ_MESSAGES, space).reason == "scope_not_granted"


def test_the_patient_cannot_file_an_attachment_as_a_professional(space):
    from acces.targets import NewDocument

    new = NewDocument(space=space, type_code="11502-2", category="biology")
    assert not decide(space.holder.user, Action.FILE_ATTACHMENT, new)
    gp = pro_with(space, CareRelation.Basis.ATTENDING)
    assert decide(gp.user, Action.FILE_ATTACHMENT, new)


def test_every_refusal_reason_of_messaging_is_in_french():
    for reason in (
        "sender_refused",
        "not_a_participant",
        "no_basis_to_write",
        "patient_writes_to_writers",
        "conversation_ended",
        "reply_not_allowed",
        "reply_all_not_allowed",
    ):
        assert str(REFUSALS[reason])[0].isupper()


def test_nobody_replies_in_a_conversation_taken_back_from_an_archive(space):
    gp = pro_with(space, CareRelation.Basis.ATTENDING)
    open_one = ConversationTarget(
        space=space,
        professional_ids=frozenset({gp.pk}),
        writer_ids=frozenset({gp.pk}),
        reply_mode="reply_all",
    )
    assert decide(space.holder.user, Action.REPLY, open_one)
    imported = ConversationTarget(space=space, reply_mode="reply_all", imported=True)
    refused = decide(space.holder.user, Action.REPLY, imported)
    assert refused.reason == "conversation_imported"
    assert "reprise de votre ancien dossier" in refused.message
    assert decide(space.holder.user, Action.READ_MESSAGES, imported)
    assert decide(gp.user, Action.REPLY, imported).reason == "not_a_participant"
    assert "conversation_imported" in REFUSALS
