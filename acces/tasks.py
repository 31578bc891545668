from celery import shared_task
from django.db import transaction

from acces import audit, partitions
from acces.actions import AccessAction
from espace_sante.tracing import Actor, trace


@shared_task(ignore_result=True)
def seal_audit_chains() -> int:
    new = audit.seal()
    return len(new.heads) if new else 0


@shared_task(ignore_result=True)
def create_audit_partitions() -> int:
    """Daily: the audit trail's partitions of this month and the next ones (PostgreSQL).

    Idempotent; the months it creates are traced as a system event (and logged).
    """
    created = partitions.create_months_ahead()
    if created:
        with transaction.atomic():
            trace(
                actor=Actor.system(),
                action=AccessAction.AUDIT_PARTITIONS_CREATED,
                target=("acces.auditevent", "partitions"),
                detail={"partitions": created},
            )
    return len(created)
