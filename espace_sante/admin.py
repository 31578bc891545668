"""The CPAM agents' admin: identities and spaces' lifecycle, never medical content.

This module registers the accounts and the insured persons' identities. The
space itself is registered by `acces.admin`: its page shows the lifecycle
history, which is read from the audit trail that `acces` owns, and
`espace_sante` imports no other app.

Nothing medical is registered for anyone: notifications, data keys, letters,
provisional codes and the audit trail stay out of the admin.
"""

from __future__ import annotations

import re
from datetime import date

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from espace_sante.french import de, le
from espace_sante.identity import normalise_nir
from espace_sante.models import Patient, Space, User

admin.site.site_header = _("Mon espace santé — administration CPAM")
admin.site.site_title = _("Administration Mon espace santé")
admin.site.index_title = _("Gestion des espaces")

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


@admin.register(User)
class UserAdmin(FrenchTitlesMixin, BaseUserAdmin):
    """Accounts: for technical administrators only (agents have no permission on them)."""

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
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "kind", "password1", "password2"]})
    ]
    filter_horizontal = ["groups"]


@admin.register(Patient)
class PatientAdmin(FrenchTitlesMixin, IdentitySearchMixin, admin.ModelAdmin):
    """The insured person's identity, which agents may correct; the space is on its own page.

    The account link is read-only: accounts are attached by activation, never by hand.
    """

    list_display = ["last_name", "first_names", "birth_date", "nir", "space_link"]
    list_display_links = ["last_name", "first_names"]
    search_fields = ["^nir", "last_name", "first_names"]
    list_filter = ["sex"]
    list_select_related = ["space"]
    ordering = ["last_name", "first_names", "birth_date"]
    # The death is recorded from the space's page, which closes the space with it.
    readonly_fields = ["death", "account", "space_link"]
    fieldsets = [
        (
            _("Identité"),
            {"fields": ["nir", "last_name", "first_names", "birth_date", "sex", "death"]},
        ),
        (
            _("Carte Vitale et contact"),
            {"fields": ["carte_vitale_serial", "email", "postal_address"]},
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

    @admin.display(description=_("date de décès"))
    def death(self, obj: Patient):
        # A callable's None would print « None »: the date, or the admin's empty value.
        if obj.death_date is None:
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
