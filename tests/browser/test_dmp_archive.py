"""The holder's full download in Chromium: upload, mask, prepare the archive, open the ZIP.

The refused upload (an HTML page renamed .pdf) is covered by test_documents.py.
"""

import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from dossier import fhir
from dossier.models import Category, Document, DocumentType
from espace_sante import tasks
from espace_sante.models import ExportJob
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient
from tests.fhir import assert_valid_fhir_r4

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path("/tmp/journeys")
BIOLOGY = "11502-2"
# A small but real PDF: a page with a line of text, a valid cross-reference table.
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
    b"/Resources<</Font<</F1 5 0 R>>>>>>endobj\n"
    b"4 0 obj<</Length 58>>stream\nBT /F1 14 Tf 72 770 Td (Glycemie a jeun : 0,92 g/L) Tj ET\n"
    b"endstream endobj\n"
    b"5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def biology_type():
    # A transactional test flushes the tables, the data migration's types with them.
    return DocumentType.objects.update_or_create(
        code=BIOLOGY,
        defaults={
            "label": "Compte rendu d'examens de biologie médicale",
            "category": Category.BIOLOGY,
            "patient_may_add": True,
        },
    )[0]


@pytest.fixture
def held_exports(monkeypatch):
    """Hold the archive's task when it is queued, so the progress page can be seen.

    The view queues the task with transaction.on_commit: recording the call proves the
    request's transaction committed under live_server; the test then runs the task itself.
    """
    queued = []
    monkeypatch.setattr(tasks.build_export, "delay", lambda job_id: queued.append(job_id))
    return queued


def test_holder_downloads_the_archive_with_a_masked_pdf_its_summary_and_fhir(
    page, live_server, tmp_path, biology_type, held_exports
):
    SCREENSHOTS.mkdir(exist_ok=True)
    space = factories.SpaceFactory(holder__last_name="Perrin", holder__first_names="Lucie")
    sign_in_patient(page, live_server, space.holder.user.email)

    # Upload a PDF.
    page.goto(f"{live_server.url}/espace/{space.public_id}/documents/ajouter/")
    pdf = tmp_path / "bilan-sanguin.pdf"
    pdf.write_bytes(PDF)
    page.set_input_files("#id_file", str(pdf))
    page.select_option("#id_type_code", BIOLOGY)
    page.fill("#id_title", "Bilan sanguin de mars")
    page.fill("#id_act_date", (timezone.localdate() - timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Ajouter le document").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}/$"))
    assert "Le document est ajouté à votre dossier." in page.content()

    # Mask it from its page.
    page.get_by_role("button", name="Masquer aux professionnels").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Rendre visible des professionnels").is_visible()
    document = Document.objects.get(space=space)
    assert document.masked

    # The download page says what the archive holds.
    page.goto(f"{live_server.url}/espace/{space.public_id}/")
    page.get_by_role("link", name="Télécharger toutes les données").click()
    page.wait_for_url(re.compile(r"/telecharger/$"))
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == "Télécharger toutes les données de l'espace"
    assert "synthese-profil-medical.pdf" in page.content()
    assert "dmp.fhir.json" in page.content()
    assert_accessible(page)

    # Prepare it: the page follows the preparation…
    page.get_by_role("button", name=re.compile("^Préparer le téléchargement")).click()
    page.wait_for_url(re.compile(r"/telecharger/[0-9a-f-]{36}/$"))
    job = ExportJob.objects.get(space=space)
    assert held_exports == [job.pk], "the task is queued once the request's transaction commits"
    status = page.get_by_role("status")
    assert "Votre archive est en cours de préparation" in page.content()
    assert re.search(r"0 fichier\(s\) sur \d+", status.inner_text())
    assert page.get_by_label("Progression").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "archive-progress.png"), full_page=True)
    assert_accessible(page)

    # …and, once the task has run, shows the archive as ready (the script reloads the page).
    assert tasks.build_export.apply(args=[job.pk]).get() == "ready"
    ready = page.get_by_role("heading", name="Votre archive est prête")
    ready.wait_for(timeout=15_000)
    assert "Archive ZIP de" in page.content()
    page.screenshot(path=str(SCREENSHOTS / "archive-ready.png"), full_page=True)
    assert_accessible(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Télécharger l'archive")).click()
    download = download_info.value
    assert re.fullmatch(r"mon-espace-sante-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    with open(download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    names = archive.namelist()

    # The PDF, byte for byte, under documents/.
    pdf_paths = [n for n in names if n.startswith("documents/") and n.endswith(".pdf")]
    assert len(pdf_paths) == 1, names
    pdf_path = pdf_paths[0]
    assert "bilan-sanguin-de-mars" in pdf_path
    assert archive.read(pdf_path) == PDF

    # The printable summary of the medical profile.
    assert "synthese-profil-medical.pdf" in names
    assert archive.read("synthese-profil-medical.pdf").startswith(b"%PDF")

    # The FHIR Bundle: valid R4, and its DocumentReference points at the file, labelled masked.
    bundle = json.loads(archive.read(fhir.FILENAME))
    assert_valid_fhir_r4(bundle)
    references = [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "DocumentReference"
    ]
    assert len(references) == 1
    reference = references[0]
    attachment = reference["content"][0]["attachment"]
    assert attachment["url"] == pdf_path
    assert attachment["contentType"] == "application/pdf"
    assert attachment["size"] == len(PDF)
    assert reference["description"] == "Bilan sanguin de mars"
    assert reference["type"]["coding"][0]["code"] == BIOLOGY
    assert reference["securityLabel"] == [
        {"coding": [{"system": fhir.CONFIDENTIALITY, "code": "R"}]}
    ]
    assert reference["masterIdentifier"]["value"] == f"urn:uuid:{document.public_id}"
