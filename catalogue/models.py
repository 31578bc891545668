"""The catalogue: referenced services, what each may exchange (its purposes), and each space's
connections to them, with the OAuth2 tokens (django-oauth-toolkit's) that act for a connection.

- `Service` is a referenced app or service, managed by the referencing staff in the admin.
  Its OAuth2 client is a django-oauth-toolkit `Application` (`Service.application`).
- `Purpose` ("finalité") is what a service asks to do, in the patient's words; each has
  its `PurposeScope`s: read or write × a kind of data, as SMART-on-FHIR scopes
  (`catalogue.scopes`).
- `Connection` is a space connected to a service, by its holder or a legal
  representative, with the purposes granted (`ConnectionPurpose`, one row per grant, kept
  when withdrawn). `ConnectionToken` binds each token to its connection: a token acts for
  one space only, and only within what the connection still grants.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalogue import scopes as scope_names


class Theme(models.TextChoices):
    PREVENTION = "prevention", _("Prévention")
    CHRONIC = "chronic", _("Maladie chronique")
    CHILDREN = "children", _("Enfants")
    BOOKING = "booking", _("Prise de rendez-vous")
    DEVICES = "devices", _("Objets connectés")
    HOSPITAL = "hospital", _("Hôpital")


class Service(models.Model):
    """A service referenced by the public authorities (article L.1111-13-1 CSP)."""

    class Status(models.TextChoices):
        ONLINE = "online", _("En ligne")
        OFFLINE = "offline", _("Hors ligne")
        PRESERIES = "preseries", _("Présérie")
        SUSPENDED = "suspended", _("Suspendue")
        DEREFERENCED = "dereferenced", _("Déréférencée")

    class DeviceKind(models.TextChoices):
        CONSUMER = "consumer", _("Application grand public")
        MEDICAL_DEVICE = "medical_device", _("Dispositif médical")

    class EconomicModel(models.TextChoices):
        FREE = "free", _("Gratuit")
        FREEMIUM = "freemium", _("Gratuit avec options payantes")
        PAID = "paid", _("Payant")
        REIMBURSED = "reimbursed", _("Pris en charge par l'Assurance Maladie")

    slug = models.SlugField(_("identifiant"), max_length=80, unique=True)
    name = models.CharField(_("nom"), max_length=120)
    editor = models.CharField(_("éditeur"), max_length=160)
    summary = models.CharField(_("résumé"), max_length=240)
    description = models.TextField(_("description"))
    regions = models.CharField(
        _("régions"),
        max_length=300,
        default="Toute la France",
        help_text=_("« Toute la France », ou les régions séparées par des virgules."),
    )
    website_url = models.URLField(_("site web"), blank=True)
    ios_url = models.URLField(_("application iOS"), blank=True)
    android_url = models.URLField(_("application Android"), blank=True)
    terms_url = models.URLField(_("conditions d'utilisation"))
    privacy_url = models.URLField(_("politique de confidentialité"))
    contact_email = models.EmailField(_("contact de l'éditeur"), blank=True)
    device_kind = models.CharField(
        _("type de service"), max_length=20, choices=DeviceKind.choices, default=DeviceKind.CONSUMER
    )
    economic_model = models.CharField(
        _("modèle économique"),
        max_length=20,
        choices=EconomicModel.choices,
        default=EconomicModel.FREE,
    )
    referenced_on = models.DateField(_("date de référencement"))
    # The four groups of referencing criteria (arrêté du 23 juin 2022).
    meets_urbanisation = models.BooleanField(
        _("critères d'urbanisation (hébergement HDS, identification)"), default=False
    )
    meets_security = models.BooleanField(_("critères de sécurité"), default=False)
    meets_interoperability = models.BooleanField(_("critères d'interopérabilité"), default=False)
    meets_ethics = models.BooleanField(
        _("critères d'éthique (contenus, accessibilité, transparence)"), default=False
    )
    status = models.CharField(
        _("statut"), max_length=20, choices=Status.choices, default=Status.ONLINE
    )
    # The service's current version. Purposes and scopes say from which version they are
    # asked; a connection approved an older version must re-approve by the deadline.
    version = models.PositiveIntegerField(_("version"), default=1)
    reapproval_deadline = models.DateField(
        _("date limite de nouvelle approbation"), null=True, blank=True
    )
    # The OAuth2 client the service signs in with (django-oauth-toolkit).
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        verbose_name=_("client OAuth2"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="catalogue_service",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("service référencé")
        verbose_name_plural = _("services référencés")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_usable(self) -> bool:
        """Whether its tokens work at all: a service off line, suspended or dereferenced
        reads and writes nothing."""
        return self.status == self.Status.ONLINE


class ServiceTheme(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="themes")
    theme = models.CharField(_("thème"), max_length=20, choices=Theme.choices)

    class Meta:
        verbose_name = _("thème")
        constraints = [
            models.UniqueConstraint(fields=["service", "theme"], name="service_theme_once")
        ]

    def __str__(self):
        return self.get_theme_display()


class Purpose(models.Model):
    """A purpose ("finalité"): what the service does with some data, in the patient's words."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="purposes")
    code = models.SlugField(_("code"), max_length=60)
    label = models.CharField(_("libellé"), max_length=160)
    description = models.TextField(_("explication pour le patient"))
    since_version = models.PositiveIntegerField(_("demandée depuis la version"), default=1)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("finalité")
        ordering = ["service", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="purpose_code_once")
        ]

    def __str__(self):
        return self.label


class PurposeScope(models.Model):
    """One kind of data a purpose reads or writes, as a SMART-style scope."""

    class Access(models.TextChoices):
        READ = "read", _("Lecture")
        WRITE = "write", _("Écriture")

    purpose = models.ForeignKey(Purpose, on_delete=models.CASCADE, related_name="scopes")
    resource = models.CharField(_("données"), max_length=40, choices=scope_names.RESOURCE_CHOICES)
    access = models.CharField(_("accès"), max_length=5, choices=Access.choices)
    # For documents: the DMP category (`dossier.models.Category`) this scope is limited to;
    # blank for every category the holder sees.
    document_category = models.CharField(_("catégorie de documents"), max_length=20, blank=True)
    since_version = models.PositiveIntegerField(_("demandée depuis la version"), default=1)

    class Meta:
        verbose_name = _("donnée échangée")
        verbose_name_plural = _("données échangées")
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "resource", "access", "document_category"],
                name="purpose_scope_once",
            )
        ]

    def __str__(self):
        return self.scope

    @property
    def scope(self) -> str:
        return scope_names.scope(self.resource, self.access, self.document_category)

    @property
    def label(self) -> str:
        return scope_names.label(self.scope)


class ConnectionQuerySet(models.QuerySet):
    def live(self):
        return self.filter(ended_at__isnull=True)


class Connection(models.Model):
    """A space connected to a service ("appariement")."""

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.CASCADE, related_name="catalogue_connections"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="connections")
    # The holder, or the legal representative who connected a minor's space.
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="catalogue_connections"
    )
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The service version whose purposes were last approved.
    approved_version = models.PositiveIntegerField(default=1)
    # The patient's answer at connection: may the service see the documents masked from
    # professionals? (Documents invisible to the patient are never shown to their apps.)
    shows_masked_documents = models.BooleanField(default=False)
    last_read_at = models.DateTimeField(null=True, blank=True)
    last_write_at = models.DateTimeField(null=True, blank=True)
    # Writes by the service since the patient was last told (grouped, at most daily).
    pending_writes = models.PositiveIntegerField(default=0)
    writes_notified_at = models.DateTimeField(null=True, blank=True)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("service connecté")
        verbose_name_plural = _("services connectés")
        constraints = [
            models.UniqueConstraint(
                fields=["space", "service"],
                condition=Q(ended_at__isnull=True),
                name="one_live_connection_per_service",
            )
        ]

    def __str__(self):
        return f"Connexion {self.pk}"


class ConnectionPurposeQuerySet(models.QuerySet):
    def live(self):
        return self.filter(withdrawn_at__isnull=True)


class ConnectionPurpose(models.Model):
    """A purpose granted on a connection; withdrawn, the row stays (the history of consent)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="grants")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="grants")
    granted_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = ConnectionPurposeQuerySet.as_manager()

    class Meta:
        verbose_name = _("finalité accordée")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "purpose"],
                condition=Q(withdrawn_at__isnull=True),
                name="one_live_grant_per_purpose",
            )
        ]

    def __str__(self):
        return f"Accord {self.pk}"


class ConnectionToken(models.Model):
    """Which connection, so which space, an authorization code or token acts for."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="tokens")
    grant = models.OneToOneField(
        settings.OAUTH2_PROVIDER_GRANT_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="catalogue_binding",
    )
    access_token = models.OneToOneField(
        settings.OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="catalogue_binding",
    )
    refresh_token = models.OneToOneField(
        settings.OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="catalogue_binding",
    )

    class Meta:
        verbose_name = _("jeton d'un service connecté")

    def __str__(self):
        return f"Jeton {self.pk}"


class ServiceReport(models.Model):
    """A patient's report about a service, for the referencing staff."""

    class Reason(models.TextChoices):
        CONTENT = "content", _("Contenu erroné ou trompeur")
        PRIVACY = "privacy", _("Usage de mes données")
        SECURITY = "security", _("Problème de sécurité")
        MALFUNCTION = "malfunction", _("Le service ne fonctionne pas")
        OTHER = "other", _("Autre")

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="reports")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.CharField(_("motif"), max_length=20, choices=Reason.choices)
    message = models.TextField(_("message"), max_length=3000)
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(_("traité le"), null=True, blank=True)

    class Meta:
        verbose_name = _("signalement")
        ordering = ["-created_at"]

    def __str__(self):
        return f"Signalement {self.pk}"


# --- Professionals' software ------------------------------------------------------------------


class Software(models.Model):
    """A professional's software (logiciel métier) registered to call the FHIR API for the
    professionals who use it (`docs/INTEROP.md`): the DMP's documents of their patients,
    within what the policy lets each professional see and add.

    Registered by the referencing staff in the admin, with its editor and its homologation
    reference; its OAuth2 client is a django-oauth-toolkit `Application`. It never acts
    alone: each of its tokens acts for the professional who signed in and authorised it
    (`SoftwareToken`)."""

    name = models.CharField(_("nom"), max_length=120)
    slug = models.SlugField(_("identifiant"), max_length=80, unique=True)
    editor = models.CharField(_("éditeur"), max_length=160)
    homologation_ref = models.CharField(
        _("référence d'homologation"),
        max_length=80,
        help_text=_("La référence de l'homologation du logiciel (Ségur, DMP compatible)."),
    )
    is_active = models.BooleanField(
        _("actif"),
        default=True,
        help_text=_("Un logiciel désactivé n'obtient plus de jeton et ses jetons cessent d'agir."),
    )
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        verbose_name=_("client OAuth2"),
        on_delete=models.PROTECT,
        related_name="software",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("logiciel de professionnel")
        verbose_name_plural = _("logiciels de professionnels")
        ordering = ["name"]

    def __str__(self):
        return self.name


class SoftwareToken(models.Model):
    """Which professional an authorization code or token of a software acts for, and how
    strongly that professional proved who they are when they authorised it."""

    software = models.ForeignKey(Software, on_delete=models.CASCADE, related_name="tokens")
    professional = models.ForeignKey(
        "acces.Professional", on_delete=models.CASCADE, related_name="+"
    )
    # `espace_sante.assurance.AssuranceLevel` of the sign-in, and its `acr` (eidas1: e-CPS).
    assurance = models.PositiveSmallIntegerField()
    acr = models.CharField(max_length=40, blank=True)
    grant = models.OneToOneField(
        settings.OAUTH2_PROVIDER_GRANT_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="software_binding",
    )
    access_token = models.OneToOneField(
        settings.OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="software_binding",
    )
    refresh_token = models.OneToOneField(
        settings.OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="software_binding",
    )

    class Meta:
        verbose_name = _("jeton d'un logiciel de professionnel")

    def __str__(self):
        return f"Jeton {self.pk}"
