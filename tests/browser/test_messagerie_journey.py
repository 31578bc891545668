"""The whole messaging journey in Chromium, one browser per person: the GP writes to Camille
with a PDF; Camille reads it, adds the PDF to her documents and answers with a document of
her DMP; the GP reads the answer and ends the exchange; Camille can no longer reply; her
trail shows it all and her notifications, on the page and by email, say nothing medical."""

import re
from contextlib import ExitStack

import pytest
from django.core import mail

from acces.models import CareRelation
from dossier.models import Document
from espace_sante.models import Notification
from messagerie.models import Conversation, Message
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient
from tests.browser.test_access_journeys import (
    _main,
    _professional,
    _professional_page,
    reference_data,  # noqa: F401  (a fixture)
)
from tests.browser.test_messagerie_patient import _fits

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECT = "Vos résultats d'analyses"
BODY = "Bonjour, voici vos résultats : la glycémie est normale."
PDF_NAME = "bilan-sanguin.pdf"
ANSWER = "Merci docteur, voici mon carnet de tension."
BIOLOGY = "11502-2"
# What the exchange is about: none of it may reach a notification.
CONTENT = ["résultats", "glycémie", "bilan-sanguin", "carnet de tension"]
# Nor may the one about the message tell who wrote it, by specialty. (The notification of
# the GP's first access names them in full, as every access notification does.)
MEDICAL = [*CONTENT, "médecine générale"]
NEW_MESSAGE = "Vous avez reçu un message d'un professionnel de santé"


def _conversation_url(live_server, space, conversation):
    return f"{live_server.url}/espace/{space.public_id}/messagerie/{conversation.public_id}/"


@pytest.mark.usefixtures("reference_data")
def test_gp_and_camille_exchange_until_the_gp_ends_it_and_her_trail_tells_it(
    page, browser, browser_context_args, live_server
):
    with ExitStack() as stack:
        _journey(stack, page, browser, browser_context_args, live_server)


def _journey(stack, page, browser, browser_context_args, live_server):
    space = factories.SpaceFactory(holder__last_name="Martin", holder__first_names="Camille")
    gp = _professional("Louise", "Bernard", "medecin", "medecine_generale")
    factories.CareRelationFactory(space=space, professional=gp, basis=CareRelation.Basis.ATTENDING)
    notes = factories.make_document(space, type_code="51855-5", title="Mon carnet de tension")

    # --- The GP writes, with a PDF, through the pro compose page ------------------------
    # One browser each, side by side; the GP signs in once (a TOTP code is used once).
    pro = stack.enter_context(_professional_page(browser, browser_context_args, live_server, gp))
    pro.goto(f"{live_server.url}/pro/patients/{space.public_id}/")
    _main(pro).get_by_role("link", name="Écrire au patient").click()
    assert pro.get_by_role("heading", level=1).inner_text() == "Nouveau message"
    pro.get_by_label("Objet").fill(SUBJECT)
    pro.get_by_label("Message", exact=False).first.fill(BODY)
    pro.set_input_files(
        "#id_attachments",
        files=[{"name": PDF_NAME, "mimeType": "application/pdf", "buffer": factories.PDF_BYTES}],
    )
    assert_accessible(pro)
    pro.get_by_role("button", name="Envoyer").click()
    pro.wait_for_url(re.compile(r"/pro/messagerie/[0-9a-f-]{36}/$"))
    assert "Votre message est envoyé au patient." in pro.content()
    conversation = Conversation.objects.get(space=space)
    assert conversation.messages.get().attachments.count() == 1

    # --- Camille signs in: "Messagerie" with one unread, the conversation, the PDF --------
    sign_in_patient(page, live_server, space.holder.user.email)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/espace/{space.public_id}/")
    page.get_by_role("link", name=re.compile("Messagerie.*1 message non lu")).first.click()
    page.wait_for_url(re.compile(r"/messagerie/$"))
    assert_accessible(page)
    page.get_by_role("link", name=SUBJECT).click()
    page.wait_for_url(re.compile(r"/messagerie/[0-9a-f-]{36}/$"))
    assert BODY in page.content()
    assert PDF_NAME in page.content()
    assert_accessible(page)

    page.get_by_role("link", name=re.compile("Ajouter aux documents")).click()
    page.get_by_label("Type de document").select_option(BIOLOGY)
    page.get_by_label("Titre").fill("Prise de sang de décembre")
    assert_accessible(page)
    page.get_by_role("button", name="Ajouter à mes documents").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}/$"))
    assert "La pièce jointe est ajoutée à vos documents." in page.content()
    page.goto(f"{live_server.url}/espace/{space.public_id}/documents/")
    assert _main(page).get_by_text("Prise de sang de décembre").count() >= 1
    assert Document.objects.get(title="Prise de sang de décembre").author_professional == gp

    # She answers, attaching a document of her DMP.
    page.goto(_conversation_url(live_server, space, conversation))
    page.get_by_label("Votre réponse").fill(ANSWER)
    page.locator("label", has_text=notes.title).click()  # DSFR draws the box on the label
    page.get_by_role("button", name="Envoyer", exact=True).click()
    page.wait_for_url(re.compile(r"/messagerie/[0-9a-f-]{36}/$"))
    assert "Votre réponse est envoyée." in page.content()
    answer = Message.objects.get(sender__kind="patient")
    assert answer.attachments.get().source_document == notes

    # --- The GP reads the answer and ends the exchange -----------------------------------
    pro.goto(f"{live_server.url}/pro/")
    nav = pro.get_by_role("navigation", name="Menu principal")
    assert "1 non lu" in nav.text_content()
    nav.get_by_role("link", name=re.compile("Messagerie")).click()
    _main(pro).get_by_role("link", name=SUBJECT).click()
    assert ANSWER in pro.content()
    assert "lu le" in pro.content()  # Camille's read receipt of the GP's message
    assert_accessible(pro)
    _main(pro).get_by_role("link", name="Mettre fin aux échanges").click()
    assert pro.get_by_role("heading", level=1).inner_text() == "Mettre fin aux échanges ?"
    assert_accessible(pro)
    _main(pro).get_by_role("button", name="Mettre fin aux échanges").click()
    assert "le patient ne peut plus vous répondre" in pro.content()
    conversation.refresh_from_db()
    assert conversation.ended_at is not None

    # --- Camille can no longer reply (checked on a phone too) ----------------------------
    page.goto(_conversation_url(live_server, space, conversation))
    assert "Le professionnel a mis fin à vos échanges" in page.content()
    assert page.get_by_label("Votre réponse").count() == 0
    assert page.get_by_role("button", name="Envoyer", exact=True).count() == 0
    assert_accessible(page)
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert _fits(page)
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    # --- Her trail shows the messaging events: the GP's first, her own under "Qui" --------
    page.goto(f"{live_server.url}/espace/{space.public_id}/")
    _main(page).get_by_role("link", name="Historique des accès").click()
    page.wait_for_url(re.compile(r"/historique/$"))
    rows = page.get_by_role("row")
    gp_rows = rows.filter(has_text="Louise Bernard")
    assert gp_rows.filter(has_text="Envoi d'un nouveau message").count() == 1
    assert gp_rows.filter(has_text="Lecture d'un message").count() >= 1
    assert gp_rows.filter(has_text="Fin des échanges par le professionnel").count() == 1
    trail = _main(page).inner_text()
    assert SUBJECT not in trail and ANSWER not in trail and BODY not in trail
    assert_accessible(page)
    page.select_option("#id_qui", "moi")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile("qui=moi"))
    assert rows.filter(has_text="Ajout d'une pièce jointe aux documents").count() == 1
    assert rows.filter(has_text="Envoi d'une réponse").count() == 1
    assert rows.filter(has_text="Lecture d'un message").count() >= 1
    assert_accessible(page)

    # --- Her notifications, on the page and by email, say nothing medical ----------------
    page.get_by_role("link", name="Notifications").first.click()
    page.wait_for_url(re.compile(r"/notifications/$"))
    cards = page.locator(".fr-card")
    announced = cards.filter(has_text=NEW_MESSAGE)
    assert announced.count() >= 1
    for card in announced.all():
        for word in MEDICAL:
            assert word not in card.inner_text().lower(), word
    told = _main(page).inner_text().lower()
    for word in CONTENT:
        assert word not in told, word
    assert_accessible(page)

    assert Notification.objects.filter(
        recipient=space.holder.user, kind="message_received"
    ).exists()
    to_camille = [m for m in mail.outbox if m.to == [space.holder.user.email]]
    new_message = [m for m in to_camille if m.subject.endswith(NEW_MESSAGE)]
    assert new_message, "the new message was announced by email"
    for email in to_camille:
        text = f"{email.subject}\n{email.body}".lower()
        text += "".join(str(part[0]).lower() for part in email.alternatives)
        for word in MEDICAL if email in new_message else CONTENT:
            assert word not in text, (word, email.subject)
