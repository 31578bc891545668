"""The patient's messaging in Chromium: her GP's message with a PDF, read, added to her
documents, answered with a document of her DMP; then the GP ends the exchange."""

import importlib
import re
from pathlib import Path

import pytest
from django.apps import apps

from dossier.models import Document
from espace_sante.tracing import Actor
from messagerie import services
from messagerie.models import Message
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots_p")
BIOLOGY = "11502-2"


@pytest.fixture
def reference_data():
    """The document types and the default matrix (a transactional test flushes them)."""
    for module in (
        "dossier.migrations.0002_document_types",
        "acces.migrations.0006_default_document_access_matrix",
    ):
        importlib.import_module(module).load(apps, None)


def _fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_camille_reads_adds_the_pdf_to_her_documents_answers_and_cannot_after_the_end(
    page, live_server, reference_data
):
    space = factories.SpaceFactory(holder__last_name="Martin", holder__first_names="Camille")
    gp = factories.ProfessionalFactory(user__first_name="Paul", user__last_name="Bernard")
    factories.CareRelationFactory(space=space, professional=gp, basis="attending")
    notes = factories.make_document(space, type_code="51855-5", title="Mon carnet de tension")
    conversation = services.start_conversation(
        by=Actor(gp.user, "professional"),
        space=space,
        subject="Vos résultats de prise de sang",
        body="Bonjour, voici vos résultats : tout est normal.",
        attachments=[services.NewAttachment("resultats.pdf", factories.PDF_BYTES)],
    )
    sign_in_patient(page, live_server, space.holder.user.email)

    # The navigation's entry says one unread message, and leads to the inbox.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/espace/{space.public_id}/")
    page.get_by_role("link", name=re.compile("Messagerie.*1 message non lu")).first.click()
    page.wait_for_url(re.compile(r"/messagerie/$"))
    assert "Vos résultats de prise de sang" in page.content()
    _shot(page, "inbox-1280")
    assert_accessible(page)

    page.get_by_role("link", name="Vos résultats de prise de sang").click()
    page.wait_for_url(re.compile(r"/messagerie/[0-9a-f-]{36}/$"))
    assert "tout est normal" in page.content()
    _shot(page, "conversation-1280")
    assert_accessible(page)

    # "Ajouter aux documents": the PDF becomes a biology result authored by the GP.
    page.get_by_role("link", name=re.compile("Ajouter aux documents")).click()
    page.get_by_label("Type de document").select_option(BIOLOGY)
    page.get_by_label("Titre").fill("Prise de sang de décembre")
    _shot(page, "add-to-documents-1280")
    assert_accessible(page)
    page.get_by_role("button", name="Ajouter à mes documents").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}/$"))
    assert "La pièce jointe est ajoutée à vos documents." in page.content()
    added = Document.objects.get(title="Prise de sang de décembre")
    assert added.author_professional == gp

    # She answers with a document of her DMP.
    page.goto(f"{live_server.url}/espace/{space.public_id}/messagerie/{conversation.public_id}/")
    assert "Dans vos documents" in page.content()
    page.get_by_label("Votre réponse").fill("Merci docteur, voici mon carnet de tension.")
    page.locator("label", has_text=notes.title).click()  # DSFR draws the box on the label
    page.get_by_role("button", name="Envoyer", exact=True).click()
    page.wait_for_url(re.compile(r"/messagerie/[0-9a-f-]{36}/$"))
    assert "Votre réponse est envoyée." in page.content()
    answer = Message.objects.get(sender__kind="patient")
    assert answer.attachments.get().source_document == notes

    # On a phone, the pages fit the screen.
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    _shot(page, "conversation-375")
    assert _fits(page)
    page.goto(f"{live_server.url}/espace/{space.public_id}/messagerie/")
    _shot(page, "inbox-375")
    assert _fits(page)

    # The GP ends the exchange: she reads it, and is told why she cannot reply.
    services.end_conversation(by=Actor(gp.user, "professional"), conversation=conversation)
    page.goto(f"{live_server.url}/espace/{space.public_id}/messagerie/{conversation.public_id}/")
    assert "Le professionnel a mis fin à vos échanges" in page.content()
    assert page.get_by_label("Votre réponse").count() == 0
    _shot(page, "ended-375")
    assert_accessible(page)
