"""The CPAM agents' admin: identities and spaces' lifecycle, never medical content."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from espace_sante.models import LegalRepresentative, Patient, Space, User

admin.site.site_header = _("Mon espace santé — administration CPAM")
admin.site.site_title = _("Administration Mon espace santé")
admin.site.index_title = _("Gestion des espaces")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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


class LegalRepresentativeInline(admin.TabularInline):
    model = LegalRepresentative
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_names", "birth_date", "nir"]
    search_fields = ["nir", "last_name", "first_names"]
    list_filter = ["sex"]
    date_hierarchy = "birth_date"
    raw_id_fields = ["user"]


@admin.register(Space)
class SpaceAdmin(admin.ModelAdmin):
    list_display = ["public_id", "holder", "state", "state_changed_at"]
    list_filter = ["state"]
    search_fields = ["holder__nir", "holder__last_name", "holder__first_names"]
    readonly_fields = ["public_id", "holder", "state", "state_changed_at", "created_at"]
    list_select_related = ["holder"]
    inlines = [LegalRepresentativeInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
