"""Appointments of a space: who with, when, where, and who put them there; the iCalendar
feeds through which a person reads them in their own calendar (`agenda.appointments`).

What an appointment is about (the name of the professional or establishment typed by
hand, the place, the specialty, the reason, the comment) is medical content: it is
encrypted at rest under the appointment's own data key (`agenda.appointments.sealing`),
as messages' bodies are. The clear columns say when, how long, its status, which
directory professional it is with (a key the policy and the pro portal need, as
messaging keeps who wrote to whom in clear) and who added it, which the audit trail
says as well. `__str__` never carries content.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The part of the space the policy reads an appointment as (`acces.targets.part_of`).
APPOINTMENT_PART = "appointment"
FEED_PART = "calendar_feed"


class AppointmentQuerySet(models.QuerySet):
    def of(self, space):
        return self.filter(space=space)

    def planned(self):
        return self.filter(status=Appointment.Status.PLANNED)

    def coming(self, now=None):
        return self.planned().filter(starts_at__gte=now or timezone.now())

    def between(self, start, end):
        return self.filter(starts_at__gte=start, starts_at__lt=end)


class Appointment(models.Model):
    """An appointment in a space's agenda. Its details (specialty, reason, comment) are
    medical content: see `agenda.appointments.sealing` for how they are kept."""

    part = APPOINTMENT_PART

    class Status(models.TextChoices):
        PLANNED = "planned", _("Prévu")
        DONE = "done", _("Effectué")
        CANCELLED = "cancelled", _("Annulé")

    class AuthorKind(models.TextChoices):
        PATIENT = "patient", _("Patient")
        PROFESSIONAL = "professional", _("Professionnel de santé")
        APP = "app", _("Service connecté")

    class WithKind(models.TextChoices):
        DIRECTORY = "directory", _("Un professionnel de l'annuaire")
        PRACTITIONER = "practitioner", _("Un professionnel (saisi librement)")
        ESTABLISHMENT = "establishment", _("Un établissement de santé")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="appointments"
    )
    starts_at = models.DateTimeField(_("date et heure"))
    duration_minutes = models.PositiveSmallIntegerField(_("durée (minutes)"), default=30)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    with_kind = models.CharField(
        _("avec"), max_length=16, choices=WithKind.choices, default=WithKind.PRACTITIONER
    )
    professional = models.ForeignKey(
        "acces.Professional",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    author_kind = models.CharField(max_length=12, choices=AuthorKind.choices)
    # Who added it: the patient's or representative's account, the professional's; for an
    # app, its client id in `source`.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    # The sealed details (JSON: name, place, specialty, reason, comment).
    data_key = models.ForeignKey(
        "espace_sante.DataKey", null=True, on_delete=models.PROTECT, related_name="+"
    )
    details_ciphertext = models.BinaryField(null=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The day-before reminder: claimed by a conditional update, so it leaves once.
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("rendez-vous")
        verbose_name_plural = _("rendez-vous")
        indexes = [
            models.Index(fields=["space", "starts_at"]),
            # The reminder sweep reads planned appointments of a day, not yet reminded.
            models.Index(
                fields=["starts_at"],
                name="agenda_appt_to_remind",
                condition=Q(status="planned", reminder_sent_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"Rendez-vous {self.public_id}"

    @property
    def ends_at(self):
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def is_planned(self) -> bool:
        return self.status == self.Status.PLANNED


class CalendarFeedQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True)


class CalendarFeed(models.Model):
    """A person's secret iCalendar address for one space's agenda.

    Only the SHA-256 of the token is stored: the address is shown once, when it is made;
    renewing revokes it and makes a new one. A revoked feed stays, so that its use is
    refused (404) and traced in the space's trail.
    """

    part = FEED_PART

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="calendar_feeds"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    include_details = models.BooleanField(_("inclure les détails des rendez-vous"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        verbose_name = _("flux iCalendar")
        verbose_name_plural = _("flux iCalendar")
        constraints = [
            models.UniqueConstraint(
                fields=["space", "user"],
                condition=Q(revoked_at__isnull=True),
                name="agenda_one_live_feed_per_person",
            )
        ]

    def __str__(self):
        return f"Flux {self.public_id}"
