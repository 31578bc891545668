"""An altered document in Chromium: a readable, accessible French page with a way back."""

import os
import re

import pytest

from dossier.models import Category, DocumentType
from espace_sante.models import IntegrityIncident
from tests import factories, stored
from tests.browser.conftest import assert_accessible, sign_in_patient
from tests.factories import make_document

pytestmark = pytest.mark.django_db(transaction=True)


def test_holder_opening_an_altered_note_is_told_and_finds_the_way_back(page, live_server):
    # A transactional test flushes the tables, the data migration's types with them.
    DocumentType.objects.update_or_create(
        code="11502-2",
        defaults={
            "label": "Compte rendu d'examens de biologie médicale",
            "category": Category.BIOLOGY,
            "patient_may_add": True,
        },
    )
    space = factories.SpaceFactory()
    document = make_document(space, title="Ma note de suivi", data=b"Note du patient", written=True)
    stored.alter(document.file, -1)
    sign_in_patient(page, live_server, space.holder.user.email)

    documents = f"{live_server.url}/espace/{space.public_id}/documents/"
    page.goto(documents)
    page.get_by_role("link", name="Ma note de suivi").first.click()

    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "Document illisible"
    assert "Ce document ne peut pas être lu ; l'incident est signalé." in page.content()
    assert "Note du patient" not in page.content()
    assert_accessible(page)
    shots = os.environ.get("INTEGRITY_SCREENSHOTS")
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        if shots:  # for a look by eye: INTEGRITY_SCREENSHOTS=/some/dir
            page.screenshot(path=f"{shots}/integrity-{width}.png", full_page=True)
    assert IntegrityIncident.objects.filter(subject_id=str(document.public_id)).count() == 1

    page.get_by_role("link", name="Retour à la page précédente").click()
    page.wait_for_url(re.compile(re.escape(documents)))
    assert page.get_by_role("heading", level=1).inner_text() != "Document illisible"
