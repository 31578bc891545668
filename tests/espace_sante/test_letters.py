"""Postal letters: printable French PDFs carrying the code, encrypted at rest, exported to print."""

import io
import re
import subprocess
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from espace_sante import letters
from espace_sante.enrolment import enrol_rows
from espace_sante.identity import with_key
from espace_sante.lifecycle import codes
from espace_sante.models import LegalRepresentative, Letter, ProvisionalCode, Space
from espace_sante.tracing import Actor
from tests import factories

pytestmark = pytest.mark.django_db

CODE = "ABCD-EFGH-JKLM"


def pdf_text(pdf: bytes) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return done.stdout.decode()


def enrol_without_email(nir13="2800544109123", **row):
    fields = {
        "nir": with_key(nir13),
        "nom": "Lefèvre",
        "prenoms": "Hélène",
        "date_naissance": "17/05/1980",
        "sexe": "F",
        "email": "",
        "adresse": "12 rue des Lilas\n44000 Nantes",
        "carte_vitale": "1234567890",
        **row,
    }
    report = enrol_rows([(2, fields)], by=Actor.system(), announce=False)
    assert report.ok, report.rejected
    return Space.objects.select_related("holder").get(holder__nir=fields["nir"])


def test_letter_is_a_pdf_encrypted_at_rest_that_carries_the_code():
    space = enrol_without_email()

    letter = letters.produce(space=space, kind="announcement", code=CODE)

    with letter.file.open("rb") as stored:
        at_rest = stored.read()
    assert b"%PDF" not in at_rest
    pdf = letters.read_pdf(letter)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert CODE in text
    assert "Votre espace Mon espace santé va être créé" in text
    assert "LEFÈVRE" in text and "44000 Nantes" in text
    assert f"{space.opposition_deadline:%Y}" in text


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        ("announcement", "va être créé"),
        ("new_code", "Votre nouveau code provisoire"),
        ("handover", "Vous avez 18 ans"),
    ],
)
def test_each_letter_fits_one_a4_page_in_french(kind, title):
    space = enrol_without_email()

    pdf = letters.render_pdf(space=space, kind=kind, code=CODE)

    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    assert re.search(rb"Pages:\s+1\n", info.stdout)
    assert b"(A4)" in info.stdout
    text = pdf_text(pdf)
    assert title in text and CODE in text


def test_person_enrolled_without_email_receives_the_issued_code_by_letter(
    django_capture_on_commit_callbacks,
):
    fields = {
        "nir": with_key("1750244109456"),
        "nom": "Durand",
        "prenoms": "Jean",
        "date_naissance": "1975-02-03",
        "sexe": "M",
        "email": "",
        "adresse": "3 place X\n75001 Paris",
        "carte_vitale": "123456789012",
    }
    with django_capture_on_commit_callbacks(execute=True):
        report = enrol_rows([(2, fields)], by=Actor.system())

    space = Space.objects.get(pk=report.space_ids[0])
    letter = Letter.objects.get(space=space)
    text = pdf_text(letters.read_pdf(letter))
    printed = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", text).group()
    # The code on paper is the one the space will accept: its digest is what was stored.
    code = ProvisionalCode.objects.get(space=space)
    assert code.channel == ProvisionalCode.Channel.LETTER
    assert code.digest == codes._digest(space.pk, printed)


def test_minor_letter_is_addressed_to_the_legal_representatives():
    parent = factories.PatientFactory()
    born = date(timezone.localdate().year - 10, 6, 1)
    space = enrol_without_email(
        f"1{born:%y%m}44109777",
        prenoms="Paul",
        sexe="M",
        date_naissance=f"{born:%d/%m/%Y}",
        representants=parent.nir,
    )
    assert LegalRepresentative.objects.filter(space=space, patient=parent).exists()

    text = pdf_text(letters.render_pdf(space=space, kind="announcement", code=CODE))

    assert "Aux représentants légaux de" in text


def test_export_letters_decrypts_unprinted_letters_and_marks_them_printed(tmp_path):
    space = enrol_without_email()
    first = letters.produce(space=space, kind="announcement", code=CODE)
    second = letters.produce(space=space, kind="new_code", code="MNPQ-RSTU-VWXY")
    Letter.objects.filter(pk=first.pk).update(printed_at=timezone.now())
    out = io.StringIO()

    call_command("export_letters", str(tmp_path / "imprimeur"), stdout=out)

    files = sorted((tmp_path / "imprimeur").iterdir())
    assert [f.name for f in files] == [f"courrier-{second.pk:08d}-new_code.pdf"]
    assert files[0].read_bytes().startswith(b"%PDF")
    assert "MNPQ-RSTU-VWXY" in pdf_text(files[0].read_bytes())
    second.refresh_from_db()
    assert second.printed_at is not None
    assert "1 courrier(s) exporté(s)" in out.getvalue()

    call_command("export_letters", str(tmp_path / "encore"), stdout=out)
    assert list((tmp_path / "encore").iterdir()) == []


def test_export_letters_since_a_date(tmp_path):
    space = enrol_without_email()
    old = letters.produce(space=space, kind="announcement", code=CODE)
    Letter.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    recent = letters.produce(space=space, kind="new_code", code=CODE)

    call_command(
        "export_letters",
        str(tmp_path / "lot"),
        "--since",
        f"{timezone.localdate() - timedelta(days=1):%Y-%m-%d}",
    )

    assert [f.name for f in (tmp_path / "lot").iterdir()] == [
        f"courrier-{recent.pk:08d}-new_code.pdf"
    ]
    old.refresh_from_db()
    assert old.printed_at is None
    with pytest.raises(CommandError, match="invalide"):
        call_command("export_letters", str(tmp_path / "lot"), "--since", "hier")
