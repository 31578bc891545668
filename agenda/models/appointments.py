"""Appointments of a space: who with, when, where, and who put them there."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Appointment(models.Model):
    """An appointment in a space's agenda. Its details (specialty, reason, comment) are
    medical content: see `agenda.appointments` for how they are kept."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Prévu")
        DONE = "done", _("Effectué")
        CANCELLED = "cancelled", _("Annulé")

    class AuthorKind(models.TextChoices):
        PATIENT = "patient", _("Patient")
        PROFESSIONAL = "professional", _("Professionnel de santé")
        APP = "app", _("Service connecté")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="appointments"
    )
    starts_at = models.DateTimeField(_("date et heure"))
    duration_minutes = models.PositiveSmallIntegerField(_("durée (minutes)"), default=30)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    professional = models.ForeignKey(
        "acces.Professional",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    author_kind = models.CharField(max_length=12, choices=AuthorKind.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("rendez-vous")
        verbose_name_plural = _("rendez-vous")
        indexes = [models.Index(fields=["space", "starts_at"])]

    def __str__(self):
        return f"Rendez-vous {self.public_id}"
