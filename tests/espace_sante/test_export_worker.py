"""The archive of a space, built by a real Celery worker (PostgreSQL + Redis run), or eagerly."""

import io
import zipfile

import pytest

from espace_sante import export
from espace_sante.models import ExportJob
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import wait_for
from tests.factories import make_document


@pytest.mark.worker
def test_a_worker_builds_the_archive_with_the_documents_and_its_progress(celery_worker):
    space = factories.SpaceFactory()
    for index in range(3):
        make_document(space, title=f"Analyse {index}", data=f"%PDF-1.4 analyse {index}".encode())
    holder = space.holder.user
    job = export.request_archive(space=space, by=Actor(user=holder, role=holder.kind))
    assert wait_for(lambda: ExportJob.objects.get(pk=job.pk).state == ExportJob.State.READY)
    job.refresh_from_db()
    assert job.done == job.total >= 4 + 3
    archive = zipfile.ZipFile(
        io.BytesIO(export.read_archive(job=job, by=Actor(user=holder, role=holder.kind)))
    )
    documents = [name for name in archive.namelist() if name.startswith("documents/")]
    assert len(documents) == 3
    assert {archive.read(name) for name in documents} == {
        f"%PDF-1.4 analyse {index}".encode() for index in range(3)
    }
