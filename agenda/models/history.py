"""Care events the Assurance Maladie holds: acts reimbursed, drugs dispensed, hospital
stays, loaded by `manage.py import_care_history` (`agenda.history`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CareEvent(models.Model):
    class Kind(models.TextChoices):
        ACT = "act", _("Acte")
        DISPENSATION = "dispensation", _("Médicament délivré")
        STAY = "stay", _("Séjour hospitalier")

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="care_events"
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("nature"), max_length=12, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=32)

    class Meta:
        verbose_name = _("événement de soins")
        verbose_name_plural = _("événements de soins")
        indexes = [models.Index(fields=["space", "date"])]

    def __str__(self):
        return f"Événement de soins {self.pk}"
