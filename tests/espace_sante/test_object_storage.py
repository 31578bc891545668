"""Documents, attachments and archives on an S3 bucket: ciphertext only, read back whole.

These tests start the local S3 emulator themselves (moto in server mode, tests/s3.py), so
they run in every session; `TEST_OBJECT_STORAGE=s3` runs the other file tests on it too.
"""

import html
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from acces.models import CareRelation
from dossier.models import Document
from espace_sante import export
from espace_sante.models import ExportJob, IntegrityIncident
from espace_sante.storage import PrivateObjectStorage
from messagerie.models import Attachment
from tests import factories, stored
from tests.conftest import sign_in
from tests.espace_sante.test_settings import _run
from tests.factories import make_document
from tests.messagerie.cast import pdf, pro_with, start

pytestmark = pytest.mark.django_db

SENTENCE = "Fracture du scaphoïde droit, consolidation attendue en six semaines."
REPORT = b"%PDF-1.4\n% " + SENTENCE.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
UNREADABLE = "Ce document ne peut pas être lu ; l'incident est signalé."


@pytest.fixture
def bucket(settings, s3_emulator):
    """This test's files on the emulator's bucket, under a prefix of its own."""
    storage = s3_emulator.storage()
    settings.STORAGES = {**settings.STORAGES, "default": storage}
    return s3_emulator, storage["OPTIONS"]["location"]


def _only_object(bucket, directory: str) -> tuple[str, bytes]:
    emulator, location = bucket
    objects = emulator.objects(location)
    assert len(objects) == 1, objects.keys()
    ((key, body),) = objects.items()
    assert key.startswith(f"{location}/{directory}/")
    return key, body


def _assert_ciphertext(body: bytes, *clear: bytes) -> None:
    assert body and not body.startswith((b"%PDF", b"PK"))
    for text in clear:
        assert text not in body


def test_an_uploaded_document_lands_in_the_bucket_as_ciphertext_and_comes_back_whole(
    client, bucket
):
    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)

    response = client.post(
        reverse("dossier:add", args=[space.public_id]),
        {
            "type_code": "11502-2",
            "title": "Radiographie du poignet",
            "act_date": "2026-01-10",
            "file": SimpleUploadedFile("radio.pdf", REPORT, content_type="application/pdf"),
        },
    )

    assert response.status_code == 302
    document = Document.objects.get(space=space)
    assert isinstance(document.file.storage, PrivateObjectStorage)  # the field follows
    key, body = _only_object(bucket, "documents")
    assert key == f"{bucket[1]}/{document.file.name}"
    _assert_ciphertext(body, SENTENCE.encode(), "scaphoïde".encode(), b"Radiographie")
    download = client.get(
        reverse(
            "dossier:download",
            kwargs={"space_id": space.public_id, "document_id": document.public_id},
        )
    )
    assert download.status_code == 200 and download.streaming
    assert b"".join(download.streaming_content) == REPORT


def test_a_large_document_is_streamed_from_the_bucket_chunk_by_chunk(client, bucket):
    from espace_sante import crypto

    space = factories.SpaceFactory()
    data = REPORT + b"0" * (2 * crypto.STREAM_CHUNK + 10)  # three chunks
    document = make_document(space, data=data)
    sign_in(client, space.holder.user)

    response = client.get(
        reverse(
            "dossier:download",
            kwargs={"space_id": space.public_id, "document_id": document.public_id},
        )
    )

    chunks = [chunk for chunk in response.streaming_content if chunk]
    assert len(chunks) == 3 and max(len(c) for c in chunks) == crypto.STREAM_CHUNK
    assert b"".join(chunks) == data


def test_a_message_attachment_lands_in_the_bucket_as_ciphertext_and_comes_back_whole(
    client, bucket
):
    space = factories.SpaceFactory()
    gp = pro_with(space, CareRelation.Basis.ATTENDING)
    factories.TOTPDeviceFactory(user=gp.user)
    sign_in(client, gp.user)

    response = client.post(
        f"/pro/messagerie/patients/{space.public_id}/nouveau/",
        {
            "subject": "Vos radios",
            "body": "Voici le compte rendu.",
            "attachments": [
                SimpleUploadedFile("scaphoide.pdf", REPORT, content_type="application/pdf")
            ],
        },
    )

    assert response.status_code == 302
    attachment = Attachment.objects.get(message__conversation__space=space)
    key, body = _only_object(bucket, "messages")
    assert key == f"{bucket[1]}/{attachment.file.name}" and "scaphoide" not in key
    _assert_ciphertext(body, SENTENCE.encode(), b"scaphoide")
    sign_in(client, space.holder.user)
    download = client.get(
        reverse("messagerie:download", args=[space.public_id, attachment.public_id])
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == REPORT


def test_an_archive_lands_in_the_bucket_as_ciphertext_and_is_shredded_from_it(
    client, bucket, django_capture_on_commit_callbacks
):
    space = factories.SpaceFactory()
    make_document(space, data=REPORT, title="Radiographie du poignet")
    sign_in(client, space.holder.user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("espace_sante:export", args=[space.public_id]))

    job = ExportJob.objects.get(space=space)
    assert job.state == ExportJob.State.READY
    emulator, location = bucket
    archives = {k: v for k, v in emulator.objects(location).items() if "/exports/" in k}
    assert list(archives) == [f"{location}/{job.file.name}"]
    (body,) = archives.values()
    _assert_ciphertext(body, SENTENCE.encode(), space.holder.nir.encode(), b"documents/")
    download = client.get(
        reverse("espace_sante:export_download", args=[space.public_id, job.public_id])
    )
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        contents = [archive.read(name) for name in archive.namelist()]
    assert REPORT in contents

    job.refresh_from_db()
    export.shred_job(job)
    assert not [k for k in emulator.objects(location) if "/exports/" in k]


def test_a_file_url_never_names_the_bucket_and_objects_are_private(bucket, settings):
    document = make_document(factories.SpaceFactory())
    emulator, _location = bucket

    url = document.file.url

    assert url.startswith(settings.MEDIA_URL)  # the path no route serves, as on disk
    assert "127.0.0.1" not in url and "amz" not in url.lower() and "mes-test" not in url
    key = f"{bucket[1]}/{document.file.name}"
    grants = emulator.client().get_object_acl(Bucket="mes-test-fichiers", Key=key)["Grants"]
    assert all("URI" not in grant["Grantee"] for grant in grants)  # no AllUsers, no Authenticated


def _break_file(field, fault: str, backend: str, bucket) -> None:
    if fault == "altered":
        stored.alter(field, 40)
    elif backend == "s3":  # removed behind the portal's back, as an operator might
        emulator, location = bucket
        emulator.client().delete_object(Bucket="mes-test-fichiers", Key=f"{location}/{field.name}")
    else:
        field.storage.delete(field.name)


@pytest.fixture(params=["filesystem", "s3"])
def backend(request, settings, tmp_path):
    if request.param == "s3":
        return "s3", request.getfixturevalue("bucket")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "disque")},
        },
    }
    return "filesystem", None


def _failed_cleanly(response, reason: str, kind: str, ident) -> None:
    assert response.status_code == 503
    assert not response.streaming
    assert UNREADABLE in html.unescape(response.content.decode())
    incident = IntegrityIncident.objects.get()
    assert (incident.reason, incident.subject_kind, incident.subject_id) == (
        reason,
        kind,
        str(ident),
    )


@pytest.mark.parametrize("fault", ["altered", "missing"])
def test_a_damaged_or_missing_document_gives_the_french_page_not_a_500(client, backend, fault):
    name, bucket = backend
    space = factories.SpaceFactory()
    document = make_document(space)
    _break_file(document.file, fault, name, bucket)
    sign_in(client, space.holder.user)

    response = client.get(
        reverse(
            "dossier:download",
            kwargs={"space_id": space.public_id, "document_id": document.public_id},
        )
    )

    _failed_cleanly(response, fault, "document", document.public_id)


@pytest.mark.parametrize("fault", ["altered", "missing"])
def test_a_damaged_or_missing_attachment_gives_the_french_page_not_a_500(client, bucket, fault):
    space = factories.SpaceFactory()
    gp = pro_with(space, CareRelation.Basis.ATTENDING)
    conversation = start(gp, space, attachments=[pdf()])
    attachment = Attachment.objects.get(message__conversation=conversation)
    _break_file(attachment.file, fault, "s3", bucket)
    sign_in(client, space.holder.user)

    response = client.get(
        reverse("messagerie:download", args=[space.public_id, attachment.public_id])
    )

    _failed_cleanly(response, fault, "attachment", attachment.public_id)


@pytest.mark.parametrize("fault", ["altered", "missing"])
def test_a_damaged_or_missing_archive_gives_the_french_page_not_a_500(client, bucket, fault):
    space = factories.SpaceFactory()
    job = ExportJob.objects.create(space=space, requested_by=space.holder.user)
    assert export.run_job(job.pk) == "ready"
    job.refresh_from_db()
    _break_file(job.file, fault, "s3", bucket)
    sign_in(client, space.holder.user)

    response = client.get(
        reverse("espace_sante:export_download", args=[space.public_id, job.public_id])
    )

    _failed_cleanly(response, fault, "export", job.public_id)


def test_object_storage_without_a_bucket_stops_start_up():
    result = _run("check", STORAGE_BACKEND="s3", S3_BUCKET="")
    assert result.returncode != 0
    assert "STORAGE_BACKEND=s3 needs S3_BUCKET" in result.stderr
    result = _run("check", STORAGE_BACKEND="nuage")
    assert result.returncode != 0
    assert "STORAGE_BACKEND must be filesystem or s3" in result.stderr


def test_a_stored_object_reads_exactly_what_is_asked_and_opens_again(bucket):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    data = bytes(range(256)) * 4096  # 1 MiB
    name = default_storage.save("documents/essai.enc", ContentFile(data))
    assert default_storage.save("documents/essai.enc", ContentFile(b"autre")) != name  # kept

    with default_storage.open(name, "rb") as handle:
        assert handle.size == len(data)
        assert handle.read(3) == data[:3]
        assert handle.read(100_000) == data[3:100_003]
        assert handle.read() == data[100_003:]
        assert handle.read(10) == b""
        handle.seek(0)  # reads the object again from its start
        assert b"".join(handle.chunks(300_000)) == data
    assert handle.closed
    handle.open()
    assert handle.read(4) == data[:4]
    handle.close()

    with pytest.raises(FileNotFoundError):
        default_storage.open("documents/absent.enc", "rb")


def test_a_field_file_opens_twice_from_the_bucket(bucket):
    document = make_document(factories.SpaceFactory())
    with document.file.open("rb") as handle:
        first = handle.read()
    with document.file.open("rb") as handle:
        assert handle.read() == first == stored.read(document.file)


def test_the_deploy_check_warns_of_a_plain_http_endpoint(settings):
    from espace_sante import checks

    settings.STORAGE_BACKEND = "s3"
    options = {"bucket_name": "mes", "endpoint_url": "http://s3.example.org"}
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "espace_sante.storage.PrivateObjectStorage", "OPTIONS": options},
    }
    assert [w.id for w in checks.object_storage_over_tls(None)] == ["espace_sante.W003"]
    options["endpoint_url"] = "https://s3.example.org"
    assert checks.object_storage_over_tls(None) == []
