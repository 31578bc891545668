"""A ciphertext that does not decrypt: a French page for the user, an incident for the operator.

And a master key whose bytes changed under its key id is refused before it wraps anything.
"""

import html
import io
import logging
import os
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.urls import reverse

from dossier.models import Document
from espace_sante import checks, crypto, export, integrity
from espace_sante.models import DataKey, ExportJob, IntegrityIncident, KeyCheck
from tests import factories, stored
from tests.conftest import sign_in
from tests.factories import PDF_BYTES, make_document

pytestmark = pytest.mark.django_db

UNREADABLE = "Ce document ne peut pas être lu ; l'incident est signalé."


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _alter_file(field, position: int = -1) -> None:
    """Flip one bit of the stored ciphertext, as a disk or an intruder might."""
    stored.alter(field, position)


def _break(document: Document, fault: str) -> str:
    """Make the document unreadable in one of the ways seen in production; the reason."""
    if fault == "altered":
        _alter_file(document.file)
        return IntegrityIncident.Reason.ALTERED
    if fault == "unknown_key":
        DataKey.objects.filter(pk=document.data_key_id).update(key_id="retiree-2019")
        return IntegrityIncident.Reason.UNKNOWN_KEY
    wrapped = bytearray(DataKey.objects.get(pk=document.data_key_id).wrapped)
    wrapped[-1] ^= 1
    DataKey.objects.filter(pk=document.data_key_id).update(wrapped=bytes(wrapped))
    return IntegrityIncident.Reason.UNWRAP


def _download_url(document, *, pro=False) -> str:
    name = "pro_documents:download" if pro else "dossier:download"
    return reverse(
        name, kwargs={"space_id": document.space.public_id, "document_id": document.public_id}
    )


@pytest.mark.parametrize("fault", ["altered", "unknown_key", "unwrap"])
def test_an_unreadable_document_shows_a_french_page_and_is_reported_to_the_operator(
    client, caplog, fault
):
    space = factories.SpaceFactory()
    document = make_document(space, title="Compte rendu opératoire")
    reason = _break(document, fault)
    sign_in(client, space.holder.user)
    documents = reverse("dossier:list", args=[space.public_id])

    with caplog.at_level(logging.ERROR, logger="espace_sante.integrity"):
        response = client.get(_download_url(document), HTTP_REFERER=f"http://testserver{documents}")

    page = _text(response)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert UNREADABLE in page
    assert "Mon espace santé" in page  # the portal's layout, header and all
    assert f'href="http://testserver{documents}"' in page  # back to where the user was
    assert "Retour à l'accueil" in page
    incident = IntegrityIncident.objects.get()
    assert (incident.reason, incident.subject_kind, incident.subject_id) == (
        reason,
        "document",
        str(document.public_id),
    )
    assert incident.data_key_id == document.data_key_id
    records = [r for r in caplog.records if r.name == "espace_sante.integrity"]
    assert [r.levelname for r in records] == ["ERROR"]
    message = records[0].getMessage()
    assert str(document.public_id) in message
    assert "Compte rendu opératoire" not in message and PDF_BYTES.decode() not in message


def test_a_professional_meets_the_page_in_the_pro_portal(client):
    relation = factories.CareRelationFactory()
    factories.TOTPDeviceFactory(user=relation.professional.user)
    document = make_document(relation.space)
    _alter_file(document.file)
    sign_in(client, relation.professional.user)

    response = client.get(_download_url(document, pro=True))

    page = _text(response)
    assert response.status_code == 503
    assert UNREADABLE in page
    assert "Professionnels" in page  # the pro portal's header
    assert f'href="{reverse("pro:dashboard")}"' in page
    assert IntegrityIncident.objects.filter(subject_id=str(document.public_id)).count() == 1


def test_an_unreadable_written_note_fails_its_page_cleanly_too(client):
    space = factories.SpaceFactory()
    document = make_document(space, data=b"Note du patient", written=True)
    _alter_file(document.file)
    sign_in(client, space.holder.user)
    url = reverse("dossier:detail", args=[space.public_id, document.public_id])

    response = client.get(url, HTTP_REFERER=f"http://testserver{url}")

    page = _text(response)
    assert response.status_code == 503
    assert UNREADABLE in page
    assert "Retour à la page précédente" not in page  # the page that failed is no way back
    assert IntegrityIncident.objects.get().subject_id == str(document.public_id)


def _ready_archive(space) -> ExportJob:
    job = ExportJob.objects.create(space=space, requested_by=space.holder.user)
    assert export.run_job(job.pk) == "ready"
    job.refresh_from_db()
    return job


def test_an_altered_archive_is_refused_before_the_download_starts(client):
    space = factories.SpaceFactory()
    job = _ready_archive(space)
    _alter_file(job.file, position=40)  # inside the first sealed chunk
    sign_in(client, space.holder.user)

    response = client.get(
        reverse("espace_sante:export_download", args=[space.public_id, job.public_id])
    )

    assert response.status_code == 503
    assert not response.streaming
    assert UNREADABLE in _text(response)
    incident = IntegrityIncident.objects.get()
    assert (incident.subject_kind, incident.subject_id) == ("export", str(job.public_id))


def test_a_stream_altered_further_on_is_reported_then_cut():
    data_key = crypto.new_data_key()
    sink = io.BytesIO()
    writer = crypto.EncryptingWriter(sink, data_key, context=b"export:abc")
    writer.write(os.urandom(2 * crypto.STREAM_CHUNK + 10))
    writer.close()
    stream = bytearray(sink.getvalue())
    stream[-5] ^= 1  # in the last chunk's tag

    chunks = integrity.checked_stream(
        crypto.decrypt_stream(io.BytesIO(bytes(stream)), data_key, context=b"export:abc"),
        where="test",
    )

    assert not IntegrityIncident.objects.exists()  # the head authenticated: the stream may start
    assert len(next(chunks)) == crypto.STREAM_CHUNK
    with pytest.raises(crypto.DecryptionError):
        list(chunks)
    assert IntegrityIncident.objects.get().subject_id == "abc"


def test_a_build_that_meets_an_unreadable_document_is_reported():
    space = factories.SpaceFactory()
    document = make_document(space)
    _alter_file(document.file)
    job = ExportJob.objects.create(space=space, requested_by=space.holder.user)

    with pytest.raises(crypto.DecryptionError):
        export.run_job(job.pk)

    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED
    assert IntegrityIncident.objects.get().subject_id == str(document.public_id)


def test_the_operator_command_counts_and_lists_incidents_without_content(client):
    space = factories.SpaceFactory()
    document = make_document(space, title="Bilan psychiatrique")
    _alter_file(document.file)
    sign_in(client, space.holder.user)
    client.get(_download_url(document))
    client.get(_download_url(document))

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("integrity_incidents", "--fail", stdout=out)

    listing = out.getvalue()
    assert "2 incident(s) d'intégrité depuis 24 h" in listing
    assert f"2 × altered     document {document.public_id}" in listing
    assert "Bilan psychiatrique" not in listing
    out = StringIO()
    call_command("integrity_incidents", "--fail", "--hours", "0", stdout=out)
    assert "0 incident(s)" in out.getvalue()


# --- Key check values ---------------------------------------------------------------------


def test_the_first_data_key_under_a_key_id_pins_its_check_value(settings):
    kid = settings.ENCRYPTION_CURRENT_KEY_ID
    assert not KeyCheck.objects.filter(key_id=kid).exists()

    crypto.new_data_key()

    check = KeyCheck.objects.get(key_id=kid)
    assert check.kcv == crypto.key_check_value(settings.ENCRYPTION_KEYS[kid])
    assert settings.ENCRYPTION_KEYS[kid].hex() not in check.kcv
    assert checks.master_keys_match(None) == []


def test_a_wrong_master_key_under_a_known_key_id_stops_start_up(settings):
    kid = settings.ENCRYPTION_CURRENT_KEY_ID
    crypto.new_data_key()
    settings.ENCRYPTION_KEYS = {**settings.ENCRYPTION_KEYS, kid: os.urandom(32)}

    errors = checks.master_keys_match(None)

    assert [e.id for e in errors] == ["espace_sante.E002"]
    assert "does not match its key check value" in errors[0].msg
    with pytest.raises(SystemCheckError, match=r"espace_sante\.E002"):
        call_command("check")


def test_a_wrong_master_key_is_caught_even_without_a_check_value(settings):
    """Data keys wrapped before check values existed: one of them is tried instead."""
    kid = settings.ENCRYPTION_CURRENT_KEY_ID
    crypto.new_data_key()
    KeyCheck.objects.all().delete()
    settings.ENCRYPTION_KEYS = {**settings.ENCRYPTION_KEYS, kid: os.urandom(32)}

    assert [e.id for e in checks.master_keys_match(None)] == ["espace_sante.E002"]
    with pytest.raises(crypto.KeyCheckError):
        crypto.new_data_key()
    assert not KeyCheck.objects.exists()


def test_a_wrong_master_key_wraps_no_new_data_key_and_rotation_refuses_it(settings):
    kid = settings.ENCRYPTION_CURRENT_KEY_ID
    crypto.new_data_key()
    keys = DataKey.objects.count()
    settings.ENCRYPTION_KEYS = {**settings.ENCRYPTION_KEYS, kid: os.urandom(32)}

    with pytest.raises(crypto.KeyCheckError):
        crypto.new_data_key()
    with pytest.raises(crypto.KeyCheckError):
        list(crypto.rotate())
    assert DataKey.objects.count() == keys


def test_an_upload_under_a_wrong_master_key_stores_nothing_and_says_so(client, settings, caplog):
    space = factories.SpaceFactory()
    make_document(space)
    kid = settings.ENCRYPTION_CURRENT_KEY_ID
    settings.ENCRYPTION_KEYS = {**settings.ENCRYPTION_KEYS, kid: os.urandom(32)}
    sign_in(client, space.holder.user)

    with caplog.at_level(logging.ERROR, logger="espace_sante.integrity"):
        response = client.post(
            reverse("dossier:add", args=[space.public_id]),
            {
                "type_code": "11502-2",
                "title": "Radio",
                "act_date": "2026-01-10",
                "file": SimpleUploadedFile("radio.pdf", PDF_BYTES, content_type="application/pdf"),
            },
        )

    assert response.status_code == 503
    assert "Ce document ne peut pas être enregistré pour le moment" in _text(response)
    assert Document.objects.filter(space=space).count() == 1
    assert IntegrityIncident.objects.get().reason == IntegrityIncident.Reason.WRONG_KEY
    assert [r.levelname for r in caplog.records if r.name == "espace_sante.integrity"] == [
        "CRITICAL"
    ]
