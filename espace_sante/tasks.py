"""Celery tasks: they take primary keys and call services."""

import logging

from celery import shared_task
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from espace_sante import emails, export, letters, lifecycle, notifications
from espace_sante.models import CodeRequest, ContactChange, Letter, ProvisionalCode, Space
from espace_sante.tracing import Actor

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=notifications.MAX_EMAIL_ATTEMPTS, ignore_result=True)
def send_notification_email(self, notification_id: int) -> str:
    try:
        return notifications.deliver(notification_id)
    except Exception as exc:
        logger.warning("notification %s: email failed (%s)", notification_id, exc)
        if self.request.is_eager:
            # In-process mode: the beat sweep retries; never fail the request that notified.
            return "pending"
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task(ignore_result=True)
def send_pending_notifications() -> int:
    """The beat sweep: send what was left over (broker outage, crashed worker)."""
    notifications.release_stale_claims()
    sent = 0
    for notification_id in notifications.due_for_retry():
        try:
            sent += notifications.deliver(notification_id) == "sent"
        except Exception as exc:  # one bad address must not stop the sweep
            logger.warning("notification %s: email failed again (%s)", notification_id, exc)
    return sent


@shared_task(bind=True, max_retries=5, ignore_result=True)
def deliver_code(
    self, space_id: int, kind: str, request_id: int | None = None, by_letter: bool = False
) -> str:
    """Issue a provisional code and send it, by email or as a letter, in one transaction.

    Where it goes is `lifecycle.code_delivery`'s decision (by letter only for 30 days
    after an agent changed the contact details, or when the request asks for a letter).
    If sending fails the code is rolled back with it and the task retries with a new
    one, so a code exists only where it was delivered. With `request_id` (a
    `CodeRequest`), the request is claimed first, so a task queued twice sends one
    code, and it is marked done in the transaction that issues the code.
    """
    if request_id is not None:
        if not _claim_code_request(request_id):
            return "skipped"
        by_letter = CodeRequest.objects.filter(pk=request_id, by_letter=True).exists()
    space = Space.objects.select_related("holder__user").get(pk=space_id)
    holder = space.holder
    delivery = lifecycle.code_delivery(space, by_letter=by_letter)
    if not delivery.channel:
        logger.warning("space %s: code withheld (recent contact change, no address)", space_id)
        return "withheld"
    address = delivery.email if delivery.channel == ProvisionalCode.Channel.EMAIL else ""
    validity = None
    if kind == "announcement" and space.opposition_deadline:
        validity = max(space.opposition_deadline - timezone.now(), Space.OPPOSITION_WINDOW / 6)
    channel = delivery.channel
    try:
        with transaction.atomic():
            code = lifecycle.issue_code(
                space=space, channel=channel, by=Actor.system(), valid_for=validity
            )
            if request_id is not None:
                CodeRequest.objects.filter(pk=request_id).update(
                    state=CodeRequest.State.DONE, done_at=timezone.now()
                )
            if address:
                subject, body = emails.render(
                    f"code_{kind}",
                    {
                        "holder": holder,
                        "code": code,
                        "space": space,
                        "deadline": space.opposition_deadline,
                    },
                )
                emails.send(to=address, subject=subject, body=body)
            else:
                letters.produce(
                    space=space,
                    kind=Letter.Kind(_LETTER_KIND[kind]),
                    code=code,
                    postal_address=delivery.postal_address,
                )
    except Exception as exc:
        logger.warning("space %s: code delivery failed (%s)", space_id, exc)
        if request_id is not None:  # the retry, or the sweep, claims it again
            CodeRequest.objects.filter(pk=request_id, state=CodeRequest.State.CLAIMED).update(
                state=CodeRequest.State.PENDING, claimed_at=None
            )
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
    return channel


@shared_task(bind=True, max_retries=5, ignore_result=True)
def send_contact_change_letter(self, change_id: int) -> str:
    """Tell a person without an email, by letter to their former postal address, that an
    agent changed their contact details (no code, nothing medical)."""
    change = ContactChange.objects.select_related("patient__space").get(pk=change_id)
    space = getattr(change.patient, "space", None)
    if space is None or not change.previous_postal_address.strip():
        return "no_address"
    if (
        Letter.objects.filter(space=space, kind=Letter.Kind.CONTACT_CHANGED)
        .filter(created_at__gte=change.changed_at)
        .exists()
    ):
        return "done"  # a retry after the letter was stored
    try:
        with transaction.atomic():  # no letter row left without its file
            letters.produce(
                space=space,
                kind=Letter.Kind.CONTACT_CHANGED,
                code="",
                postal_address=change.previous_postal_address,
                context={"changed_at": change.changed_at},
            )
    except Exception as exc:
        logger.warning("contact change %s: letter failed (%s)", change_id, exc)
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
    return "letter"


_LETTER_KIND = {"announcement": "announcement", "new_code": "new_code", "handover": "handover"}


def _claim_code_request(request_id: int) -> bool:
    return bool(
        CodeRequest.objects.filter(pk=request_id, state=CodeRequest.State.PENDING).update(
            state=CodeRequest.State.CLAIMED, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
    )


def request_code(*, space: Space, kind: str, by_letter: bool = False) -> CodeRequest:
    """Record that a code must be issued and sent to `space`, and queue its delivery.

    The request is written in the caller's transaction and queued once it commits;
    a broker that is down is logged, never raised, and `requeue_lost_tasks` queues
    the request again. `kind` names the email or letter (announcement, new_code...).
    """
    request = CodeRequest.objects.create(space=space, kind=kind, by_letter=by_letter)
    what = f"code request {request.pk}"
    transaction.on_commit(
        lambda: publish(deliver_code, space.pk, kind, request.pk, what=what), robust=True
    )
    return request


PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
PUBLISH_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}


def publish(task, *args, what: str) -> bool:
    """Queue `task`; False, logged, when the broker cannot take it (the sweep will)."""
    app = task.app
    try:
        if app.conf.task_always_eager:
            task.delay(*args)
            return True
        # A connection of its own with short timeouts: a broker that stopped answering
        # must not hold the request (the shared pool's connections wait forever), and one
        # quick retry, not Celery's default three.
        options = {**(app.conf.broker_transport_options or {}), **PUBLISH_TIMEOUTS}
        with app.connection_for_write(transport_options=options) as connection:
            task.apply_async(args, connection=connection, retry_policy=PUBLISH_RETRY_POLICY)
    except OperationalError as exc:
        logger.error("%s: not queued, left to the sweep (%s)", what, exc)
        return False
    except Exception as exc:  # in eager mode the task ran here, and failed: it is retried later
        logger.warning("%s: failed (%s)", what, exc)
    return True


@shared_task(ignore_result=True)
def requeue_lost_tasks() -> int:
    """The beat sweep: queue again the work whose task the broker lost (outage, crash).

    Code requests still pending a while after they were queued (or claimed by a
    worker that died), and archives still waiting a few minutes after they were
    asked for. Tasks claim their work, so queuing twice sends one code, builds one archive.
    """
    now = timezone.now()
    CodeRequest.objects.stale_claims(now).update(state=CodeRequest.State.PENDING, claimed_at=None)
    failed = CodeRequest.objects.filter(
        state=CodeRequest.State.PENDING, attempts__gte=CodeRequest.MAX_ATTEMPTS
    ).update(state=CodeRequest.State.FAILED)
    if failed:
        logger.error("%d code requests given up after many attempts", failed)
    queued = 0
    for request in CodeRequest.objects.to_requeue(now).order_by("queued_at")[:1000]:
        what = f"code request {request.pk}"
        CodeRequest.objects.filter(pk=request.pk).update(queued_at=now)
        if not publish(deliver_code, request.space_id, request.kind, request.pk, what=what):
            return queued  # the broker is still away: the next sweep tries again
        queued += 1
    for job_id in export.jobs_to_requeue(now=now):
        if not publish(build_export, job_id, what=f"export job {job_id}"):
            return queued
        queued += 1
    return queued


@shared_task(ignore_result=True)
def sweep_announced_spaces() -> int:
    return lifecycle.sweep_announced()


@shared_task(ignore_result=True)
def close_unchallenged_suspensions() -> int:
    return lifecycle.close_unchallenged_suspensions()


@shared_task(ignore_result=True)
def hand_over_adults() -> int:
    return lifecycle.hand_over_adults()


@shared_task(ignore_result=True)
def destroy_due_spaces() -> int:
    return lifecycle.destroy_due()


@shared_task(ignore_result=True)
def build_export(job_id: int) -> str:
    return export.run_job(job_id)


@shared_task(ignore_result=True)
def purge_exports() -> int:
    return export.purge_exports()
