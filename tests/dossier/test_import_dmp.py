"""`manage.py import_dmp`: an archive of the download's format taken back into a space."""

import io
import json
import zipfile
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from acces.models import AuditEvent
from dossier import fhir
from dossier.models import Document, ProfileChange
from dossier.services import add_document, read_content
from espace_sante import lifecycle
from espace_sante.export import build_archive
from espace_sante.models import Notification, Space
from espace_sante.tracing import Actor
from tests import factories
from tests.dossier.helpers import fill_profile
from tests.factories import PDF_BYTES, make_document
from tests.mailbox import delivered

pytestmark = pytest.mark.django_db

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def source():
    """A space with a full profile and documents: its own, a professional's in two versions,
    a masked one, and one it does not see yet."""
    space = factories.SpaceFactory()
    fill_profile(space)
    pro = factories.ProfessionalFactory()
    make_document(space, title="Analyse de sang", data=b"%PDF-1.4 analyse")
    report = make_document(space, professional=pro, title="Compte rendu", type_code="11488-4")
    add_document(
        space=space,
        type_code="11488-4",
        title="Compte rendu corrigé",
        act_date=date(2026, 1, 20),
        data=PNG_BYTES,
        by=Actor(user=pro.user, role=pro.user.kind),
        author_professional=pro,
        replaces=report,
    )
    make_document(space, title="Radio", type_code="18748-4", data=b"%PDF-1.4 radio", masked=True)
    make_document(
        space,
        professional=pro,
        title="Pas encore annoncé",
        data=b"%PDF-1.4 cache",
        invisible_to_patient=True,
    )
    return space


@pytest.fixture
def archive(source, tmp_path):
    path = tmp_path / "mon-espace-sante.zip"
    path.write_bytes(build_archive(source))
    return path


@pytest.fixture
def unzipped(archive, tmp_path):
    folder = tmp_path / "archive"
    with zipfile.ZipFile(archive) as handle:
        handle.extractall(folder)
    return folder


@pytest.fixture
def target():
    return factories.SpaceFactory()


def run(path, *args, **options):
    out, err = StringIO(), StringIO()
    try:
        call_command("import_dmp", str(path), *args, stdout=out, stderr=err, **options)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def _bundle(folder):
    return json.loads((folder / fhir.FILENAME).read_text(encoding="utf-8"))


def _save(folder, bundle):
    (folder / fhir.FILENAME).write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")


def _references(bundle):
    return [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
    ]


def _documents(space):
    return {
        d.title: d for d in Document.objects.filter(space=space).select_related("data_key", "type")
    }


def _profile(space):
    return {
        "allergies": set(space.profile_allergies.values_list("substance", "reaction", "severity")),
        "history": set(space.profile_history.values_list("kind", "condition", "year", "notes")),
        "treatments": set(
            space.profile_treatments.values_list("medicine", "dosage", "since", "prescriber")
        ),
        "vaccinations": set(
            space.profile_vaccinations.values_list("vaccine", "date", "lot", "given_by")
        ),
        "measurements": set(
            space.profile_measurements.values_list("kind", "value", "value2", "measured_on")
        ),
    }


# --- round trip -------------------------------------------------------------------------


def test_round_trip_gives_another_space_the_same_documents_and_profile(source, archive, target):
    out, err, failure = run(archive, space_nir=target.holder.nir)
    assert failure is None, err
    assert err == ""
    theirs, ours = _documents(source), _documents(target)
    assert set(ours) == {"Analyse de sang", "Compte rendu", "Compte rendu corrigé", "Radio"}
    for title, document in ours.items():
        original = theirs[title]
        assert read_content(document) == read_content(original)
        assert (document.type_code, document.act_date, document.author_label) == (
            original.type_code,
            original.act_date,
            original.author_label,
        )
        assert document.source == Document.Source.IMPORT
        assert document.author_professional is None  # named, never linked
        assert document.masked == original.masked
        assert document.is_current == original.is_current
    assert ours["Compte rendu corrigé"].replaces == ours["Compte rendu"]
    assert ours["Radio"].masked

    expected = _profile(source)
    # Without a reaction, FHIR carries no severity but the criticality: mild reads back moderate.
    expected["allergies"] = {
        (s, r, "moderate" if s == "Pollens" else sev) for s, r, sev in expected["allergies"]
    }
    assert _profile(target) == expected
    assert "Documents : 4 importés, 0 déjà présent, 0 ignoré." in out
    assert "Profil médical : 10 entrées importées (2 allergies, 2 antécédents, " in out


def test_import_is_traced_kept_in_the_profile_history_and_told_to_the_holder(archive, target):
    run(archive, space_nir=target.holder.nir)
    events = AuditEvent.objects.filter(space=target, action="document_added")
    assert events.count() == 4
    assert set(events.values_list("role", flat=True)) == {"system"}
    assert AuditEvent.objects.filter(space=target, action="profile_allergy_added").count() == 2
    assert ProfileChange.objects.filter(space=target, action="added").count() == 10
    told = Notification.objects.filter(space=target, kind="dmp_imported")
    assert told.count() == 1
    assert "Pénicilline" not in told.get().body
    assert delivered(told, without=("Pénicilline",))


def test_running_the_import_again_imports_nothing_twice(archive, target):
    run(archive, space_nir=target.holder.nir)
    documents, entries = Document.objects.count(), ProfileChange.objects.count()
    out, err, failure = run(archive, space_nir=target.holder.nir)
    assert failure is None and err == ""
    assert (Document.objects.count(), ProfileChange.objects.count()) == (documents, entries)
    assert "Documents : 0 importé, 4 déjà présents, 0 ignoré." in out
    assert "Profil médical : 0 entrée importée, 10 déjà présentes, 0 ignorée." in out
    assert Notification.objects.filter(space=target, kind="dmp_imported").count() == 1
    assert delivered(Notification.objects.filter(space=target, kind="dmp_imported"))


def test_an_unzipped_directory_imports_like_the_zip(unzipped, target):
    _out, err, failure = run(unzipped, space_nir=target.holder.nir)
    assert failure is None, err
    assert len(_documents(target)) == 4
    assert target.profile_allergies.count() == 2


def test_without_space_nir_the_space_is_the_archive_patients(source, archive):
    """Its own archive taken back into the same space: everything is already there."""
    documents = Document.objects.filter(space=source).count()
    out, err, failure = run(archive)
    assert failure is None, err
    assert f"({source.holder.nir})" in out
    assert "Documents : 0 importé, 4 déjà présents, 0 ignoré." in out
    assert Document.objects.filter(space=source).count() == documents


def test_identity_file_names_the_space_when_the_bundle_has_no_nir(source, unzipped):
    bundle = _bundle(unzipped)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            del entry["resource"]["identifier"]
    _save(unzipped, bundle)
    out, _err, failure = run(unzipped)
    assert failure is None
    assert f"({source.holder.nir})" in out


# --- refusals of the whole archive --------------------------------------------------------


def test_unknown_nir_is_refused_and_imports_nothing(archive):
    documents = Document.objects.count()
    _out, _err, failure = run(archive, space_nir=factories.next_nir())
    assert failure is not None
    assert "Aucun espace santé pour le NIR" in str(failure)
    assert Document.objects.count() == documents


def test_closed_space_is_refused(archive, target):
    lifecycle.close(space=target, by=Actor.system(), reason="test")
    assert Space.objects.get(pk=target.pk).state == Space.State.CLOSED
    _out, _err, failure = run(archive, space_nir=target.holder.nir)
    assert failure is not None and "n'est pas ouvert" in str(failure)
    assert not Document.objects.filter(space=target).exists()


def test_a_file_that_is_no_zip_is_refused(tmp_path, target):
    path = tmp_path / "archive.zip"
    path.write_bytes(b"not a zip")
    _out, _err, failure = run(path, space_nir=target.holder.nir)
    assert failure is not None and "archive ZIP illisible" in str(failure)


def test_an_archive_without_a_readable_bundle_is_refused(unzipped, target):
    (unzipped / fhir.FILENAME).write_text("{ pas du json", encoding="utf-8")
    _out, _err, failure = run(unzipped, space_nir=target.holder.nir)
    assert failure is not None
    assert "dmp.fhir.json : JSON illisible (ligne 1" in str(failure)


# --- one bad file among good ones ---------------------------------------------------------


def test_malformed_files_are_reported_and_skipped_while_the_rest_imports(unzipped, target):
    bundle = _bundle(unzipped)
    by_title = {r["description"]: r for r in _references(bundle)}
    # a file missing from the archive
    missing = by_title["Analyse de sang"]["content"][0]["attachment"]["url"]
    (unzipped / missing).unlink()
    # a file whose content is refused (an HTML page), its hash left out
    radio = by_title["Radio"]["content"][0]["attachment"]
    (unzipped / radio["url"]).write_bytes(b"<html><script>alert(1)</script></html>")
    del radio["hash"]
    # an unknown LOINC type
    by_title["Compte rendu"]["type"]["coding"][0]["code"] = "00000-0"
    # a resource missing what it needs
    allergy = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "AllergyIntolerance"
    )
    del allergy["code"]
    _save(unzipped, bundle)
    # and a second Bundle that is not JSON at all
    (unzipped / "autre.fhir.json").write_text("{ pas du json", encoding="utf-8")

    out, err, failure = run(unzipped, space_nir=target.holder.nir)

    assert failure is not None and failure.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 5, err
    assert any(line.startswith("autre.fhir.json : JSON illisible") for line in lines)
    assert f"fichier « {missing} » absent de l'archive" in err
    assert "Les pages web, images SVG et scripts sont refusés" in err
    assert "type de document inconnu (LOINC 00000-0)" in err
    assert "AllergyIntolerance/" in err and "substance manquante (code)" in err
    for line in lines:
        assert line.startswith(("dmp.fhir.json, ", "autre.fhir.json : "))
    # The rest went in: the corrected report (without the version it replaced), the profile.
    assert set(_documents(target)) == {"Compte rendu corrigé"}
    assert _documents(target)["Compte rendu corrigé"].replaces is None
    assert target.profile_allergies.count() == 1
    assert target.profile_vaccinations.count() == 1
    assert "Documents : 1 importé, 0 déjà présent, 3 ignorés." in out
    assert "9 entrées importées" in out and "1 ignorée" in out


def test_a_file_that_does_not_match_its_hash_is_refused(unzipped, target):
    bundle = _bundle(unzipped)
    attachment = _references(bundle)[0]["content"][0]["attachment"]
    (unzipped / attachment["url"]).write_bytes(b"%PDF-1.4 autre contenu")
    _out, err, failure = run(unzipped, space_nir=target.holder.nir)
    assert failure is not None
    assert "ne correspond pas à son empreinte" in err
    assert len(_documents(target)) == 3


def test_a_document_of_a_type_the_patient_may_not_add_is_imported_as_written_by_its_author(
    unzipped, target
):
    """A consultation report (professionals only) comes back, under its author's name."""
    run(unzipped, space_nir=target.holder.nir)
    document = _documents(target)["Compte rendu corrigé"]
    assert document.type_code == "11488-4"
    assert document.author_label.startswith("Dr ")
    assert document.added_by is None


# --- paths out of the archive -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "../secret.pdf",
        "documents/../../secret.pdf",
        "/tmp/secret.pdf",
        "file:///tmp/secret.pdf",
        "C:/secret.pdf",
        "..\\secret.pdf",
    ],
)
def test_paths_leaving_the_archive_are_refused(unzipped, target, tmp_path, url):
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.4 hors de l'archive")
    bundle = _bundle(unzipped)
    reference = _references(bundle)[0]
    reference["content"][0]["attachment"]["url"] = url
    del reference["content"][0]["attachment"]["hash"]
    _save(unzipped, bundle)
    _out, err, failure = run(unzipped, space_nir=target.holder.nir)
    assert failure is not None
    assert f"chemin refusé « {url} »" in err
    assert len(_documents(target)) == 3


def test_a_symbolic_link_out_of_the_directory_is_refused(unzipped, target, tmp_path):
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.4 hors de l'archive")
    bundle = _bundle(unzipped)
    attachment = _references(bundle)[0]["content"][0]["attachment"]
    link = unzipped / "documents" / "lien.pdf"
    link.symlink_to(tmp_path / "secret.pdf")
    attachment["url"] = "documents/lien.pdf"
    del attachment["hash"]
    _save(unzipped, bundle)
    _out, err, failure = run(unzipped, space_nir=target.holder.nir)
    assert failure is not None
    assert "chemin refusé « documents/lien.pdf » : il sort du dossier importé" in err
    assert len(_documents(target)) == 3


def test_a_traversal_inside_a_zip_is_refused(target, tmp_path):
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:6f1f4f3e-8d0c-4d52-9a4e-4f1d6c0e7a11",
                "resource": {
                    "resourceType": "DocumentReference",
                    "id": "6f1f4f3e-8d0c-4d52-9a4e-4f1d6c0e7a11",
                    "status": "current",
                    "type": {"coding": [{"system": "http://loinc.org", "code": "11502-2"}]},
                    "description": "Évasion",
                    "context": {"period": {"start": "2025-01-01"}},
                    "content": [{"attachment": {"url": "../../evasion.pdf"}}],
                },
            }
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        handle.writestr(fhir.FILENAME, json.dumps(bundle))
        handle.writestr("../../evasion.pdf", PDF_BYTES)
    path = tmp_path / "evasion.zip"
    path.write_bytes(buffer.getvalue())
    _out, err, failure = run(path, space_nir=target.holder.nir)
    assert failure is not None
    assert "chemin refusé « ../../evasion.pdf » : il sort de l'archive" in err
    assert not Document.objects.filter(space=target).exists()


def test_a_space_not_yet_activated_gets_its_documents_too(archive):
    """A created space whose holder has no account yet: nobody's account is put on the rows."""
    waiting = factories.SpaceFactory(holder__user=None, state=Space.State.CREATED)
    _out, err, failure = run(archive, space_nir=waiting.holder.nir)
    assert failure is None, err
    documents = _documents(waiting)
    assert len(documents) == 4
    assert {d.added_by_id for d in documents.values()} == {None}
