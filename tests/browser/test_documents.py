"""The holder's documents in Chromium: upload, list, open, mask, download, and a refused upload."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from dossier.models import Category, Document, DocumentType
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PRESCRIPTION = "57833-6"


@pytest.fixture
def prescription_type():
    # A transactional test flushes the tables, the data migration's types with them.
    return DocumentType.objects.update_or_create(
        code=PRESCRIPTION,
        defaults={
            "label": "Ordonnance de médicaments",
            "category": Category.PRESCRIPTIONS,
            "patient_may_add": True,
        },
    )[0]


def _fill_document(page, path, title):
    page.set_input_files("input[type=file]", str(path))
    page.get_by_label("Type de document").select_option(PRESCRIPTION)
    page.get_by_label("Titre").fill(title)
    act_date = timezone.localdate() - timedelta(days=30)
    page.get_by_label("Date de l'acte").fill(act_date.isoformat())
    page.get_by_role("button", name="Ajouter le document").click()


def test_holder_uploads_masks_and_downloads_a_pdf_and_an_html_file_is_refused(
    page, live_server, tmp_path, prescription_type
):
    space = factories.SpaceFactory(holder__last_name="Fontaine", holder__first_names="Inès")
    sign_in_patient(page, live_server, space.holder.user.email)

    page.goto(f"{live_server.url}/espace/{space.public_id}/")
    page.get_by_role("link", name="Mes documents").click()
    page.wait_for_url(re.compile(r"/documents/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Mes documents"
    assert "Aucun document pour le moment" in page.content()
    assert_accessible(page)

    # Upload a real (tiny) PDF.
    page.get_by_role("link", name="Ajouter un document").click()
    page.wait_for_url(re.compile(r"/documents/ajouter/$"))
    assert_accessible(page)
    pdf = tmp_path / "ordonnance.pdf"
    pdf.write_bytes(PDF)
    _fill_document(page, pdf, "Ordonnance du Dr Bernard")
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}/$"))
    assert "Le document est ajouté à votre dossier." in page.content()
    assert_accessible(page)

    # It is in the list, and opens from there.
    page.get_by_role("link", name="Retour à mes documents").click()
    page.wait_for_url(re.compile(r"/documents/$"))
    row = page.get_by_role("row", name=re.compile("Ordonnance du Dr Bernard"))
    assert "Ordonnance de médicaments" in row.text_content()
    assert "Masqué" not in row.text_content()
    assert_accessible(page)
    page.get_by_role("link", name="Ordonnance du Dr Bernard").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}/$"))
    assert "code LOINC 57833-6" in page.content()
    assert page.get_by_role("link", name="Ouvrir l'aperçu").is_visible()

    # Mask it from professionals: the badge shows, here and in the list.
    page.get_by_role("button", name="Masquer aux professionnels").click()
    page.wait_for_load_state()
    assert page.get_by_text("Masqué", exact=True).first.is_visible()
    assert page.get_by_role("button", name="Rendre visible des professionnels").is_visible()
    assert Document.objects.get().masked is True
    assert_accessible(page)

    # Download it: the decrypted bytes are the uploaded ones.
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("^Télécharger")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        assert handle.read() == PDF

    page.get_by_role("link", name="Retour à mes documents").click()
    page.wait_for_url(re.compile(r"/documents/$"))
    row = page.get_by_role("row", name=re.compile("Ordonnance du Dr Bernard"))
    assert "Masqué" in row.text_content()

    # An HTML page renamed .pdf is refused, in French, naming what is accepted; nothing is stored.
    page.get_by_role("link", name="Ajouter un document").click()
    page.wait_for_url(re.compile(r"/documents/ajouter/$"))
    fake = tmp_path / "resultats.pdf"
    fake.write_bytes(b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
    _fill_document(page, fake, "Résultats piégés")
    page.wait_for_load_state()
    # The message is the file field's own, under it, and the field is marked in error.
    error = page.locator(".fr-upload-group--error .fr-error-text")
    assert re.search(r"Formats acceptés : PDF, JPEG, PNG ou texte brut", error.inner_text())
    assert page.url.endswith("/documents/ajouter/")
    assert_accessible(page)
    assert Document.objects.count() == 1
