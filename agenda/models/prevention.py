"""Prevention rules (kept as data) and each person's reminders (`agenda.prevention`).

- `PreventionRule`: one item of an official programme (a vaccine dose, a screening, an
  examination), loaded by data migrations with its source and date; a later calendar adds
  rules of a new `version` and retires the old ones (`active=False`), it never edits what
  a person already marked done (`PreventionMark` keeps the version it was marked under);
- `PreventionMark`: the person's own answer on an item: done on a date, or "ne me
  concerne pas";
- `PreventionPreference`: the programmes a person turned off and the conditions declared;
- `PreventionStatus`: what the nightly computation keeps per space (the next date anything
  changes, what was notified), so a day's run reads only the spaces that change.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Programme(models.TextChoices):
    VACCINATION = "vaccination", _("Vaccinations")
    BREAST = "depistage_sein", _("Dépistage du cancer du sein")
    COLORECTAL = "depistage_colorectal", _("Dépistage du cancer colorectal")
    CERVIX = "depistage_col", _("Dépistage du cancer du col de l'utérus")
    BILAN = "bilan_prevention", _("Mon bilan prévention")
    CHILD = "examens_enfant", _("Examens obligatoires de l'enfant")
    DENTAL = "mt_dents", _("M'T dents (examens bucco-dentaires)")


class Requirement(models.TextChoices):
    MANDATORY = "obligatoire", _("Obligatoire")
    RECOMMENDED = "recommande", _("Recommandé")


class PreventionRule(models.Model):
    """One item of a prevention programme, for whom, when, and on whose word.

    Ages are from the birth date: `start_months` (+ `start_days`) opens the window,
    `end_months` (+ `end_days`, exclusive) closes the recommended window, and
    `catchup_months` (exclusive) ends the catch-up, after which an item not done no longer
    applies (none: open-ended). A recurring rule (`interval_months`) comes back that long
    after the last time it was done, within its age band; a seasonal one each autumn.
    """

    code = models.SlugField(_("code"), max_length=40)
    version = models.CharField(_("version du calendrier"), max_length=10)
    active = models.BooleanField(_("en vigueur"), default=True)
    programme = models.CharField(_("programme"), max_length=24, choices=Programme.choices)
    series = models.SlugField(_("série"), max_length=40)
    order = models.PositiveSmallIntegerField(_("ordre"), default=0)
    label = models.CharField(_("libellé"), max_length=200)
    sex = models.CharField(_("sexe"), max_length=1, blank=True)  # "", "F" or "M"
    start_months = models.PositiveSmallIntegerField(_("âge de début (mois)"))
    start_days = models.PositiveSmallIntegerField(_("jours en plus"), default=0)
    end_months = models.PositiveSmallIntegerField(_("âge de fin (mois)"), null=True, blank=True)
    end_days = models.PositiveSmallIntegerField(_("jours en plus"), default=0)
    catchup_months = models.PositiveSmallIntegerField(
        _("fin du rattrapage (mois)"), null=True, blank=True
    )
    conditions = models.JSONField(_("situations déclarées"), default=list, blank=True)
    condition_start_months = models.PositiveSmallIntegerField(
        _("âge de début avec une situation déclarée (mois)"), null=True, blank=True
    )
    condition_only = models.BooleanField(_("seulement avec une situation déclarée"), default=False)
    interval_months = models.PositiveSmallIntegerField(
        _("intervalle (mois)"), null=True, blank=True
    )
    first_interval_months = models.PositiveSmallIntegerField(
        _("intervalle après la première fois (mois)"), null=True, blank=True
    )
    seasonal = models.BooleanField(_("chaque automne"), default=False)
    doses = models.PositiveSmallIntegerField(_("nombre de doses"), default=1)
    after_previous_months = models.PositiveSmallIntegerField(
        _("délai après la dose précédente (mois)"), null=True, blank=True
    )
    previous_series = models.SlugField(_("série précédente"), max_length=40, blank=True)
    after_previous_series_months = models.PositiveSmallIntegerField(
        _("délai après la série précédente (mois)"), null=True, blank=True
    )
    requirement = models.CharField(_("niveau"), max_length=12, choices=Requirement.choices)
    why = models.TextField(_("pourquoi"))
    source_title = models.CharField(_("source"), max_length=300)
    source_url = models.URLField(_("adresse de la source"), max_length=300, blank=True)
    source_date = models.DateField(_("date de la source"))
    vaccine_terms = models.JSONField(_("noms de vaccins"), default=list, blank=True)
    loinc_codes = models.JSONField(_("types de documents (LOINC)"), default=list, blank=True)
    care_codes = models.JSONField(_("codes de soins"), default=list, blank=True)

    class Meta:
        verbose_name = _("règle de prévention")
        verbose_name_plural = _("règles de prévention")
        ordering = ["programme", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="prevention_rule_version"),
        ]

    def __str__(self):
        return f"{self.code} ({self.version})"


class PreventionMark(models.Model):
    """The person's answer on one item: done (on `done_on`) or "ne me concerne pas"."""

    class Kind(models.TextChoices):
        DONE = "done", _("Fait")
        NOT_CONCERNED = "not_concerned", _("Ne me concerne pas")

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.CASCADE, related_name="prevention_marks"
    )
    rule_code = models.SlugField(max_length=40)
    rule_version = models.CharField(max_length=10)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    done_on = models.DateField(_("date"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("réponse à un rappel de prévention")
        verbose_name_plural = _("réponses aux rappels de prévention")
        indexes = [models.Index(fields=["space", "rule_code"])]
        constraints = [
            models.UniqueConstraint(
                fields=["space", "rule_code"],
                condition=Q(kind="not_concerned"),
                name="prevention_mark_one_refusal",
            ),
            models.CheckConstraint(
                condition=Q(kind="not_concerned") | Q(done_on__isnull=False),
                name="prevention_mark_done_has_date",
            ),
        ]

    def __str__(self):
        return f"Réponse {self.pk}"


class PreventionPreference(models.Model):
    """The programmes whose reminders a person turned off, and the conditions declared."""

    space = models.OneToOneField(
        "espace_sante.Space", on_delete=models.CASCADE, related_name="prevention_preference"
    )
    programmes_off = models.JSONField(default=list, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("choix de prévention")
        verbose_name_plural = _("choix de prévention")

    def __str__(self):
        return f"Choix de prévention {self.pk}"


class PreventionStatus(models.Model):
    """The nightly computation's memory of one space: when to look again, what was told."""

    space = models.OneToOneField(
        "espace_sante.Space",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="prevention_status",
    )
    next_check_on = models.DateField()
    computed_on = models.DateField()
    due_count = models.PositiveSmallIntegerField(default=0)
    last_notified_on = models.DateField(null=True, blank=True)
    # Item keys already notified as due, and as closing soon (so each is told once).
    notified_due = models.JSONField(default=list, blank=True)
    notified_closing = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("calcul des rappels de prévention")
        verbose_name_plural = _("calculs des rappels de prévention")
        indexes = [models.Index(fields=["next_check_on"])]

    def __str__(self):
        return f"Calcul de prévention {self.pk}"
