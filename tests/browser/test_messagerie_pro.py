"""The GP's messaging in the pro portal, in Chromium: write to Camille with a PDF, read her
answer (unread in the navigation), end the exchange; screenshots at 1280 and 375 px."""

import re
from pathlib import Path

import pytest

from acces.models import CareRelation
from espace_sante.tracing import Actor
from messagerie import services
from messagerie.models import Conversation
from tests import factories
from tests.browser.conftest import assert_accessible
from tests.browser.test_access_journeys import (
    _main,
    _professional,
    _professional_page,
    reference_data,  # noqa: F401  (a fixture)
)

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path("/tmp/shots_q")
PDF = factories.PDF_BYTES


def _shots(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.usefixtures("reference_data")
def test_the_gp_writes_with_a_pdf_reads_the_answer_and_ends_the_exchange(
    browser, browser_context_args, live_server
):
    space = factories.SpaceFactory(holder__last_name="Martin", holder__first_names="Camille")
    gp = _professional("Louise", "Bernard", "medecin", "medecine_generale")
    factories.CareRelationFactory(space=space, professional=gp, basis=CareRelation.Basis.ATTENDING)

    with _professional_page(browser, browser_context_args, live_server, gp) as page:
        page.goto(f"{live_server.url}/pro/patients/{space.public_id}/")
        _main(page).get_by_role("link", name="Écrire au patient").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Nouveau message"
        assert "Mio au plus par message" in page.content()  # the limit is shown
        page.get_by_label("Objet").fill("Vos résultats d'analyses")
        page.get_by_label("Message", exact=False).first.fill("Bonjour, voici vos résultats.")
        page.set_input_files(
            "#id_attachments",
            files=[{"name": "resultats.pdf", "mimeType": "application/pdf", "buffer": PDF}],
        )
        assert_accessible(page)
        _shots(page, "1-compose")
        page.get_by_role("button", name="Envoyer").click()
        page.wait_for_url(re.compile(r"/pro/messagerie/[0-9a-f-]{36}/$"))
        assert "Votre message est envoyé au patient." in page.content()
        assert "pas encore lu" in page.content()
        conversation = Conversation.objects.get(space=space)
        assert conversation.messages.get().attachments.count() == 1

        # Later, Camille opens it and answers (her side is the patient pages).
        camille = Actor(user=space.holder.user, role="patient")
        services.mark_read(by=camille, conversation=conversation)
        services.reply(by=camille, conversation=conversation, body="Merci docteur, c'est noté.")

        page.goto(f"{live_server.url}/pro/")
        nav = page.get_by_role("navigation", name="Menu principal")
        assert "1 non lu" in nav.text_content()
        nav.get_by_role("link", name=re.compile("Messagerie")).click()
        assert page.get_by_role("heading", level=1).inner_text() == "Messagerie sécurisée"
        assert_accessible(page)
        _shots(page, "2-inbox")
        _main(page).get_by_role("link", name="Vos résultats d'analyses").click()
        assert "Merci docteur, c'est noté." in page.content()
        assert "lu le" in page.content()  # Camille's read receipt
        assert_accessible(page)
        _shots(page, "3-conversation")

        _main(page).get_by_role("link", name="Mettre fin aux échanges").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Mettre fin aux échanges ?"
        assert_accessible(page)
        _main(page).get_by_role("button", name="Mettre fin aux échanges").click()
        assert "le patient ne peut plus vous répondre" in page.content()
        _shots(page, "4-ended")

    conversation.refresh_from_db()
    assert conversation.ended_at is not None
    with pytest.raises(services.MessagingError):
        services.reply(by=camille, conversation=conversation, body="Encore une question")
