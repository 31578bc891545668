"""The patients' reports about a service, and the referencing staff's group."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from catalogue.directory.actions import DirectoryAction
from catalogue.models import Service, ServiceReport
from espace_sante import notifications
from espace_sante.models import User
from espace_sante.tracing import Actor, trace

REFERENCING_GROUP = "Référencement des services"
# The referencing staff manages the catalogue's services and reads the reports: nothing else
# (no space, no patient, no connection, no token).
REFERENCING_MODELS = [
    "service",
    "servicetheme",
    "purpose",
    "purposescope",
    "servicereport",
    "software",  # professionals' software: the registry, never their tokens
]
REFERENCING_PERMISSIONS = [
    ("catalogue", f"{verb}_{model}")
    for model in REFERENCING_MODELS
    for verb in ("view", "add", "change", "delete")
    if not (model == "servicereport" and verb in ("add", "delete"))
]


def referencing_group() -> Group:
    group, _ = Group.objects.get_or_create(name=REFERENCING_GROUP)
    group.permissions.set(
        [
            Permission.objects.get(content_type__app_label=app, codename=code)
            for app, code in REFERENCING_PERMISSIONS
        ]
    )
    return group


@transaction.atomic
def create_referencing_staff(
    *, email: str, first_name: str, last_name: str, password: str, by: Actor
) -> User:
    """A staff account of the referencing team: admin access, the group's permissions only."""
    user = User(
        email=email.lower(),
        first_name=first_name,
        last_name=last_name,
        kind=User.Kind.AGENT,
        is_staff=True,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    user.groups.add(referencing_group())
    trace(actor=by, action=DirectoryAction.STAFF_CREATED, target=user)
    return user


def referencing_staff() -> list[User]:
    return list(User.objects.filter(groups__name=REFERENCING_GROUP, is_active=True, is_staff=True))


@transaction.atomic
def report_service(*, service: Service, by: Actor, reason: str, message: str) -> ServiceReport:
    """Record a patient's report and tell the referencing staff (no message in the email:
    the report is read in the admin)."""
    report = ServiceReport.objects.create(
        service=service, reported_by=by.user, reason=reason, message=message
    )
    trace(
        actor=by,
        action=DirectoryAction.SERVICE_REPORTED,
        target=report,
        detail={"service": service.slug, "reason": reason},
    )
    link = reverse("admin:catalogue_servicereport_change", args=[report.pk])
    for staff in referencing_staff():
        notifications.notify(
            recipient=staff,
            template="catalogue_report",
            context={"service_name": service.name, "reason": report.get_reason_display()},
            link=link,
        )
    return report


@transaction.atomic
def mark_handled(*, report: ServiceReport, by: Actor) -> bool:
    """Mark a report handled once; False if it already was."""
    done = ServiceReport.objects.filter(pk=report.pk, handled_at__isnull=True).update(
        handled_at=timezone.now()
    )
    if done:
        trace(actor=by, action=DirectoryAction.REPORT_HANDLED, target=report)
    return bool(done)
