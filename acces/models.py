"""Professionals, their relation to a space, and the audit trail."""

import hashlib
import json
import re
import unicodedata
from datetime import UTC, timedelta
from functools import cached_property

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acces.validators import validate_rpps


class Profession(models.TextChoices):
    MEDECIN = "medecin", _("Médecin")
    PHARMACIEN = "pharmacien", _("Pharmacien")
    INFIRMIER = "infirmier", _("Infirmier")
    SAGE_FEMME = "sage_femme", _("Sage-femme")
    CHIRURGIEN_DENTISTE = "chirurgien_dentiste", _("Chirurgien-dentiste")
    MASSEUR_KINESITHERAPEUTE = "masseur_kinesitherapeute", _("Masseur-kinésithérapeute")


class Specialty(models.TextChoices):
    NONE = "", _("Aucune")
    MEDECINE_GENERALE = "medecine_generale", _("Médecine générale")
    CARDIOLOGIE = "cardiologie", _("Cardiologie")
    MEDECINE_URGENCE = "medecine_urgence", _("Médecine d'urgence")
    MEDECINE_TRAVAIL = "medecine_travail", _("Médecine du travail")
    PEDIATRIE = "pediatrie", _("Pédiatrie")
    PSYCHIATRIE = "psychiatrie", _("Psychiatrie")
    RADIOLOGIE = "radiologie", _("Radiologie")


def normalise(text: str) -> str:
    """`Lœtitia ÉLÉONORE` → `loetitia eleonore`: lower case, no accents, ligatures spelt out."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    plain = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in plain if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The words of a name or a town, normalised: hyphens and apostrophes separate them."""
    return re.findall(r"[a-z0-9]+", normalise(text))


class Professional(models.Model):
    """A health professional, identified by their RPPS number.

    `search_name` (" last names first names ", normalised) and `search_town` are what the
    directory searches, with indexes (trigram on PostgreSQL): `refresh_search_keys` keeps
    them in step with the names and the town whenever they are written.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="professional"
    )
    rpps = models.CharField(
        _("numéro RPPS"), max_length=11, unique=True, validators=[validate_rpps]
    )
    profession = models.CharField(_("profession"), max_length=32, choices=Profession.choices)
    specialty = models.CharField(
        _("spécialité"), max_length=32, choices=Specialty.choices, blank=True
    )
    practice_name = models.CharField(_("lieu d'exercice"), max_length=200, blank=True)
    practice_town = models.CharField(_("commune d'exercice"), max_length=100, blank=True)
    search_name = models.CharField(max_length=310, editable=False, default="")
    search_town = models.CharField(max_length=100, editable=False, default="")

    class Meta:
        verbose_name = _("professionnel de santé")
        verbose_name_plural = _("professionnels de santé")

    def __str__(self):
        return f"{self.user.get_full_name()} ({self.get_profession_display()})"

    def save(self, *args, **kwargs):
        self.refresh_search_keys()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_name", "search_town"}
        super().save(*args, **kwargs)

    def refresh_search_keys(self) -> None:
        user = self.user
        self.search_name = f" {' '.join(words(user.last_name) + words(user.first_name))} "
        self.search_town = " ".join(words(self.practice_town))[:100]

    @property
    def is_occupational_physician(self) -> bool:
        """She acts only as such: on the occupational-health part, after the worker's consent."""
        return self.specialty == Specialty.MEDECINE_TRAVAIL

    @cached_property
    def emergency_modes(self) -> list[str]:
        """The emergency accesses the pro portal offers this professional (`acces.policy`)."""
        from acces.policy import emergency_modes_for  # the policy imports this module

        return emergency_modes_for(self)

    @cached_property  # named in every audit event a professional writes: worked out once
    def title(self) -> str:
        """How the professional is named to a patient: name, profession, specialty."""
        label = self.get_profession_display()
        if self.specialty:
            label = f"{label}, {self.get_specialty_display().lower()}"
        prefix = "Dr " if self.profession == Profession.MEDECIN else ""
        return f"{prefix}{self.user.get_full_name()} — {label}"


class CareRelationQuerySet(models.QuerySet):
    def live(self):
        """Relations not ended (whether they open the space now is the policy's business)."""
        return self.filter(ended_at__isnull=True)


class CareRelation(models.Model):
    """Why a professional may see a space: attending physician, authorisation, care team."""

    class Basis(models.TextChoices):
        ATTENDING = "attending", _("Médecin traitant")
        AUTHORISED = "authorised", _("Autorisation du patient")
        CARE_TEAM = "care_team", _("Équipe de soins")
        OCCUPATIONAL = "occupational", _("Médecine du travail")

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.CASCADE, related_name="care_relations"
    )
    professional = models.ForeignKey(
        Professional, on_delete=models.CASCADE, related_name="care_relations"
    )
    basis = models.CharField(max_length=16, choices=Basis.choices)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # When the professional declared that the patient consented (care team, occupational).
    consent_declared_at = models.DateTimeField(null=True, blank=True)

    objects = CareRelationQuerySet.as_manager()

    class Meta:
        verbose_name = _("relation de soins")
        verbose_name_plural = _("relations de soins")
        constraints = [
            models.UniqueConstraint(
                fields=["space", "professional", "basis"],
                condition=models.Q(ended_at__isnull=True),
                name="one_live_relation_per_basis",
            ),
            models.UniqueConstraint(
                fields=["space"],
                condition=models.Q(ended_at__isnull=True, basis="attending"),
                name="one_attending_physician",
            ),
        ]

    def __str__(self):
        return f"Relation {self.pk} ({self.basis})"


class AccessSettings(models.Model):
    """The patient's switches on emergency access; no row means the defaults (both on)."""

    space = models.OneToOneField(
        "espace_sante.Space", on_delete=models.CASCADE, related_name="access_settings"
    )
    # Bris de glace: a professional in an emergency may open the record with a written reason.
    emergency_access = models.BooleanField(_("accès en urgence (bris de glace)"), default=True)
    # The SAMU's regulating physician (centre 15) may open it during a call.
    samu_access = models.BooleanField(_("accès du médecin régulateur du SAMU"), default=True)
    # "Mask everything, emergencies included": masked documents stay hidden in emergencies too.
    masked_from_emergencies = models.BooleanField(
        _("documents masqués cachés aussi en urgence"), default=False
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("réglages d'accès en urgence")
        verbose_name_plural = _("réglages d'accès en urgence")

    def __str__(self):
        return f"Réglages d'accès {self.pk}"


class BlockQuerySet(models.QuerySet):
    def active(self):
        """Blocks in force: not lifted."""
        return self.filter(lifted_at__isnull=True)


class Block(models.Model):
    """A professional the patient blocked: a block beats every other basis."""

    space = models.ForeignKey("espace_sante.Space", on_delete=models.CASCADE, related_name="blocks")
    professional = models.ForeignKey(Professional, on_delete=models.CASCADE, related_name="blocks")
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)

    objects = BlockQuerySet.as_manager()

    class Meta:
        verbose_name = _("professionnel bloqué")
        verbose_name_plural = _("professionnels bloqués")
        constraints = [
            models.UniqueConstraint(
                fields=["space", "professional"],
                condition=models.Q(lifted_at__isnull=True),
                name="one_live_block",
            ),
        ]

    def __str__(self):
        return f"Blocage {self.pk}"


class EmergencyAccess(models.Model):
    """A time-limited emergency access: broken glass, or the SAMU's regulation."""

    DURATION = timedelta(hours=4)

    class Mode(models.TextChoices):
        BREAK_GLASS = "break_glass", _("Bris de glace")
        SAMU = "samu", _("Régulation du SAMU")

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.CASCADE, related_name="emergency_accesses"
    )
    professional = models.ForeignKey(
        Professional, on_delete=models.CASCADE, related_name="emergency_accesses"
    )
    mode = models.CharField(max_length=16, choices=Mode.choices)
    reason = models.TextField(_("motif"))
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("accès en urgence")
        verbose_name_plural = _("accès en urgence")
        indexes = [models.Index(fields=["space", "professional", "-expires_at"])]

    def __str__(self):
        return f"Accès en urgence {self.pk} ({self.mode})"


class DailyAccess(models.Model):
    """A day on which a professional accessed a space: the patient hears of the first access
    of each day, not of every click. State of its own, so that the trail stays evidence."""

    space = models.ForeignKey("espace_sante.Space", on_delete=models.CASCADE, related_name="+")
    professional = models.ForeignKey(Professional, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        verbose_name = _("jour d'accès d'un professionnel")
        verbose_name_plural = _("jours d'accès des professionnels")
        constraints = [
            models.UniqueConstraint(
                fields=["space", "professional", "day"], name="one_daily_access_per_day"
            )
        ]

    def __str__(self):
        return f"Accès du jour {self.pk}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("the audit trail is append-only")

    def delete(self):
        raise PermissionError("the audit trail is append-only")

    _raw_delete = delete


GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One access or action, allowed or refused: append-only and hash-chained.

    Events form one chain per space (and one per actor for events outside any
    space), so writers on different spaces never wait for each other. Each event
    holds the hash of the previous one of its chain; `verify_audit_trail`
    recomputes them all.
    """

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("Autorisé")
        DENIED = "denied", _("Refusé")

    chain = models.CharField(max_length=48)
    seq = models.PositiveBigIntegerField()
    occurred_at = models.DateTimeField(default=timezone.now)
    # FK columns are indexed by the composite indexes below, not on their own.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    actor_label = models.CharField(max_length=200)
    role = models.CharField(max_length=32)
    basis = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    space = models.ForeignKey(
        "espace_sante.Space",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    ip = models.GenericIPAddressField(null=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("événement de la traçabilité")
        verbose_name_plural = _("événements de la traçabilité")
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq")]
        indexes = [
            models.Index(fields=["space", "-occurred_at"]),
            # System events (sweeps, beats) have no actor: they stay out of this index.
            models.Index(
                fields=["actor", "-occurred_at"],
                name="audit_actor_occurred",
                condition=Q(actor__isnull=False),
            ),
        ]

    def __str__(self):
        return f"Événement {self.pk}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("the audit trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit trail is append-only")

    def payload(self) -> bytes:
        """The canonical bytes the hash covers (everything but the hash itself)."""
        occurred = self.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        fields = {
            "chain": self.chain,
            "seq": self.seq,
            "occurred_at": occurred,
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "role": self.role,
            "basis": self.basis,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "space": self.space_id,
            "outcome": self.outcome,
            "ip": self.ip,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
        }
        return json.dumps(
            fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.payload()).hexdigest()


class AuditChainHead(models.Model):
    """The last event of each chain: the row writers lock to append, one chain at a time."""

    chain = models.CharField(max_length=48, primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Chaîne {self.chain}"


class AuditSeal(models.Model):
    """A periodic, chained record of the chain heads that moved since the previous seal.

    A chain rewritten from some event to its end, hashes recomputed, no longer
    matches the head a seal recorded; `verify_audit_trail` checks them.
    """

    created_at = models.DateTimeField(default=timezone.now)
    heads = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    def __str__(self):
        return f"Scellement {self.pk}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("audit seals are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit seals are append-only")

    def compute_hash(self) -> str:
        body = json.dumps(
            {
                "created_at": self.created_at.astimezone(UTC).isoformat(),
                "heads": self.heads,
                "prev_hash": self.prev_hash,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(body.encode()).hexdigest()


# A LOINC code: up to seven digits, a hyphen, the check digit.
_LOINC_CODE = RegexValidator(
    r"^\d{1,7}-\d$",
    _("Saisissez un code LOINC, par exemple 57833-6 (chiffres, tiret, chiffre de contrôle)."),
)


class DocumentAccessRuleQuerySet(models.QuerySet):
    """Bulk changes forget the cached matrix too (the admin deletes selected rules in bulk)."""

    def update(self, **kwargs):
        from acces import matrix

        count = super().update(**kwargs)
        matrix.invalidate(using=self.db)
        return count

    def delete(self):
        from acces import matrix

        result = super().delete()
        matrix.invalidate(using=self.db)
        return result

    def bulk_create(self, objs, *args, **kwargs):
        from acces import matrix

        created = super().bulk_create(objs, *args, **kwargs)
        matrix.invalidate(using=self.db)
        return created

    def bulk_update(self, objs, *args, **kwargs):
        from acces import matrix

        count = super().bulk_update(objs, *args, **kwargs)
        matrix.invalidate(using=self.db)
        return count


class DocumentAccessRule(models.Model):
    """One cell of the profession × document-type matrix: this profession may see this type.

    Document types belong to `dossier`, which `acces` never imports: the rule
    names the type by its LOINC code. A profession without any rule sees no
    document at all. Read through `acces.matrix`, which caches the matrix.
    """

    profession = models.CharField(_("profession"), max_length=32, choices=Profession.choices)
    type_code = models.CharField(
        _("code LOINC du type de document"),
        max_length=16,
        validators=[_LOINC_CODE],
        help_text=_("Le code LOINC du type de document, par exemple 57833-6 pour une ordonnance."),
    )

    objects = DocumentAccessRuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("règle d'accès aux types de documents")
        verbose_name_plural = _("règles d'accès aux types de documents")
        ordering = ["profession", "type_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["profession", "type_code"], name="one_rule_per_profession_and_type"
            )
        ]

    def __str__(self):
        return f"{self.get_profession_display()} — {self.type_code}"

    def save(self, *args, **kwargs):
        from acces import matrix

        super().save(*args, **kwargs)
        matrix.invalidate(using=self._state.db)

    def delete(self, *args, **kwargs):
        from acces import matrix

        using = self._state.db
        result = super().delete(*args, **kwargs)
        matrix.invalidate(using=using)
        return result
