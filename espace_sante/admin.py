"""The CPAM agents' admin: identities and spaces' lifecycle, never medical content.

This module registers the accounts, the insured persons' identities and their
spaces. A space's page shows its lifecycle history, read from the audit trail
through the port `espace_sante.tracing.read_trail` (the trail is `acces`'s, and
`espace_sante` imports no other app), and offers the lifecycle actions
(`espace_sante.admin_actions`).

Nothing medical is registered for anyone: notifications, data keys, letters,
provisional codes and the audit trail stay out of the admin. An agent never sees
a provisional code nor a whole Carte Vitale serial, and a change of contact details
goes through `services.change_contact` (reason, trace, former contact told). Nor
is any means to sign in as someone else: second-factor devices are listed without
their secrets, and an administrator's password reset on another account revokes
its sign-in and sends the way back in to the account's own email
(`espace_sante.credentials`).
"""

from __future__ import annotations

import re
from datetime import date

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from espace_sante import credentials, services
from espace_sante.actions import SpaceAction
from espace_sante.admin_actions import (
    ACTIONS,
    LifecycleAction,
    lifecycle_history,
    may_act_on_spaces,
    short_day,
)
from espace_sante.french import de, le
from espace_sante.identity import normalise_nir, validate_carte_vitale_serial
from espace_sante.models import LegalRepresentative, Patient, Space, SpaceError, User
from espace_sante.tracing import Actor, trace

admin.site.site_header = _("Mon espace santé — administration CPAM")
admin.site.site_title = _("Administration Mon espace santé")
admin.site.index_title = _("Gestion des espaces")


class DeclaredAutocompleteJsonView(AutocompleteJsonView):
    """The admin's autocomplete, answering only for a field an admin declares as autocompleted.

    Django's own view takes any field name, reverse relations included: asked for
    `patient.space` (the reverse side of `Space.holder`) it raised an AttributeError,
    a 500. A field the source model's admin does not list in `autocomplete_fields`
    is refused (403): no widget of ours asks for it, so only a crafted URL would.
    """

    def process_request(self, request):
        term, model_admin, source_field, to_field_name = super().process_request(request)
        if not (source_field.concrete and (source_field.many_to_one or source_field.many_to_many)):
            raise PermissionDenied
        try:
            source_admin = self.admin_site.get_model_admin(source_field.model)
        except NotRegistered as error:
            raise PermissionDenied from error
        if source_field.name not in source_admin.get_autocomplete_fields(request):
            raise PermissionDenied
        return term, model_admin, source_field, to_field_name


def _autocomplete_view(request):
    return DeclaredAutocompleteJsonView.as_view(admin_site=admin.site)(request)


admin.site.autocomplete_view = _autocomplete_view

_FRENCH_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
# A whole or partial NIR as people type it: sex digit, then digits (2A/2B for Corsica).
_NIR_PREFIX = re.compile(r"^[12378]\d{4}(?:\d{2}|2A|2B)?\d*$")


def parse_french_date(text: str) -> date | None:
    """The date written JJ/MM/AAAA (or with dots or dashes), or None."""
    match = _FRENCH_DATE.match(text.strip())
    if not match:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


class FrenchTitlesMixin:
    """The change form's title with the French elision: « Modification de l'assuré »,
    where Django's « Modification de %s » gives « Modification de assuré »."""

    title_feminine = False  # the article of the model's verbose_name: « la » or « le »

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if add:
            title = gettext("Ajout %(of)s")
        elif self.has_change_permission(request, obj):
            title = gettext("Modification %(of)s")
        else:
            title = gettext("Affichage %(of)s")
        name = le(self.opts.verbose_name, feminine=self.title_feminine)
        context["title"] = title % {"of": de(name)}
        return super().render_change_form(request, context, add, change, form_url, obj)


class IdentitySearchMixin:
    """Search a person by NIR (spaces allowed), name, or birth date typed JJ/MM/AAAA.

    Words that are dates filter the birth date exactly; when the rest reads as a
    NIR (at least 7 characters, as typed on a Carte Vitale) it is matched from
    its start; anything else goes to the ordinary `search_fields`.
    """

    identity_prefix = ""  # the path from the listed model to the Patient ("holder__")
    search_help_text = _(
        "NIR (espaces permis), nom, prénoms ou date de naissance au format JJ/MM/AAAA."
    )

    def get_search_results(self, request, queryset, search_term):
        words, birth_dates = [], []
        for word in search_term.split():
            day = parse_french_date(word)
            if day is not None:
                birth_dates.append(day)
            else:
                words.append(word)
        for day in birth_dates:
            queryset = queryset.filter(**{f"{self.identity_prefix}birth_date": day})
        rest = " ".join(words)
        nir = normalise_nir(rest)
        if len(nir) >= 7 and _NIR_PREFIX.match(nir):
            return queryset.filter(**{f"{self.identity_prefix}nir__startswith": nir}), False
        return super().get_search_results(request, queryset, rest)


class ResetSignInForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif de la réinitialisation"),
        max_length=200,
        help_text=_(
            "Par exemple : « téléphone perdu, demande reçue par le support ». "
            "N'y écrivez aucune information sur la santé de la personne."
        ),
        widget=forms.TextInput(attrs={"size": 80}),
    )


class AccountCreationForm(forms.ModelForm):
    """A new account without a password: its owner chooses one through the emailed link."""

    class Meta:
        model = User
        fields = ["email", "kind"]

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


@admin.register(User)
class UserAdmin(FrenchTitlesMixin, BaseUserAdmin):
    """Accounts: for technical administrators only (agents have no permission on them).

    An administrator never knows another account's password: a new account gets
    none and its owner chooses it through a link sent to its email; "changing" the
    password of another account revokes its password, second factors and sessions
    (`credentials.reset_sign_in`). The email address, where that link goes, is not
    editable here.
    """

    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "kind", "is_active", "is_staff"]
    list_filter = ["kind", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Identité"), {"fields": ["first_name", "last_name", "kind"]}),
        (_("Droits"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_form = AccountCreationForm
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "kind"]})]
    filter_horizontal = ["groups"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "email"] if obj is not None else readonly

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            trace(
                actor=Actor.from_request(request),
                action=SpaceAction.ACCOUNT_CREATED,
                target=obj,
                detail={"account": obj.pk, "kind": obj.kind},
            )
            transaction.on_commit(lambda: credentials.send_set_password_link(obj.pk))

    def user_change_password(self, request, id, form_url=""):
        """Another account: a confirmation page, then the reset; one's own: Django's form."""
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404
        if user.pk == request.user.pk:
            return super().user_change_password(request, id, form_url)
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        change_url = reverse("admin:espace_sante_user_change", args=[user.pk])
        form = ResetSignInForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            credentials.reset_sign_in(
                user=user, by=Actor.from_request(request), reason=form.cleaned_data["reason"]
            )
            self.log_change(request, user, gettext("Réinitialisation des moyens de connexion"))
            self.message_user(
                request,
                gettext(
                    "Les moyens de connexion de %(email)s sont réinitialisés : ses sessions sont "
                    "fermées, et un lien pour choisir un mot de passe est envoyé à son adresse."
                )
                % {"email": user.email},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Réinitialiser les moyens de connexion"),
            "subtitle": user.email,
            "original": user,
            "account": user,
            "form": form,
            "media": self.media + form.media,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/espace_sante/user/reset_sign_in.html", context)


class ReadOnlyAdminMixin:
    """Listed and viewed, never added, changed or deleted from the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SecondFactorDeviceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A second-factor device, listed so an administrator sees who has one: never its secret.

    Read-only: the key, the QR code and a pending email code are never shown, and
    a device is neither added, changed nor deleted here (an account's devices are
    revoked together by the reset of its sign-in, on the account's page).
    """

    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields
    list_display = ["user", "name", "confirmed", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__email"]
    list_select_related = ["user"]


for _device in (TOTPDevice, EmailDevice):
    if admin.site.is_registered(_device):
        admin.site.unregister(_device)  # django-otp's own admins show the key and its QR code
    admin.site.register(_device, SecondFactorDeviceAdmin)


class SignInAddressAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """allauth's addresses, read-only: each one signs in and receives the password-reset link.

    An address an administrator could add to someone else's account would let
    them ask for that account's reset link, so none is added, changed or deleted here.
    """

    fields = ["user", "email", "verified", "primary"]
    readonly_fields = fields
    list_display = ["email", "user", "verified", "primary"]
    search_fields = ["email", "user__email"]
    list_select_related = ["user"]


if admin.site.is_registered(EmailAddress):
    admin.site.unregister(EmailAddress)
admin.site.register(EmailAddress, SignInAddressAdmin)

# allauth's social accounts are never in the admin: a link added there between a national
# identity (FranceConnect, Pro Santé Connect) and an account would sign its holder in as
# someone else; their tokens, and the apps' secrets (which the settings hold), neither.
for _social in (SocialAccount, SocialToken, SocialApp):
    if admin.site.is_registered(_social):
        admin.site.unregister(_social)


def masked_serial(serial: str) -> str:
    """A Carte Vitale serial as an agent sees it: its last 4 digits only."""
    serial = serial or ""
    return "•" * max(len(serial) - 4, 0) + serial[-4:]


class PatientForm(forms.ModelForm):
    """The identity an agent corrects: the serial is replaced, never shown; a change of
    contact details (or of the serial) needs its reason."""

    new_carte_vitale_serial = forms.CharField(
        label=_("Nouveau numéro de série de la carte Vitale"),
        required=False,
        max_length=14,
        help_text=_(
            "Seulement si une nouvelle carte a été émise ; laissez vide pour garder le numéro "
            "actuel, qui n'est jamais affiché."
        ),
        # Empty on every page: the stored serial is never put in the form.
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    contact_change_reason = forms.CharField(
        label=_("Motif de la modification des coordonnées"),
        required=False,
        max_length=200,
        help_text=_(
            "Obligatoire si vous modifiez l'adresse e-mail, l'adresse postale ou la carte "
            "Vitale : qui l'a demandé et comment (par exemple « demande de l'assuré au "
            "guichet, pièce d'identité vue »). N'y écrivez aucune information sur la santé de "
            "la personne. L'ancienne adresse est prévenue, et pendant 30 jours les codes "
            "provisoires partent par courrier à l'ancienne adresse postale."
        ),
        widget=forms.TextInput(attrs={"size": 80}),
    )

    class Meta:
        model = Patient
        fields = ["nir", "last_name", "first_names", "birth_date", "sex", "email", "postal_address"]

    def clean_new_carte_vitale_serial(self) -> str:
        serial = self.cleaned_data["new_carte_vitale_serial"].replace(" ", "")
        if serial:
            validate_carte_vitale_serial(serial)
        return serial

    def clean(self):
        cleaned = super().clean()
        sensitive = {"email", "postal_address"} & set(self.changed_data)
        if cleaned.get("new_carte_vitale_serial"):
            sensitive.add("carte_vitale_serial")
        if self.instance.pk and sensitive and not cleaned.get("contact_change_reason", "").strip():
            self.add_error(
                "contact_change_reason",
                _("Indiquez le motif de la modification des coordonnées ou de la carte Vitale."),
            )
        return cleaned


@admin.register(Patient)
class PatientAdmin(FrenchTitlesMixin, IdentitySearchMixin, admin.ModelAdmin):
    """The insured person's identity, which agents may correct; the space is on its own page.

    The account link is read-only: accounts are attached by activation, never by hand.
    The Carte Vitale serial is shown masked (last 4 digits) and only ever replaced; the
    contact details change through `services.change_contact`.
    """

    form = PatientForm

    list_display = ["last_name", "first_names", "birth_date", "nir", "space_link"]
    list_display_links = ["last_name", "first_names"]
    search_fields = ["^nir", "last_name", "first_names"]
    list_filter = ["sex"]
    list_select_related = ["space"]
    ordering = ["last_name", "first_names", "birth_date"]
    # The death is recorded from the space's page, which closes the space with it.
    readonly_fields = ["death", "carte_vitale", "account", "space_link"]
    fieldsets = [
        (
            _("Identité"),
            {"fields": ["nir", "last_name", "first_names", "birth_date", "sex", "death"]},
        ),
        (
            _("Carte Vitale et contact"),
            {
                "fields": [
                    "carte_vitale",
                    "new_carte_vitale_serial",
                    "email",
                    "postal_address",
                    "contact_change_reason",
                ]
            },
        ),
        (_("Compte et espace"), {"fields": ["account", "space_link"]}),
    ]
    empty_value_display = "—"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "space")

    def has_add_permission(self, request):
        return False  # identities come from the enrolment file

    def has_delete_permission(self, request, obj=None):
        return False  # an identity is kept with its space's tombstone and trail

    def save_model(self, request, obj, form, change):
        """Identity fields are saved as they are; contact details and the serial go through
        the service, which keeps what was on file, traces the reason and tells the person."""
        if not change:
            return super().save_model(request, obj, form, change)
        before = Patient.objects.get(pk=obj.pk)
        wanted = {"email": obj.email, "postal_address": obj.postal_address}
        obj.email, obj.postal_address = before.email, before.postal_address
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            try:
                contact_change = services.change_contact(
                    patient=obj,
                    **wanted,
                    carte_vitale_serial=form.cleaned_data.get("new_carte_vitale_serial") or None,
                    reason=form.cleaned_data.get("contact_change_reason", ""),
                    by=Actor.from_request(request),
                )
            except SpaceError as error:  # the form checks the reason first: a safety net
                raise PermissionDenied(str(error)) from error
        obj.refresh_from_db()
        if contact_change is not None:
            self.message_user(
                request,
                _(
                    "La modification est tracée avec son motif et l'ancien contact en est "
                    "prévenu. Pendant 30 jours, un code provisoire ne partira que par courrier, "
                    "à l'adresse postale enregistrée avant la modification."
                ),
                messages.INFO,
            )

    @admin.display(description=_("numéro de série de la carte Vitale"))
    def carte_vitale(self, obj: Patient) -> str:
        return masked_serial(obj.carte_vitale_serial)

    @admin.display(description=_("date de décès"))
    def death(self, obj: Patient):
        # A callable's None would print « None »: the date, or the admin's empty value.
        if getattr(obj, "death_date", None) is None:
            return self.get_empty_value_display()
        return date_format(obj.death_date, "j F Y")

    @admin.display(description=_("compte"))
    def account(self, obj: Patient) -> str:
        return obj.user.email if obj.user_id else _("pas encore de compte")

    @admin.display(description=_("espace santé"))
    def space_link(self, obj: Patient):
        space = _space_of(obj)
        if space is None:
            return None
        url = reverse("admin:espace_sante_space_change", args=[space.pk])
        return format_html('<a href="{}">{}</a>', url, space.get_state_display())


def _space_of(patient: Patient) -> Space | None:
    try:
        return patient.space
    except Space.DoesNotExist:
        return None


# --- The spaces -----------------------------------------------------------------------------


class LegalRepresentativeInline(admin.TabularInline):
    """Read-only: representatives come from the enrolment file, traced by the services."""

    model = LegalRepresentative
    fields = ["name", "account", "since_day", "until_day"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "patient")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("représentant"))
    def name(self, obj: LegalRepresentative) -> str:
        if obj.patient_id:
            return gettext("%(name)s, né(e) le %(day)s") % {
                "name": obj.patient,
                "day": short_day(obj.patient.birth_date),
            }
        return obj.user.get_full_name() if obj.user_id else "—"

    @admin.display(description=_("compte"))
    def account(self, obj: LegalRepresentative) -> str:
        return obj.user.email if obj.user_id else gettext("pas encore de compte")

    @admin.display(description=_("depuis le"))
    def since_day(self, obj: LegalRepresentative) -> str:
        return short_day(timezone.localdate(obj.since))

    @admin.display(description=_("jusqu'au"))
    def until_day(self, obj: LegalRepresentative) -> str:
        return short_day(timezone.localdate(obj.until)) if obj.until else "—"


@admin.register(Space)
class SpaceAdmin(FrenchTitlesMixin, IdentitySearchMixin, admin.ModelAdmin):
    """Find a person's space, read its state and lifecycle, act on it through the services.

    Nobody edits a space here: states change only through the lifecycle actions.
    """

    identity_prefix = "holder__"
    list_display = ["holder_name", "holder_birth_date", "holder_nir", "state", "state_changed_at"]
    list_filter = ["state"]
    search_fields = ["^holder__nir", "holder__last_name", "holder__first_names"]
    list_select_related = ["holder"]
    ordering = ["holder__last_name", "holder__first_names", "holder__birth_date"]
    show_full_result_count = False  # millions of spaces: no second COUNT(*) per search
    empty_value_display = "—"
    fieldsets = [
        (_("Titulaire"), {"fields": ["holder_link", "holder_birth_date", "holder_nir"]}),
        (
            _("État"),
            {"fields": ["state", "state_changed_at", "created_at", "opposition_deadline"]},
        ),
        (
            _("Clôture et archivage"),
            {
                "fields": [
                    "closed_at",
                    "retention_until",
                    "occupational_retention_until",
                    "deletion_due_at",
                    "handed_over_at",
                ]
            },
        ),
        (_("Identifiant technique"), {"fields": ["public_id"], "classes": ["collapse"]}),
    ]
    readonly_fields = [field for _title, options in fieldsets for field in options["fields"]]
    inlines = [LegalRepresentativeInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("holder")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("titulaire"), ordering="holder__last_name")
    def holder_name(self, obj: Space) -> str:
        return f"{obj.holder.last_name} {obj.holder.first_names}"

    @admin.display(description=_("date de naissance"), ordering="holder__birth_date")
    def holder_birth_date(self, obj: Space) -> str:
        return short_day(obj.holder.birth_date)

    @admin.display(description=_("NIR"), ordering="holder__nir")
    def holder_nir(self, obj: Space) -> str:
        return obj.holder.nir

    @admin.display(description=_("titulaire"))
    def holder_link(self, obj: Space):
        url = reverse("admin:espace_sante_patient_change", args=[obj.holder_id])
        return format_html('<a href="{}">{}</a>', url, obj.holder)

    # -- The change page: history and buttons --

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # The person, not the space's technical identifier, heads the page.
            context["subtitle"] = f"{obj.holder} — {obj.get_state_display()}"
            context["lifecycle_history"] = lifecycle_history(obj)
            if may_act_on_spaces(request.user):
                context["lifecycle_actions"] = [
                    {
                        "label": action.label,
                        "url": reverse(f"admin:{action.url_name}", args=[obj.pk]),
                        "destructive": action.destructive,
                    }
                    for action in ACTIONS
                    if action.available(obj)
                ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        def wrap(action: LifecycleAction):
            def view(request, object_id):
                return self.lifecycle_view(request, object_id, action)

            return self.admin_site.admin_view(view)

        custom = [
            path(f"<path:object_id>/{action.path}/", wrap(action), name=action.url_name)
            for action in ACTIONS
        ]
        return custom + super().get_urls()

    def lifecycle_view(self, request, object_id: str, action: LifecycleAction):
        """GET shows what the action does (and asks what it needs); POST carries it out."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not may_act_on_spaces(request.user):
            raise PermissionDenied
        space = self.get_object(request, unquote(object_id))
        if space is None:
            raise Http404
        change_url = reverse("admin:espace_sante_space_change", args=[space.pk])
        if request.method == "POST":
            form = action.form_class(request.POST, space=space)
            if form.is_valid():
                try:
                    message = action.perform(space, Actor.from_request(request), form.cleaned_data)
                except SpaceError as error:
                    self.message_user(request, str(error), messages.ERROR)
                else:
                    # The admin's own history names the action only: the reason is in the
                    # lifecycle history, read from the trail.
                    self.log_change(request, space, gettext("Action : %s") % action.label)
                    self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        else:
            form = action.form_class(space=space)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": action.label,
            "subtitle": str(space.holder),
            "original": space,
            "space": space,
            "action": action,
            "available": action.available(space),
            "form": form,
            "media": self.media + form.media,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/espace_sante/space/lifecycle_action.html", context)
