"""A new message is told without medical content: no subject, no body, no sender's specialty."""

import pytest
from django.core import mail

from espace_sante.notifications import notify
from tests import factories
from tests.mailbox import assert_email_left, delivered

pytestmark = pytest.mark.django_db

SUBJECT = "Résultats de votre bilan thyroïdien"
BODY = "Votre TSH est à 7,2 mUI/L, nous devons en parler."


def test_message_received_template_says_only_that_a_message_arrived():
    space = factories.SpaceFactory()
    user = space.holder.user
    # Whatever a careless caller passes, the template uses none of it.
    notification = notify(
        recipient=user,
        template="message_received",
        space=space,
        link="/messagerie/",
        context={"subject": SUBJECT, "body": BODY, "specialty": "Endocrinologie"},
    )
    assert notification.subject == "Vous avez reçu un message d'un professionnel de santé"
    assert "Vous avez reçu un message d'un professionnel de santé" in notification.body
    assert delivered([notification], without=(SUBJECT, BODY, "Endocrinologie", "thyro"))
    (email,) = assert_email_left(user.email, without=(SUBJECT, BODY, "Endocrinologie"))
    assert "/messagerie/" in email.alternatives[0][0]
    assert len(mail.outbox) == 1


def test_a_professionals_message_leaves_an_email_without_its_subject_body_or_specialty():
    from acces.models import CareRelation
    from espace_sante.models import Notification
    from espace_sante.tracing import Actor
    from messagerie import services

    space = factories.SpaceFactory()
    doctor = factories.ProfessionalFactory(
        specialty="psychiatrie", user__last_name="Durand", practice_name="Clinique du Lac"
    )
    factories.CareRelationFactory(
        space=space, professional=doctor, basis=CareRelation.Basis.ATTENDING
    )
    services.start_conversation(
        by=Actor(user=doctor.user, role=doctor.user.kind),
        space=space,
        subject=SUBJECT,
        body=BODY,
        attachments=[services.NewAttachment("bilan-thyroide.pdf", factories.PDF_BYTES)],
    )
    notification = Notification.objects.get(space=space, kind="message_received")
    specialty = doctor.get_specialty_display()
    secrets = (SUBJECT, BODY, specialty, "Durand", "Clinique du Lac", "bilan-thyroide", "thyro")
    assert delivered([notification], without=secrets)
    (email,) = assert_email_left(space.holder.user.email, without=secrets)
    assert email.subject.endswith("Vous avez reçu un message d'un professionnel de santé")
    for secret in secrets:
        assert secret.lower() not in notification.body.lower()  # the portal's copy too


def _gp_and_conversation(**pro):
    from acces.models import CareRelation
    from tests.messagerie.cast import start

    space = factories.SpaceFactory(holder__last_name="Lefèvre", holder__first_names="Inès")
    doctor = factories.ProfessionalFactory(specialty="psychiatrie", **pro)
    factories.CareRelationFactory(
        space=space, professional=doctor, basis=CareRelation.Basis.ATTENDING
    )
    return space, doctor, start(doctor, space, subject=SUBJECT, body=BODY)


def test_a_patients_message_emails_the_professional_without_content_at_most_once_an_hour():
    from datetime import timedelta

    from django.utils import timezone

    from espace_sante.models import Notification
    from messagerie import services
    from tests.messagerie.cast import actor

    space, doctor, conversation = _gp_and_conversation()
    patient = actor(space.holder.user)
    services.reply(by=patient, conversation=conversation, body="Ma TSH a baissé, docteur.")
    services.reply(by=patient, conversation=conversation, body="Et mon lévothyrox ?")
    (notification,) = Notification.objects.filter(kind="pro_message_received")
    assert notification.recipient == doctor.user
    assert notification.space is None  # not one of the patient's notifications
    assert notification.link == "/pro/messagerie/"
    secrets = (SUBJECT, BODY, "Lefèvre", "Inès", "TSH", "lévothyrox", "psychiatr", "thyro")
    assert delivered([notification], without=secrets)
    (email,) = assert_email_left(doctor.user.email, without=secrets)
    assert email.subject.endswith(
        "Un nouveau message vous attend dans votre messagerie professionnelle"
    )
    assert "/pro/messagerie/" in email.alternatives[0][0]
    # An hour later, a new message is told again.
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - timedelta(hours=1, minutes=1)
    )
    services.reply(by=patient, conversation=conversation, body="Je vous rappelle demain.")
    assert Notification.objects.filter(kind="pro_message_received").count() == 2


def test_the_professional_is_not_emailed_for_their_own_message_and_organisations_readers_are():
    from espace_sante.models import Notification
    from messagerie import services
    from tests.messagerie.cast import actor, pharmacy

    space, _doctor, _conversation = _gp_and_conversation()
    assert not Notification.objects.filter(kind="pro_message_received").exists()
    pharmacist = factories.ProfessionalFactory(profession="pharmacien", specialty="")
    box = pharmacy(pharmacist)
    prescription = factories.make_document(space, type_code="57833-6", title="Ordonnance")
    services.send_prescription_to_pharmacy(
        by=actor(space.holder.user), space=space, pharmacy=box, prescription=prescription
    )
    (notification,) = Notification.objects.filter(kind="pro_message_received")
    assert notification.recipient == pharmacist.user
    assert delivered([notification], without=("Ordonnance", space.holder.last_name))


def test_a_professional_who_turns_alerts_off_is_not_emailed_until_they_turn_them_on(client):
    from espace_sante.models import Notification
    from messagerie import services
    from tests.conftest import sign_in
    from tests.messagerie.cast import actor

    space, doctor, conversation = _gp_and_conversation()
    factories.TOTPDeviceFactory(user=doctor.user)
    sign_in(client, doctor.user)
    inbox = client.get("/pro/messagerie/").content.decode()
    assert "Vous êtes prévenu par e-mail (sans contenu) quand un patient vous écrit." in inbox

    answer = client.post("/pro/messagerie/alertes/", {"alertes": "off"}, follow=True)
    page = answer.content.decode()
    assert "Vous ne serez plus prévenu par e-mail des nouveaux messages." in page
    assert "Être prévenu par e-mail" in page
    mail.outbox.clear()
    services.reply(by=actor(space.holder.user), conversation=conversation, body="Bonjour.")
    assert not Notification.objects.filter(kind="pro_message_received").exists()
    assert not [m for m in mail.outbox if doctor.user.email in m.to]

    client.post("/pro/messagerie/alertes/", {"alertes": "on"})
    services.reply(by=actor(space.holder.user), conversation=conversation, body="Re-bonjour.")
    (notification,) = Notification.objects.filter(kind="pro_message_received")
    assert delivered([notification], without=(BODY, "Re-bonjour"))
    assert_email_left(doctor.user.email, without=(BODY, "Re-bonjour"))


def test_the_alerts_switch_takes_only_a_post_from_a_professional(client):
    space, doctor, _conversation = _gp_and_conversation()
    factories.TOTPDeviceFactory(user=doctor.user)
    from messagerie.models import Mailbox
    from tests.conftest import sign_in as sign_in_pro

    assert client.post("/pro/messagerie/alertes/", {"alertes": "off"}).status_code in (302, 403)
    sign_in_pro(client, space.holder.user)
    assert client.post("/pro/messagerie/alertes/", {"alertes": "off"}).status_code in (302, 403)
    sign_in_pro(client, doctor.user)
    assert client.get("/pro/messagerie/alertes/").status_code == 405
    assert not Mailbox.objects.filter(professional=doctor, email_alerts=False).exists()
