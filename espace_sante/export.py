"""The archive of all the data of a space, offered to the holder before closure (and at will).

The archive is built by a Celery task (`request_archive` queues an `ExportJob`,
`run_job` builds it while counting files for the page's progress bar, stores it
encrypted, and the holder downloads it for a day before `purge_exports` shreds it).

`build_archive(space)` returns a ZIP: the holder's identity and the space's
state, its audit trail, its notifications, and a French LISEZMOI. Other parts
of the space (the DMP's documents and FHIR export, messages, agenda) add their
files through `on_export`, as they plug their destruction into
`lifecycle.on_destroy`: this module never imports them.
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
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from espace_sante import crypto, integrity
from espace_sante.actions import SpaceAction
from espace_sante.labels import OUTCOME_LABELS, action_label, basis_label, role_label
from espace_sante.models import ExportJob, Notification, Space
from espace_sante.tracing import Actor, trace

ExportPart = Callable[[Space], Iterable[tuple[str, bytes]]]
StepCount = Callable[[Space], int]
Progress = Callable[[int, int], None]
_export_parts: list[tuple[ExportPart, StepCount | None]] = []

# The files this module writes itself: LISEZMOI, identity, history, notifications.
_OWN_FILES = 4


def on_export(part: ExportPart, *, count: StepCount | None = None) -> None:
    """Register a part of the space that adds files to the archive.

    Called as part(space); it yields (path inside the archive, content) pairs,
    for instance ("documents/compte-rendu.pdf", b"...") or ("dmp.fhir.json", b"...").
    `count(space)`, when given, says how many files the part will yield, so that
    the progress shown while the archive is built moves file by file; a part
    without it counts as one step.
    """
    _export_parts.append((part, count))


def count_steps(space: Space) -> int:
    """How many files `build_archive` will write for `space` (its progress total)."""
    return _OWN_FILES + sum(count(space) if count else 1 for _, count in _export_parts)


def build_archive(space: Space, progress: Progress | None = None) -> bytes:
    """A ZIP of everything the space holds that its holder may take away, in memory."""
    buffer = io.BytesIO()
    write_archive(space, buffer, progress)
    return buffer.getvalue()


def write_archive(space: Space, sink, progress: Progress | None = None) -> None:
    """Write the ZIP into `sink`, a binary file that need not seek (an encrypting writer).

    `progress(done, total)` is called after each file written.
    """
    now = timezone.now()
    total = count_steps(space)
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
            ("historique.csv", lambda: _history(space)),
            ("notifications.csv", lambda: _notifications(space)),
        ):
            archive.writestr(name, build())
            step()
        for part, count in _export_parts:
            for name, content in part(space):
                archive.writestr(name, content)
                if count is not None:
                    step()
            if count is None:
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
        job = ExportJob.objects.create(space=space, requested_by=by.user, total=count_steps(space))
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
            write_archive(job.space, writer, progress=progress)
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

    def chunks() -> Iterator[bytes]:
        with job.file.open("rb") as handle:
            yield from crypto.decrypt_stream(handle, job.data_key, context=_job_context(job))

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


def _iso(value: date | datetime | None) -> str | None:
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
            "date_de_naissance": _iso(holder.birth_date),
            "sexe": holder.sex,
            "numero_de_serie_carte_vitale": holder.carte_vitale_serial,
            "adresse_e_mail_de_contact": holder.email,
            "adresse_postale": holder.postal_address,
            "identifiant_de_connexion": holder.user.email if holder.user_id else None,
            "date_de_deces": _iso(holder.death_date),
        },
        "espace": {
            "identifiant": str(space.public_id),
            "etat": space.state,
            "etat_libelle": str(space.get_state_display()),
            "cree_le": _iso(space.created_at),
            "etat_change_le": _iso(space.state_changed_at),
            "fin_du_delai_d_opposition": _iso(space.opposition_deadline),
            "cloture_le": _iso(space.closed_at),
            "archive_jusqu_au": _iso(space.retention_until),
            "suppression_definitive_prevue_le": _iso(space.deletion_due_at),
        },
        "exporte_le": _iso(now),
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def _csv(header: list[str], rows: Iterable[list]) -> bytes:
    # Semicolons and a BOM: the CSV opens as is in the spreadsheets used in France.
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8-sig")


def _history(space: Space) -> bytes:
    from acces.models import AuditEvent  # the trail lives in acces, which plugs into us

    # As the trail page: events about documents hidden from the downloader stay out.
    hidden = ["patient", "representatives"] if _has_representatives(space) else ["patient"]
    events = (
        AuditEvent.objects.filter(space=space)
        .exclude(Q(detail__has_key="hidden_from") & Q(detail__hidden_from__in=hidden))
        .order_by("occurred_at", "seq")
        .values_list("occurred_at", "actor_label", "role", "basis", "action", "outcome")
    )
    return _csv(
        ["date", "actor_label", "role", "basis", "action", "outcome"],
        (
            [
                _iso(occurred_at),
                actor_label,
                role_label(role),
                basis_label(basis) if basis else "",
                action_label(action),
                str(OUTCOME_LABELS.get(outcome, outcome)),
            ]
            for occurred_at, actor_label, role, basis, action, outcome in events.iterator()
        ),
    )


def _has_representatives(space: Space) -> bool:
    now = timezone.now()
    return space.representatives.filter(since__lte=now).exclude(until__lte=now).exists()


def _notifications(space: Space) -> bytes:
    notifications = (
        Notification.objects.filter(space=space)
        .order_by("created_at", "id")
        .values_list("created_at", "recipient__email", "address", "subject", "body", "read_at")
    )
    return _csv(
        ["date", "destinataire", "objet", "message", "lue_le"],
        (
            [_iso(created_at), recipient or address, subject, body, _iso(read_at) or ""]
            for created_at, recipient, address, subject, body, read_at in notifications.iterator()
        ),
    )


def _readme(space: Space, now: datetime) -> str:
    return render_to_string(
        "espace_sante/export_readme.txt",
        {"space": space, "holder": space.holder, "now": now, "extra_parts": bool(_export_parts)},
    )
