"""The archive of all the data of a space, offered to the holder before closure (and at will).

The archive is built by a Celery task (`request_archive` queues an `ExportJob`,
`run_job` builds it while counting files for the page's progress bar, stores it
encrypted, and the holder downloads it for a day before `purge_exports` shreds it).

`build_archive(space)` returns a ZIP: the holder's identity and the space's
state, its notifications, and a French LISEZMOI. The parts of the space (its
audit trail, the DMP's documents, FHIR export and summary, and soon messages and
agenda) add their files through the registry of `espace_sante.parts`, under the
requester's export decision, which the policy works out once per archive: this
module never imports them.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime

from django.core.files.base import File
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from espace_sante import crypto, integrity, parts
from espace_sante.actions import SpaceAction
from espace_sante.models import ExportJob, Notification, Space, User
from espace_sante.tracing import Actor, trace

Progress = Callable[[int, int], None]

# The files this module writes itself: LISEZMOI, identity, notifications.
_OWN_FILES = 3


class ExportRefused(Exception):
    """The policy refuses the requester the full download of the space."""


def count_steps(space: Space, decision) -> int:
    """How many files `build_archive` will write for `space` under `decision` (its progress
    total)."""
    return _OWN_FILES + parts.count_steps(space, decision)


def build_archive(
    space: Space, progress: Progress | None = None, *, requester: User | None = None
) -> bytes:
    """A ZIP of everything the space holds that `requester` may take away, in memory."""
    buffer = io.BytesIO()
    write_archive(space, buffer, progress, requester=requester)
    return buffer.getvalue()


def write_archive(
    space: Space, sink, progress: Progress | None = None, *, requester: User | None = None
) -> None:
    """Write the ZIP into `sink`, a binary file that need not seek (an encrypting writer).

    What goes in is what the policy's export decision for `requester` allows (None: the
    system); every part receives that one decision. `progress(done, total)` is called
    after each file written.
    """
    decision = parts.export_decision(space, requester)
    if not decision:
        raise ExportRefused(getattr(decision, "reason", ""))
    now = timezone.now()
    total = count_steps(space, decision)
    done = 0

    def step() -> None:
        nonlocal done, total
        done += 1
        total = max(total, done)
        if progress is not None:
            progress(done, total)

    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, build in (
            ("LISEZMOI.txt", lambda: _readme(space, now)),
            ("identite.json", lambda: _identity(space, now)),
            ("notifications.csv", lambda: _notifications(space)),
        ):
            archive.writestr(name, build())
            step()
        for part, files in parts.export_files(space, decision):
            for name, content in files:
                archive.writestr(name, content)
                if part.export_steps is not None:
                    step()
            if part.export_steps is None:
                step()


# --- The archive as a background job ------------------------------------------------------


def request_archive(*, space: Space, by: Actor) -> ExportJob:
    """Queue the building of the archive for `by`, or give back the one already under way.

    The task starts once the transaction commits, so it never sees a job that was rolled back.
    """
    from espace_sante import tasks

    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update()
            .filter(
                space=space,
                requested_by=by.user,
                state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING],
            )
            .first()
        )
        if job is not None:
            return job
        total = count_steps(space, parts.export_decision(space, by.user))
        job = ExportJob.objects.create(space=space, requested_by=by.user, total=total)
        trace(actor=by, action=SpaceAction.EXPORT_REQUESTED, space=space, target=job)
        # Robust: a broker that is down must not turn the saved request into an error
        # page; the beat sweep (`tasks.requeue_lost_tasks`) queues the job again.
        transaction.on_commit(
            lambda: tasks.publish(tasks.build_export, job.pk, what=f"export job {job.pk}"),
            robust=True,
        )
    return job


def jobs_to_requeue(*, now: datetime | None = None) -> list[int]:
    """Jobs still waiting REQUEUE_AFTER after they were asked for: their task may be lost.

    Queuing one twice is harmless, `run_job` claims it; past STALE_AFTER it is failed.
    """
    now = now or timezone.now()
    return list(
        ExportJob.objects.filter(
            state=ExportJob.State.QUEUED,
            created_at__lt=now - ExportJob.REQUEUE_AFTER,
            created_at__gte=now - ExportJob.STALE_AFTER,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:1000]
    )


def run_job(job_id: int) -> str:
    """Build the archive of a queued job and store it encrypted. Idempotent: claims the job."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, state=ExportJob.State.QUEUED).update(
        state=ExportJob.State.RUNNING, started_at=now
    )
    if not claimed:
        return "skipped"
    job = ExportJob.objects.select_related("space__holder").get(pk=job_id)
    last_saved = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last_saved
        # A row update per file, but not more than ten a second on a large record.
        tick = timezone.now().timestamp()
        if done == total or tick - last_saved >= 0.1:
            ExportJob.objects.filter(pk=job_id).update(done=done, total=total)
            last_saved = tick

    try:
        data_key = crypto.new_data_key()
        # Encrypted as it is written, into a temporary file of ciphertext only: a record of
        # hundreds of large documents is never held whole in memory, nor in clear on disk.
        with tempfile.TemporaryFile() as encrypted:
            writer = crypto.EncryptingWriter(encrypted, data_key, context=_job_context(job))
            write_archive(job.space, writer, progress=progress, requester=job.requested_by)
            writer.close()
            size = writer.tell()
            encrypted.seek(0)
            with transaction.atomic():
                job.file.save(f"{job.public_id}.zip.enc", File(encrypted), save=False)
                finished = timezone.now()
                ExportJob.objects.filter(pk=job_id).update(
                    state=ExportJob.State.READY,
                    data_key=data_key,
                    file=job.file.name,
                    size=size,
                    finished_at=finished,
                    expires_at=finished + ExportJob.KEPT_FOR,
                )
    except Exception as exc:
        ExportJob.objects.filter(pk=job_id).update(
            state=ExportJob.State.FAILED, finished_at=timezone.now()
        )
        if isinstance(exc, crypto.DecryptionError | crypto.KeyCheckError):
            integrity.report(exc, where=f"export build {job.public_id}")
        raise
    return "ready"


def open_archive(*, job: ExportJob, by: Actor) -> Iterator[bytes]:
    """The decrypted archive of a ready job, chunk by chunk, its download traced first.

    Raises ValueError when the job has no archive (any more).
    """
    if job.state != ExportJob.State.READY or job.expires_at <= timezone.now():
        raise ValueError("archive not available")

    storage, name, context = job.file.storage, job.file.name, _job_context(job)

    def chunks() -> Iterator[bytes]:
        opening = crypto.open_stored(
            lambda: storage.open(name, "rb"), job.data_key, context=context
        )
        with opening as handle:
            yield from crypto.decrypt_stream(handle, job.data_key, context=context)

    # The key unwraps and the first chunk authenticates before any response starts, so a
    # bad key or an altered head raises DecryptionError here, while a page can still say so.
    stream = integrity.checked_stream(chunks(), where=f"export download {job.public_id}")
    with transaction.atomic():
        trace(actor=by, action=SpaceAction.EXPORT_DOWNLOADED, space=job.space, target=job)
    return stream


def read_archive(*, job: ExportJob, by: Actor) -> bytes:
    """The whole decrypted archive (tests, small records): see `open_archive`."""
    return b"".join(open_archive(job=job, by=by))


def purge_exports(*, now: datetime | None = None) -> int:
    """Shred archives past their day, and fail jobs whose worker died."""
    now = now or timezone.now()
    ExportJob.objects.filter(
        state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING],
        created_at__lt=now - ExportJob.STALE_AFTER,
    ).update(state=ExportJob.State.FAILED, finished_at=now)
    expired = ExportJob.objects.filter(state=ExportJob.State.READY, expires_at__lte=now)
    count = 0
    for job in expired.select_related("data_key").iterator():
        shred_job(job)
        count += 1
    return count


def shred_job(job: ExportJob) -> None:
    """Destroy a job's archive: its key, then its file."""
    if job.data_key_id:
        crypto.destroy_data_key(job.data_key)
    if job.file:
        job.file.delete(save=False)
    ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.EXPIRED, file="", size=0)


def _job_context(job: ExportJob) -> bytes:
    return f"export:{job.public_id}".encode()


def archive_filename(day: date | None = None) -> str:
    return f"mon-espace-sante-{(day or timezone.localdate()):%Y-%m-%d}.zip"


def iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return value.isoformat()


def _identity(space: Space, now: datetime) -> str:
    holder = space.holder
    data = {
        "titulaire": {
            "nir": holder.nir,
            "nom_de_naissance": holder.last_name,
            "prenoms": holder.first_names,
            "date_de_naissance": iso(holder.birth_date),
            "sexe": holder.sex,
            "numero_de_serie_carte_vitale": holder.carte_vitale_serial,
            "adresse_e_mail_de_contact": holder.email,
            "adresse_postale": holder.postal_address,
            "identifiant_de_connexion": holder.user.email if holder.user_id else None,
            "date_de_deces": iso(holder.death_date),
        },
        "espace": {
            "identifiant": str(space.public_id),
            "etat": space.state,
            "etat_libelle": str(space.get_state_display()),
            "cree_le": iso(space.created_at),
            "etat_change_le": iso(space.state_changed_at),
            "fin_du_delai_d_opposition": iso(space.opposition_deadline),
            "cloture_le": iso(space.closed_at),
            "archive_jusqu_au": iso(space.retention_until),
            "suppression_definitive_prevue_le": iso(space.deletion_due_at),
        },
        "exporte_le": iso(now),
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def csv_file(header: list[str], rows: Iterable[list]) -> bytes:
    # Semicolons and a BOM: the CSV opens as is in the spreadsheets used in France.
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8-sig")


def _notifications(space: Space) -> bytes:
    notifications = (
        Notification.objects.filter(space=space)
        .order_by("created_at", "id")
        .values_list("created_at", "recipient__email", "address", "subject", "body", "read_at")
    )
    return csv_file(
        ["date", "destinataire", "objet", "message", "lue_le"],
        (
            [iso(created_at), recipient or address, subject, body, iso(read_at) or ""]
            for created_at, recipient, address, subject, body, read_at in notifications.iterator()
        ),
    )


def _readme(space: Space, now: datetime) -> str:
    return render_to_string(
        "espace_sante/export_readme.txt",
        {
            "space": space,
            "holder": space.holder,
            "now": now,
            # The trail's historique.csv is described with this module's own files.
            "extra_parts": any(p.export for p in parts.parts() if p.name != "trail"),
        },
    )
