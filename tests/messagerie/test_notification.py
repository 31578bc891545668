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
