"""The DMP: reference document types (LOINC), documents and their visibility flags.

`__str__` never carries medical content (titles stay out of the admin's history).
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acces.targets import DOCUMENT_PART
from dossier.validation import EXTENSIONS


class Category(models.TextChoices):
    PRESCRIPTIONS = "prescriptions", _("Ordonnances et dispensations")
    BIOLOGY = "biology", _("Résultats de biologie")
    IMAGING = "imaging", _("Imagerie")
    REPORTS = "reports", _("Comptes rendus de consultation et d'hospitalisation")
    DISCHARGE = "discharge", _("Lettres de liaison et de sortie")
    VACCINATIONS = "vaccinations", _("Vaccinations")
    CERTIFICATES = "certificates", _("Certificats")
    SUMMARIES = "summaries", _("Synthèses médicales")
    OCCUPATIONAL = "occupational", _("Santé au travail")
    PATIENT = "patient", _("Mes documents personnels")


class DocumentType(models.Model):
    """A kind of document, keyed by its LOINC code (the matrix of access keys on it)."""

    code = models.CharField(_("code LOINC"), max_length=16, primary_key=True)
    label = models.CharField(_("libellé"), max_length=150)
    category = models.CharField(_("catégorie"), max_length=16, choices=Category.choices)
    patient_may_add = models.BooleanField(_("le patient peut en ajouter"), default=False)

    class Meta:
        verbose_name = _("type de document")
        verbose_name_plural = _("types de documents")
        ordering = ["category", "label"]

    def __str__(self):
        return f"{self.label} ({self.code})"


class Document(models.Model):
    """One document of a DMP, its file encrypted at rest under its own data key."""

    # The part of the space the policy reads it as (`acces.targets.DocumentTarget`).
    part = DOCUMENT_PART

    class Source(models.TextChoices):
        PATIENT = "patient", _("Ajouté par le patient")
        PROFESSIONAL = "professional", _("Ajouté par un professionnel")
        IMPORT = "import", _("Repris de l'ancien DMP")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="documents"
    )
    type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, related_name="+")
    # Denormalised from the type so the policy filters without a join.
    type_code = models.CharField(max_length=16, editable=False)
    category = models.CharField(max_length=16, choices=Category.choices, editable=False)
    title = models.CharField(_("titre"), max_length=200)
    act_date = models.DateField(_("date de l'acte"))
    source = models.CharField(max_length=16, choices=Source.choices)
    # Who put it here; none for a document taken back from an old DMP by the system.
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_professional = models.ForeignKey(
        "acces.Professional", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_label = models.CharField(_("auteur"), max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    content_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    data_key = models.ForeignKey("espace_sante.DataKey", on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="documents/%Y/%m/", max_length=200)
    masked = models.BooleanField(_("masqué aux professionnels"), default=False)
    invisible_to_patient = models.BooleanField(_("invisible du patient"), default=False)
    invisible_to_representatives = models.BooleanField(
        _("invisible des représentants légaux"), default=False
    )
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    is_current = models.BooleanField(default=True)
    # The identifier the author's software gave the document (FHIR `masterIdentifier`, the
    # CDA's id): the same document sent twice, or by messaging and by the API, is stored once.
    master_identifier = models.CharField(
        max_length=200, blank=True, default="", db_default="", editable=False
    )

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-act_date", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(masked=True, invisible_to_patient=True),
                name="document_not_masked_and_invisible_to_patient",
            ),
            models.UniqueConstraint(
                fields=["space", "master_identifier"],
                condition=~Q(master_identifier=""),
                name="document_master_identifier_once_per_space",
            ),
        ]
        indexes = [
            models.Index(fields=["space", "is_current", "-act_date"]),
            models.Index(fields=["space", "category"]),
        ]

    def __str__(self):
        return f"Document {self.public_id}"

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.content_type, "bin")


# --- Medical profile --------------------------------------------------------------------
# One row per space for the single-valued parts, one model per repeating part.
# `__str__` names the row only: allergies or treatments never reach the admin's history.


class BloodGroup(models.TextChoices):
    A_POS = "A+", "A+"
    A_NEG = "A-", "A−"
    B_POS = "B+", "B+"
    B_NEG = "B-", "B−"
    AB_POS = "AB+", "AB+"
    AB_NEG = "AB-", "AB−"
    O_POS = "O+", "O+"
    O_NEG = "O-", "O−"
    UNKNOWN = "inconnu", _("Inconnu")


class DonationChoice(models.TextChoices):
    ACCEPTS = "accepte", _("J'accepte le don d'organes et de tissus")
    REFUSES = "refuse", _("Je refuse le don d'organes et de tissus")
    UNDECIDED = "ne_se_prononce_pas", _("Je ne me prononce pas")


class MedicalProfile(models.Model):
    """The single-valued parts of a space's medical profile."""

    space = models.OneToOneField(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="medical_profile"
    )
    blood_group = models.CharField(
        _("groupe sanguin"), max_length=8, choices=BloodGroup.choices, default=BloodGroup.UNKNOWN
    )
    disabilities = models.TextField(_("handicaps"), blank=True)
    trusted_person_name = models.CharField(_("nom"), max_length=200, blank=True)
    trusted_person_phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    trusted_person_relation = models.CharField(_("lien"), max_length=100, blank=True)
    advance_directives = models.TextField(_("directives anticipées"), blank=True)
    donation_choice = models.CharField(
        _("don d'organes et de tissus"), max_length=20, choices=DonationChoice.choices, blank=True
    )
    donation_date = models.DateField(_("date du choix"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("profil médical")
        verbose_name_plural = _("profils médicaux")

    def __str__(self):
        return f"Profil médical {self.pk}"


class Allergy(models.Model):
    class Severity(models.TextChoices):
        MILD = "mild", _("Légère")
        MODERATE = "moderate", _("Modérée")
        SEVERE = "severe", _("Sévère")

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="profile_allergies"
    )
    substance = models.CharField(_("substance"), max_length=200)
    reaction = models.CharField(_("réaction"), max_length=200, blank=True)
    severity = models.CharField(
        _("gravité"), max_length=10, choices=Severity.choices, default=Severity.MODERATE
    )

    class Meta:
        verbose_name = _("allergie")
        ordering = ["substance", "pk"]

    def __str__(self):
        return f"Allergie {self.pk}"


class HistoryEntry(models.Model):
    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Antécédent personnel")
        FAMILY = "family", _("Antécédent familial")

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="profile_history"
    )
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    condition = models.CharField(_("maladie ou intervention"), max_length=200)
    year = models.PositiveSmallIntegerField(_("année"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("antécédent")
        ordering = ["kind", "-year", "pk"]

    def __str__(self):
        return f"Antécédent {self.pk}"

    def clean(self):
        if self.year is not None and not 1900 <= self.year <= timezone.localdate().year:
            raise ValidationError(
                {"year": _("L'année doit être comprise entre 1900 et l'année en cours.")}
            )


class Treatment(models.Model):
    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="profile_treatments"
    )
    medicine = models.CharField(_("médicament"), max_length=200)
    dosage = models.CharField(_("posologie"), max_length=200, blank=True)
    since = models.DateField(_("depuis le"), null=True, blank=True)
    prescriber = models.CharField(_("prescrit par"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("traitement")
        ordering = ["medicine", "pk"]

    def __str__(self):
        return f"Traitement {self.pk}"

    def clean(self):
        if self.since and self.since > timezone.localdate():
            raise ValidationError(
                {"since": _("La date de début du traitement ne peut pas être dans le futur.")}
            )


class Vaccination(models.Model):
    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="profile_vaccinations"
    )
    vaccine = models.CharField(_("vaccin"), max_length=200)
    date = models.DateField(_("date"))
    lot = models.CharField(_("numéro de lot"), max_length=50, blank=True)
    given_by = models.CharField(_("administré par"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("vaccination")
        ordering = ["-date", "pk"]

    def __str__(self):
        return f"Vaccination {self.pk}"

    def clean(self):
        # The profile records vaccinations given; a planned one goes in the agenda.
        if self.date and self.date > timezone.localdate():
            raise ValidationError(
                {"date": _("La date de la vaccination ne peut pas être dans le futur.")}
            )


class Measurement(models.Model):
    """One measurement; blood pressure carries its diastolic value in `value2`."""

    class Kind(models.TextChoices):
        WEIGHT = "weight", _("Poids (kg)")
        HEIGHT = "height", _("Taille (cm)")
        BLOOD_PRESSURE = "blood_pressure", _("Tension artérielle (mmHg)")
        GLYCAEMIA = "glycaemia", _("Glycémie (g/L)")

    # Plausible bounds: outside them the value is a typing mistake, not a measurement.
    BOUNDS = {
        Kind.WEIGHT: (
            Decimal("0.5"),
            Decimal("500"),
            _("Le poids doit être compris entre 0,5 et 500 kg."),
        ),
        Kind.HEIGHT: (
            Decimal("20"),
            Decimal("260"),
            _("La taille doit être comprise entre 20 et 260 cm."),
        ),
        Kind.BLOOD_PRESSURE: (
            Decimal("50"),
            Decimal("300"),
            _("La tension systolique doit être comprise entre 50 et 300 mmHg."),
        ),
        Kind.GLYCAEMIA: (
            Decimal("0.1"),
            Decimal("10"),
            _("La glycémie doit être comprise entre 0,1 et 10 g/L."),
        ),
    }
    DIASTOLIC_BOUNDS = (Decimal("20"), Decimal("200"))

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="profile_measurements"
    )
    kind = models.CharField(_("mesure"), max_length=16, choices=Kind.choices)
    value = models.DecimalField(_("valeur"), max_digits=6, decimal_places=2)
    value2 = models.DecimalField(
        _("tension diastolique (mmHg)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    measured_on = models.DateField(_("date de la mesure"))

    class Meta:
        verbose_name = _("mesure")
        ordering = ["measured_on", "pk"]
        indexes = [models.Index(fields=["space", "kind", "measured_on"])]

    def __str__(self):
        return f"Mesure {self.pk}"

    def clean(self):
        errors = {}
        bounds = self.BOUNDS.get(self.kind)
        if bounds and self.value is not None and not bounds[0] <= self.value <= bounds[1]:
            errors["value"] = bounds[2]
        if self.kind == self.Kind.BLOOD_PRESSURE:
            low, high = self.DIASTOLIC_BOUNDS
            if self.value2 is None:
                errors["value2"] = _("Indiquez la tension diastolique.")
            elif not low <= self.value2 <= high:
                errors["value2"] = _(
                    "La tension diastolique doit être comprise entre 20 et 200 mmHg."
                )
        elif self.value2 is not None:
            errors["value2"] = _("Seule la tension artérielle a une seconde valeur.")
        if self.measured_on and self.measured_on > timezone.localdate():
            errors["measured_on"] = _("La date de la mesure ne peut pas être dans le futur.")
        if errors:
            raise ValidationError(errors)


class EmergencyContact(models.Model):
    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="profile_emergency_contacts"
    )
    name = models.CharField(_("nom"), max_length=200)
    phone = models.CharField(_("téléphone"), max_length=30)
    relation = models.CharField(_("lien"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("personne à prévenir en cas d'urgence")
        ordering = ["pk"]

    def __str__(self):
        return f"Contact d'urgence {self.pk}"


class ProfileChange(models.Model):
    """History of the profile: what was added, changed or removed, by whom, with the new values.

    `summary` is medical content: shown in the profile pages only.
    """

    class Action(models.TextChoices):
        ADDED = "added", _("Ajout")
        CHANGED = "changed", _("Modification")
        REMOVED = "removed", _("Suppression")

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="profile_changes"
    )
    part = models.CharField(max_length=32)
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)
    by_label = models.CharField(max_length=200)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("modification du profil")
        verbose_name_plural = _("modifications du profil")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["space", "-at"])]

    def __str__(self):
        return f"Modification du profil {self.pk}"
