"""Care events the Assurance Maladie holds: acts reimbursed, drugs dispensed, hospital
stays, loaded by `manage.py import_care_history` (`agenda.history`).

What is medical text (the label of the act or drug, the establishment's name) is encrypted
at rest under the space's care-history data key (`CareHistoryKey`, one per space: an
import of a million rows does not create a million keys, and destroying that one key
crypto-shreds the whole history). `kind`, `code` and the date stay in clear: the prevention
engine (`agenda.prevention`) reads them to see what satisfied a reminder, and the page
filters and orders on them. The professional's RPPS and the establishment's FINESS are
public directory identifiers. `__str__` never carries content.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

# The part of a space the policy reads a care event as (a target of VIEW_CARE_HISTORY would
# say it; the pages decide on the space and filter with `CareEventAccessRule`).
CARE_HISTORY_PART = "care_history"


class CareHistoryKey(models.Model):
    """The data key under which one space's care events are encrypted."""

    space = models.OneToOneField(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="care_history_key"
    )
    data_key = models.ForeignKey("espace_sante.DataKey", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("clé de l'historique des soins")
        verbose_name_plural = _("clés de l'historique des soins")

    def __str__(self):
        return f"Clé de l'historique des soins {self.pk}"


class CareEvent(models.Model):
    class Kind(models.TextChoices):
        ACT = "act", _("Acte")
        DISPENSATION = "dispensation", _("Médicament délivré")
        STAY = "stay", _("Séjour hospitalier")

    part = CARE_HISTORY_PART

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="care_events"
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("nature"), max_length=12, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=32)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The label (and the establishment's name) as JSON, AES-256-GCM under the space's key,
    # with "care_event:<public_id>" as authenticated context (`agenda.history.sealing`).
    # Both empty for an event made in code without details (the prevention tests).
    data_key = models.ForeignKey(
        "espace_sante.DataKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    details_ciphertext = models.BinaryField(default=b"", blank=True)
    professional_rpps = models.CharField(_("RPPS du professionnel"), max_length=11, blank=True)
    professional = models.ForeignKey(
        "acces.Professional",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Le professionnel de l'annuaire dont le RPPS figure dans le fichier."),
    )
    establishment_finess = models.CharField(
        _("FINESS de l'établissement"), max_length=9, blank=True
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    import_batch = models.UUIDField(_("lot d'import"), null=True, blank=True, db_index=True)
    # What makes a row of the file the same event when the file is loaded again
    # (`agenda.history.importer.natural_key`): unique within the space. NULL, not "", for
    # an event made in code: NULLs do not collide in the unique constraint.
    natural_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("événement de soins")
        verbose_name_plural = _("événements de soins")
        indexes = [models.Index(fields=["space", "date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["space", "natural_key"], name="care_event_natural_key_per_space"
            )
        ]

    def __str__(self):
        return f"Événement de soins {self.pk}"


class CareEventAccessRule(models.Model):
    """The profession × kind of care event matrix, kept as data like the document matrix:
    a professional with a basis on a space sees the events of the kinds their profession
    has a row for (none without a row). Defaults: migration `0003_hi_care_history`,
    explained in docs/AGENDA.md."""

    profession = models.CharField(_("profession"), max_length=32)
    kind = models.CharField(_("nature"), max_length=12, choices=CareEvent.Kind.choices)

    class Meta:
        verbose_name = _("règle d'accès à l'historique des soins")
        verbose_name_plural = _("règles d'accès à l'historique des soins")
        constraints = [
            models.UniqueConstraint(
                fields=["profession", "kind"], name="care_event_rule_profession_kind"
            )
        ]

    def __str__(self):
        return f"{self.profession} : {self.kind}"
