"""The holder's identity, the space itself, notifications and encryption keys.

`__str__` never carries medical content: the admin's history copies it.
"""

import uuid
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from espace_sante.identity import (
    nir_contradictions,
    normalise_nir,
    validate_carte_vitale_serial,
    validate_nir,
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True, kind=User.Kind.ADMIN)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An account: email as identifier; `kind` says which front door it uses."""

    class Kind(models.TextChoices):
        PATIENT = "patient", _("Patient ou représentant légal")
        PROFESSIONAL = "professional", _("Professionnel de santé")
        AGENT = "agent", _("Agent CPAM")
        ADMIN = "admin", _("Administrateur technique")

    email = models.EmailField(_("adresse e-mail"), unique=True)
    first_name = models.CharField(_("prénom"), max_length=150, blank=True)
    last_name = models.CharField(_("nom"), max_length=150, blank=True)
    kind = models.CharField(
        _("type de compte"), max_length=16, choices=Kind.choices, default=Kind.PATIENT
    )
    is_active = models.BooleanField(_("actif"), default=True)
    is_staff = models.BooleanField(_("accès à l'administration"), default=False)
    date_joined = models.DateTimeField(_("date de création"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("compte")
        verbose_name_plural = _("comptes")

    def __str__(self):
        return self.email

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self):
        return self.first_name or self.email

    @property
    def needs_totp(self) -> bool:
        """Professionals and staff must prove a TOTP; patients may use the email code."""
        return self.kind != self.Kind.PATIENT or self.is_staff


class Patient(models.Model):
    """The identity of an insured person, holder of a space (INS built on the NIR)."""

    class Sex(models.TextChoices):
        FEMALE = "F", _("Féminin")
        MALE = "M", _("Masculin")

    nir = models.CharField(
        _("NIR (INS)"),
        max_length=15,
        unique=True,
        validators=[validate_nir],
        help_text=_("13 caractères et la clé à 2 chiffres."),
    )
    last_name = models.CharField(_("nom de naissance"), max_length=150)
    first_names = models.CharField(_("prénoms"), max_length=150)
    birth_date = models.DateField(_("date de naissance"))
    sex = models.CharField(_("sexe"), max_length=1, choices=Sex.choices)
    carte_vitale_serial = models.CharField(
        _("numéro de série de la carte Vitale"),
        max_length=12,
        validators=[validate_carte_vitale_serial],
    )
    email = models.EmailField(_("adresse e-mail de contact"), blank=True)
    postal_address = models.TextField(_("adresse postale"), blank=True)
    user = models.OneToOneField(
        User,
        verbose_name=_("compte"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patient",
    )
    death_date = models.DateField(_("date de décès"), null=True, blank=True)

    class Meta:
        verbose_name = _("assuré")
        verbose_name_plural = _("assurés")
        indexes = [models.Index(fields=["last_name", "birth_date"])]

    def __str__(self):
        return f"{self.first_names} {self.last_name}"

    def save(self, *args, **kwargs):
        self.nir = normalise_nir(self.nir)
        super().save(*args, **kwargs)

    def clean(self):
        # The NIR carries the sex, year and month of birth: the identity may not contradict it.
        errors = nir_contradictions(self.nir, birth_date=self.birth_date, sex=self.sex)
        if errors:
            raise ValidationError(errors)

    @property
    def display_name(self) -> str:
        return f"{self.first_names.split(' ')[0]} {self.last_name}"

    def age_on(self, day) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


class ContactChange(models.Model):
    """An agent's change of a person's contact details or Carte Vitale serial (the admin).

    It keeps what was on file before the change: the person is told there, and for
    `RECENT` after it a provisional code goes only by letter to the postal address
    on file before (`lifecycle.code_delivery`). The reason the agent typed is in
    the audit trail, never here nor in an email.
    """

    RECENT = timedelta(days=30)

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contact_changes")
    changed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    fields = models.CharField(max_length=100)  # the names of the fields changed, comma-separated
    previous_email = models.EmailField(blank=True)
    previous_postal_address = models.TextField(blank=True)
    new_email = models.EmailField(blank=True)  # set when the email was changed

    class Meta:
        verbose_name = _("modification des coordonnées")
        verbose_name_plural = _("modifications des coordonnées")
        indexes = [models.Index(fields=["patient", "changed_at"])]

    def __str__(self):
        return f"Modification {self.pk} des coordonnées"


class SpaceError(Exception):
    """A request on a space that cannot be carried out; the message is for the user."""


class SpaceStateError(SpaceError):
    """A lifecycle transition that the current state does not allow."""


class Space(models.Model):
    """The personal health space of one insured person, with its lifecycle state."""

    class State(models.TextChoices):
        ANNOUNCED = "announced", _("Annoncé (délai d'opposition en cours)")
        OPPOSED = "opposed", _("Opposé")
        CREATED = "created", _("Créé, à activer")
        ACTIVE = "active", _("Activé")
        SUSPENDED = "suspended", _("Suspendu")
        CLOSED = "closed", _("Clôturé (archivé)")
        DESTROYED = "destroyed", _("Détruit")

    # The only transitions a space may take; services enforce their own guards on top.
    TRANSITIONS = {
        State.ANNOUNCED: {State.OPPOSED, State.CREATED, State.ACTIVE},
        State.OPPOSED: {State.ACTIVE, State.CREATED},
        State.CREATED: {State.ACTIVE, State.CLOSED, State.SUSPENDED},
        State.ACTIVE: {State.CLOSED, State.SUSPENDED},
        State.SUSPENDED: {State.ACTIVE, State.CREATED, State.CLOSED},
        State.CLOSED: {State.ACTIVE, State.CREATED, State.DESTROYED},
        State.DESTROYED: set(),
    }

    OPPOSITION_WINDOW = timedelta(weeks=6)
    SUSPENSION_WINDOW = timedelta(weeks=6)
    ARCHIVE_YEARS = 10
    OCCUPATIONAL_YEARS = 40
    DELETION_DELAY = timedelta(days=30)  # carried out well within the three months promised

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    holder = models.OneToOneField(
        Patient, verbose_name=_("titulaire"), on_delete=models.PROTECT, related_name="space"
    )
    state = models.CharField(
        _("état"), max_length=16, choices=State.choices, default=State.ANNOUNCED, editable=False
    )
    state_changed_at = models.DateTimeField(
        _("changement d'état"), default=timezone.now, editable=False
    )
    created_at = models.DateTimeField(_("création"), auto_now_add=True)
    opposition_deadline = models.DateTimeField(
        _("fin du délai d'opposition"), null=True, blank=True, editable=False
    )
    closed_at = models.DateTimeField(_("clôture"), null=True, blank=True, editable=False)
    retention_until = models.DateField(_("archivé jusqu'au"), null=True, blank=True, editable=False)
    occupational_retention_until = models.DateField(
        _("volet santé au travail conservé jusqu'au"), null=True, blank=True, editable=False
    )
    deletion_due_at = models.DateTimeField(
        _("suppression définitive prévue le"), null=True, blank=True, editable=False
    )
    handed_over_at = models.DateTimeField(
        _("remis au titulaire majeur le"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("espace santé")
        verbose_name_plural = _("espaces santé")
        # Partial indexes: each sweep finds its spaces, and a space leaving a state
        # (a million at the end of an opposition window) updates no index it has left.
        indexes = [
            models.Index(
                fields=["opposition_deadline"],
                name="space_announced_deadline",
                condition=Q(state="announced"),
            ),
            models.Index(
                fields=["state_changed_at"],
                name="space_suspended_since",
                condition=Q(state="suspended"),
            ),
            models.Index(
                fields=["retention_until"],
                name="space_closed_retention",
                condition=Q(state="closed"),
            ),
            models.Index(
                fields=["deletion_due_at"],
                name="space_deletion_due",
                condition=Q(deletion_due_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"Espace {self.public_id}"

    def can_become(self, state: str) -> bool:
        return state in self.TRANSITIONS[self.State(self.state)]

    def move_to(self, state: str, *, at=None) -> str:
        """Change state in memory after checking the transition; return the old state."""
        if not self.can_become(state):
            raise SpaceStateError(
                _("Un espace « %(from)s » ne peut pas passer à « %(to)s ».")
                % {"from": self.get_state_display(), "to": self.State(state).label}
            )
        previous, self.state = self.state, state
        self.state_changed_at = at or timezone.now()
        return previous

    @property
    def is_open(self) -> bool:
        return self.state in {self.State.CREATED, self.State.ACTIVE}


class LegalRepresentativeQuerySet(models.QuerySet):
    def current(self, now=None):
        """Representatives who manage the space now: started, and not ended."""
        now = now or timezone.now()
        return self.filter(since__lte=now).exclude(until__lte=now)

    def not_ended(self, now=None):
        """Representatives whose representation has not ended (started or still to start)."""
        now = now or timezone.now()
        return self.exclude(until__lte=now)


class LegalRepresentative(models.Model):
    """A parent or guardian who manages a minor's space with their own account."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="representatives")
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="represented", null=True, blank=True
    )
    # The representative's own identity, known from the enrolment file before they have an
    # account; their account is attached when they activate their own space.
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="represents", null=True, blank=True
    )
    since = models.DateTimeField(default=timezone.now)
    until = models.DateTimeField(null=True, blank=True)

    objects = LegalRepresentativeQuerySet.as_manager()

    class Meta:
        verbose_name = _("représentant légal")
        verbose_name_plural = _("représentants légaux")
        constraints = [
            models.UniqueConstraint(fields=["space", "user"], name="one_representation_per_user"),
            models.UniqueConstraint(
                fields=["space", "patient"], name="one_representation_per_identity"
            ),
        ]

    def __str__(self):
        return "Représentant légal"


class Notification(models.Model):
    """One message to a person: shown in the portal and sent by email from this outbox.

    Subjects and bodies never carry medical content: they say that something
    happened and link to the portal, where the policy decides what is shown.
    """

    class EmailState(models.TextChoices):
        PENDING = "pending", _("À envoyer")
        SENDING = "sending", _("En cours d'envoi")
        SENT = "sent", _("Envoyé")
        FAILED = "failed", _("Échec définitif")
        NONE = "none", _("Pas d'e-mail")

    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notifications", null=True, blank=True
    )
    # For people without an account yet (announcement, opposition): the address to write to.
    address = models.EmailField(blank=True)
    space = models.ForeignKey(
        Space, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_state = models.CharField(
        max_length=8, choices=EmailState.choices, default=EmailState.PENDING
    )
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)
    # Generated once, sent with every attempt: a resend is recognised as the same email.
    # db_default: the six-week sweep writes its rows in raw SQL, without this column.
    email_message_id = models.CharField(max_length=255, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(fields=["email_state", "created_at"]),
        ]

    def __str__(self):
        return f"Notification {self.pk} ({self.kind})"


class DataKey(models.Model):
    """A per-object AES-256 data key, stored only wrapped by a master key (`key_id`).

    Destroying the wrapped key destroys every ciphertext it protected.
    """

    key_id = models.CharField(max_length=64, db_index=True)
    wrapped = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("clé de données")
        verbose_name_plural = _("clés de données")

    def __str__(self):
        return f"Clé {self.pk} ({self.key_id})"


class KeyCheck(models.Model):
    """The key check value of a master key: proof, at start-up, that `kid` still has its bytes.

    Written the first time a key id wraps a data key. `kcv` is an HMAC-SHA256 of a
    constant under the key: it tells a wrong key from the right one, and nothing about it.
    """

    key_id = models.CharField(max_length=64, unique=True)
    kcv = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("valeur de contrôle de clé")
        verbose_name_plural = _("valeurs de contrôle de clé")

    def __str__(self):
        return f"Contrôle de la clé {self.key_id}"


class IntegrityIncident(models.Model):
    """A ciphertext that did not decrypt: an altered file, an unknown key id, a bad unwrap.

    Holds what the operator needs to find the object and the key, never any content.
    """

    class Reason(models.TextChoices):
        ALTERED = "altered", _("Contenu altéré ou d'une autre clé")
        UNKNOWN_KEY = "unknown_key", _("Clé maîtresse inconnue")
        UNWRAP = "unwrap", _("Clé de données qui ne se déchiffre pas")
        DESTROYED = "destroyed", _("Clé de données détruite")
        FORMAT = "format", _("Format de chiffré inconnu")
        WRONG_KEY = "wrong_key", _("Clé maîtresse qui n'est pas celle de son identifiant")
        MISSING = "missing", _("Fichier absent du stockage")

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    # The object as its ciphertext names it ("document", "export", "letter") and its id.
    subject_kind = models.CharField(max_length=32, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    data_key_id = models.BigIntegerField(null=True, blank=True)
    key_id = models.CharField(max_length=64, blank=True)
    where = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("incident d'intégrité")
        verbose_name_plural = _("incidents d'intégrité")
        ordering = ["-occurred_at", "-id"]

    def __str__(self):
        return f"Incident {self.pk} ({self.reason})"


class ProvisionalCode(models.Model):
    """A provisional code sent by email or letter: single use, hashed, expiring, locking.

    It opens the activation (or reactivation) of a space and, during the
    announcement, lets the person oppose its creation.
    """

    MAX_ATTEMPTS = 5

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Courrier")
        AGENT = "agent", _("Remis par un agent")

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("code provisoire")
        verbose_name_plural = _("codes provisoires")
        indexes = [models.Index(fields=["space", "-created_at"])]

    def __str__(self):
        return f"Code {self.pk} ({self.channel})"

    def is_usable(self, now) -> bool:
        return (
            self.used_at is None
            and self.revoked_at is None
            and self.expires_at > now
            and self.failed_attempts < self.MAX_ATTEMPTS
        )


class CodeRequestQuerySet(models.QuerySet):
    def to_requeue(self, now):
        """Pending requests whose queued task may have been lost (broker outage, crash)."""
        return self.filter(
            state=CodeRequest.State.PENDING, queued_at__lt=now - CodeRequest.REQUEUE_AFTER
        )

    def stale_claims(self, now):
        """Requests claimed by a worker that died before it finished."""
        return self.filter(
            state=CodeRequest.State.CLAIMED, claimed_at__lt=now - CodeRequest.CLAIM_TIMEOUT
        )


class CodeRequest(models.Model):
    """A provisional code to issue and send, written in the transaction that asked for it.

    The `deliver_code` task claims it with a conditional update and marks it done in
    the transaction that issues the code; the beat sweep queues again the requests
    whose task the broker lost. So a request answered "sent" is never forgotten.
    """

    REQUEUE_AFTER = timedelta(minutes=2)
    CLAIM_TIMEOUT = timedelta(minutes=10)
    MAX_ATTEMPTS = 10

    class State(models.TextChoices):
        PENDING = "pending", _("À envoyer")
        CLAIMED = "claimed", _("En cours d'envoi")
        DONE = "done", _("Envoyé")
        FAILED = "failed", _("Échec")

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="code_requests")
    kind = models.CharField(max_length=16)  # the letter/email kind: announcement, new_code...
    by_letter = models.BooleanField(default=False)  # the holder asked for a letter
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    objects = CodeRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("demande de code provisoire")
        verbose_name_plural = _("demandes de code provisoire")
        indexes = [
            models.Index(
                fields=["state", "queued_at"],
                name="code_request_open",
                condition=models.Q(state__in=["pending", "claimed"]),
            )
        ]

    def __str__(self):
        return f"Demande de code {self.pk} ({self.kind}, {self.state})"


class Letter(models.Model):
    """A postal letter produced as a PDF (encrypted at rest: it carries a code)."""

    class Kind(models.TextChoices):
        ANNOUNCEMENT = "announcement", _("Annonce et code provisoire")
        NEW_CODE = "new_code", _("Nouveau code provisoire")
        HANDOVER = "handover", _("Majorité : remise de l'espace")
        CONTACT_CHANGED = "contact_changed", _("Modification des coordonnées par un agent")

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="letters")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="courriers/%Y/%m/")
    created_at = models.DateTimeField(default=timezone.now)
    printed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("courrier")
        verbose_name_plural = _("courriers")

    def __str__(self):
        return f"Courrier {self.pk} ({self.kind})"


class ExportJob(models.Model):
    """The full download of a space, built by a Celery task and kept encrypted for a day.

    `done`/`total` count the files written so far, for the progress shown in the page.
    """

    KEPT_FOR = timedelta(hours=24)
    # A job still "running" after this long belonged to a worker that died.
    STALE_AFTER = timedelta(hours=1)
    # A job still "queued" after this long may have lost its task (broker outage): queue again.
    REQUEUE_AFTER = timedelta(minutes=3)

    class State(models.TextChoices):
        QUEUED = "queued", _("En attente")
        RUNNING = "running", _("En préparation")
        READY = "ready", _("Prête")
        FAILED = "failed", _("Échec")
        EXPIRED = "expired", _("Expirée")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="export_jobs")
    requested_by = models.ForeignKey(
        "espace_sante.User", on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    data_key = models.ForeignKey(
        DataKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("téléchargement des données")
        verbose_name_plural = _("téléchargements des données")
        indexes = [models.Index(fields=["space", "requested_by", "-created_at"])]

    def __str__(self):
        return f"Export {self.public_id}"

    @property
    def percent(self) -> int:
        if self.state == self.State.READY:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def in_progress(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)
