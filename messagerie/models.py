"""Secure messaging: mailboxes, conversations, messages, attachments, refusals.

Subjects, bodies, attachment names and contents are encrypted at rest, each object under
its own data key (`espace_sante.crypto`): no column holds medical text in clear. The
clear columns say who wrote to whom and when, which the audit trail says as well.
`__str__` never carries content.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acces.targets import CONVERSATION_PART
from dossier.validation import EXTENSIONS


class Mailbox(models.Model):
    """A mailbox: a space's (the patient's), a professional's, or an organisation's."""

    class Kind(models.TextChoices):
        PATIENT = "patient", _("Messagerie du patient")
        PERSONAL = "personal", _("Messagerie personnelle d'un professionnel")
        ORGANISATIONAL = "organisational", _("Messagerie organisationnelle")
        # A correspondent of a conversation taken back from an archive (`messagerie.importer`):
        # a name only, no address, nobody reads it; it goes with its conversation.
        ARCHIVE = "archive", _("Correspondant d'un ancien dossier")

    class OrganisationKind(models.TextChoices):
        ETABLISSEMENT = "etablissement", _("Établissement de santé")
        PHARMACIE = "pharmacie", _("Pharmacie")
        CABINET = "cabinet", _("Cabinet ou maison de santé")
        LABORATOIRE = "laboratoire", _("Laboratoire de biologie médicale")
        MEDICO_SOCIAL = "medico_social", _("Structure médico-sociale ou sociale")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    space = models.OneToOneField(
        "espace_sante.Space",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mailbox",
    )
    professional = models.OneToOneField(
        "acces.Professional",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mailbox",
    )
    # An organisation's: its name, its kind, the professionals who read it.
    name = models.CharField(_("nom"), max_length=200, blank=True)
    organisation_kind = models.CharField(
        _("type de structure"), max_length=16, choices=OrganisationKind.choices, blank=True
    )
    members = models.ManyToManyField(
        "acces.Professional", blank=True, related_name="organisation_mailboxes"
    )
    accepts_prescriptions = models.BooleanField(
        _("reçoit les ordonnances envoyées par les patients"), default=False
    )
    # A professional's or an organisation's MSSanté address; a patient's is worked out.
    stored_address = models.EmailField(_("adresse MSSanté"), null=True, blank=True, unique=True)
    # A professional's own choice, on their personal mailbox: be emailed (content-free) when
    # a patient writes to them or to an organisation they read. Patients' notices follow
    # their space's rules, not this.
    email_alerts = models.BooleanField(_("prévenir par e-mail des nouveaux messages"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("boîte aux lettres")
        verbose_name_plural = _("boîtes aux lettres")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="patient", space__isnull=False, professional__isnull=True)
                    | Q(kind="personal", space__isnull=True, professional__isnull=False)
                    | Q(kind="organisational", space__isnull=True, professional__isnull=True)
                    | Q(kind="archive", space__isnull=True, professional__isnull=True)
                ),
                name="mailbox_owner_matches_kind",
            ),
        ]

    def __str__(self):
        return f"Boîte {self.pk} ({self.kind})"

    @property
    def address(self) -> str:
        """Its MSSanté address: `<INS>@patient.<domain>` for a patient, stored otherwise."""
        if self.kind == self.Kind.PATIENT:
            return f"{self.space.holder.nir}@patient.{settings.MSSANTE_PATIENT_DOMAIN}"
        return self.stored_address or ""

    @property
    def display_name(self) -> str:
        """How a patient sees it: a professional's name, profession and place, never an
        address; an organisation's name and kind."""
        if self.kind == self.Kind.PERSONAL:
            pro = self.professional
            return f"{pro.title} ({pro.practice_name})" if pro.practice_name else pro.title
        if self.kind == self.Kind.ORGANISATIONAL:
            kind = self.get_organisation_kind_display()
            return f"{self.name} — {kind}" if kind else self.name
        if self.kind == self.Kind.ARCHIVE:
            return self.name
        return self.space.holder.display_name

    @property
    def is_professional(self) -> bool:
        return self.kind != self.Kind.PATIENT


class Conversation(models.Model):
    """A thread between a space's patient and professionals (or organisations)."""

    # The part of the space the policy reads it as (`acces.targets.ConversationTarget`).
    part = CONVERSATION_PART

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.PROTECT, related_name="conversations"
    )
    data_key = models.ForeignKey("espace_sante.DataKey", on_delete=models.PROTECT, related_name="+")
    subject_ciphertext = models.BinaryField()
    started_by = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    # "Le professionnel a mis fin à vos échanges": read only, until a professional writes again.
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        "acces.Professional", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Taken back from an archive by `manage.py import_dmp` ("Reprise de votre ancien
    # dossier"): read only, its correspondents are names (`Mailbox.Kind.ARCHIVE`).
    imported_at = models.DateTimeField(null=True, blank=True)
    # The archive's identifier of it (its Communications' conversation identifier), so
    # that importing the same archive again adds nothing.
    source_identifier = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        indexes = [models.Index(fields=["space", "-last_message_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["space", "source_identifier"],
                condition=~Q(source_identifier=""),
                name="one_import_per_source_conversation",
            ),
        ]

    def __str__(self):
        return f"Conversation {self.public_id}"


class ConversationMember(models.Model):
    """One mailbox's state of a conversation: its folder, what it has not read yet.

    `last_message_at` is that of the last message this mailbox sent or received (a copied
    professional does not receive a reply to the author alone); `unread` counts the
    messages it received and has not opened; `received`/`sent` put it in inbox/sent.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="members")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="memberships")
    joined_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True)
    received = models.BooleanField(default=False)
    sent = models.BooleanField(default=False)
    unread = models.PositiveIntegerField(default=0)
    last_read_at = models.DateTimeField(null=True, blank=True)
    trashed_at = models.DateTimeField(null=True, blank=True)
    # Deleted for good for this mailbox: it shows it no more (until a new message comes);
    # the other mailboxes keep it, and once all deleted it, it is crypto-shredded.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("participant à une conversation")
        verbose_name_plural = _("participants à une conversation")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "mailbox"], name="one_membership_per_mailbox"
            ),
        ]
        indexes = [
            # The inbox, sent and trash pages: a mailbox's conversations, newest first.
            models.Index(
                fields=["mailbox", "trashed_at", "-last_message_at"], name="member_folder"
            ),
            models.Index(
                fields=["mailbox"],
                name="member_unread",
                condition=Q(unread__gt=0, deleted_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"Participant {self.pk}"


class Message(models.Model):
    """One message of a conversation, its body encrypted under its own data key."""

    class ReplyMode(models.TextChoices):
        REPLY = "reply", _("Réponse possible")
        REPLY_ALL = "reply_all", _("Réponse à tous possible")
        REPLY_BLOCKED = "reply_blocked", _("Réponse bloquée")
        NO_REPLY = "no_reply", _("Pas de réponse attendue")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="sent_messages")
    # Who wrote it: the professional (of a personal or an organisation's mailbox), or the
    # account (the holder or a legal representative) that wrote for the patient.
    sender_professional = models.ForeignKey(
        "acces.Professional", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    data_key = models.ForeignKey("espace_sante.DataKey", on_delete=models.PROTECT, related_name="+")
    body_ciphertext = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    is_draft = models.BooleanField(default=False)
    reply_mode = models.CharField(
        max_length=16, choices=ReplyMode.choices, default=ReplyMode.REPLY_ALL
    )
    attachments_size = models.PositiveBigIntegerField(default=0)
    # For a message taken back from an archive: its identifier there (its Communication's).
    source_identifier = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["sent_at", "pk"]
        indexes = [
            models.Index(fields=["conversation", "sent_at"]),
            models.Index(fields=["sender", "is_draft"]),
            # The mailbox quota (`selectors.mailbox_usage`) reads only the messages that
            # carry files: a 10,000-message mailbox walked all of them (33 ms, bench/http.py).
            models.Index(
                fields=["conversation"],
                condition=Q(attachments_size__gt=0, is_draft=False),
                name="message_with_files",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_draft=True, sent_at__isnull=True)
                | Q(is_draft=False, sent_at__isnull=False),
                name="message_sent_unless_draft",
            ),
            models.UniqueConstraint(
                fields=["conversation", "source_identifier"],
                condition=~Q(source_identifier=""),
                name="one_import_per_source_message",
            ),
        ]

    def __str__(self):
        return f"Message {self.public_id}"


class MessageRecipient(models.Model):
    """A mailbox a message went to (to or copy), and when it was opened (read receipt)."""

    class Kind(models.TextChoices):
        TO = "to", _("Destinataire")
        CC = "cc", _("Copie")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="recipients")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="received")
    kind = models.CharField(max_length=2, choices=Kind.choices, default=Kind.TO)
    read_at = models.DateTimeField(null=True, blank=True)
    # Who opened it (a legal representative, or the holder), for the read receipt.
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("destinataire")
        verbose_name_plural = _("destinataires")
        constraints = [
            models.UniqueConstraint(fields=["message", "mailbox"], name="one_delivery_per_mailbox"),
        ]
        indexes = [models.Index(fields=["mailbox", "read_at"])]

    def __str__(self):
        return f"Destinataire {self.pk}"


class Attachment(models.Model):
    """A file attached to a message: name and content encrypted under its own data key."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    data_key = models.ForeignKey("espace_sante.DataKey", on_delete=models.PROTECT, related_name="+")
    filename_ciphertext = models.BinaryField()
    file = models.FileField(upload_to="messages/%Y/%m/", max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # The DMP document the patient attached (a copy travels; the document stays in the DMP).
    source_document = models.ForeignKey(
        "dossier.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Whether it may reach legal representatives: false for a copy of a document made
    # invisible to them, checked again whenever a representative would open it.
    invisible_to_representatives = models.BooleanField(default=False)
    # The DMP document it was added or filed as ("Ajouter aux documents").
    dmp_document = models.ForeignKey(
        "dossier.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("pièce jointe")
        verbose_name_plural = _("pièces jointes")
        ordering = ["pk"]

    def __str__(self):
        return f"Pièce jointe {self.public_id}"

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.content_type, "bin")


class SenderRefusalQuerySet(models.QuerySet):
    def active(self):
        return self.filter(lifted_at__isnull=True)


class SenderRefusal(models.Model):
    """The patient refuses messages from one professional (not the same as blocking access)."""

    space = models.ForeignKey(
        "espace_sante.Space", on_delete=models.CASCADE, related_name="sender_refusals"
    )
    professional = models.ForeignKey(
        "acces.Professional", on_delete=models.PROTECT, related_name="sender_refusals"
    )
    refused_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)

    objects = SenderRefusalQuerySet.as_manager()

    class Meta:
        verbose_name = _("refus de messages")
        verbose_name_plural = _("refus de messages")
        constraints = [
            models.UniqueConstraint(
                fields=["space", "professional"],
                condition=Q(lifted_at__isnull=True),
                name="one_active_sender_refusal",
            ),
        ]

    def __str__(self):
        return f"Refus de messages {self.pk}"
