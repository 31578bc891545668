"""The DMP: reference document types (LOINC), documents and their visibility flags.

`__str__` never carries medical content (titles stay out of the admin's history).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
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

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-act_date", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(masked=True, invisible_to_patient=True),
                name="document_not_masked_and_invisible_to_patient",
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
        return {
            "application/pdf": "pdf",
            "image/jpeg": "jpg",
            "image/png": "png",
            "text/plain": "txt",
        }.get(self.content_type, "bin")
