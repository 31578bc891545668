"""The referencing staff's admin: the catalogue's services, their purposes and the reports.

The group « Référencement des services » (`catalogue.directory.services.referencing_group`)
has the permissions on these models only: no space, no patient, no medical content. CPAM
agents have none of them, so they do not see this part of the admin. Connections and their
tokens are never in the admin, nor django-oauth-toolkit's tokens and grants; its
`Application` (the OAuth2 client of a service) stays for superusers only.

Every addition, change and removal of a service or purpose is traced in the same
transaction (`catalogue.directory.actions.DirectoryAction`).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oauth2_provider import models as oauth_models

from catalogue.directory import services
from catalogue.directory.actions import DirectoryAction
from catalogue.models import (
    Purpose,
    PurposeScope,
    Service,
    ServiceReport,
    ServiceTheme,
    Software,
)
from espace_sante.admin import FrenchTitlesMixin
from espace_sante.tracing import Actor, trace

# django-oauth-toolkit's tokens, grants and ID tokens act for a patient's space: never shown.
for _model in (
    oauth_models.get_access_token_model(),
    oauth_models.get_refresh_token_model(),
    oauth_models.get_grant_model(),
    oauth_models.get_id_token_model(),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class _SuperuserOnly:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


_Application = oauth_models.get_application_model()
try:
    _ApplicationAdmin = type(admin.site._registry[_Application])
    admin.site.unregister(_Application)
except KeyError:
    _ApplicationAdmin = admin.ModelAdmin


@admin.register(_Application)
class ApplicationAdmin(_SuperuserOnly, _ApplicationAdmin):
    """The OAuth2 clients: technical administrators only (a secret may be shown)."""


class _TracedAdmin(FrenchTitlesMixin, admin.ModelAdmin):
    """Traces each save and deletion, with the changed fields' names (not their values)."""

    changed_action: DirectoryAction
    added_action: DirectoryAction
    removed_action: DirectoryAction

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            action = self.changed_action if change else self.added_action
            self._trace(request, action, obj, changed=list(form.changed_data))

    def save_related(self, request, form, formsets, change):
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            inlines = [f.model._meta.model_name for f in formsets if f.has_changed()]
            if inlines:
                self._trace(request, self.changed_action, form.instance, inlines=inlines)

    def delete_model(self, request, obj):
        with transaction.atomic():
            self._trace(request, self.removed_action, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self._trace(request, self.removed_action, obj)
            super().delete_queryset(request, queryset)

    def _trace(self, request, action, obj, **detail):
        service = obj if isinstance(obj, Service) else getattr(obj, "service", None)
        if service is not None:
            detail["service"] = service.slug
        if isinstance(obj, Software):
            detail["software"] = obj.slug
        trace(actor=Actor.from_request(request), action=action, target=obj, detail=detail)


class ServiceThemeInline(admin.TabularInline):
    model = ServiceTheme
    extra = 1


class PurposeInline(admin.StackedInline):
    model = Purpose
    extra = 0
    fields = ["code", "label", "description", "since_version", "position"]
    show_change_link = True  # its scopes are on the purpose's own page


@admin.register(Service)
class ServiceAdmin(_TracedAdmin):
    added_action = DirectoryAction.SERVICE_ADDED
    changed_action = DirectoryAction.SERVICE_CHANGED
    removed_action = DirectoryAction.SERVICE_REMOVED

    list_display = ["name", "editor", "status", "device_kind", "referenced_on"]
    list_filter = ["status", "themes__theme", "device_kind", "economic_model"]
    search_fields = ["name", "editor", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ServiceThemeInline, PurposeInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "editor", "summary", "description", "regions"]}),
        (
            _("Liens"),
            {
                "fields": [
                    "website_url",
                    "ios_url",
                    "android_url",
                    "terms_url",
                    "privacy_url",
                    "contact_email",
                ]
            },
        ),
        (
            _("Référencement"),
            {
                "fields": [
                    "device_kind",
                    "economic_model",
                    "referenced_on",
                    "meets_urbanisation",
                    "meets_security",
                    "meets_interoperability",
                    "meets_ethics",
                    "status",
                    "version",
                    "reapproval_deadline",
                ]
            },
        ),
        (_("Client OAuth2"), {"fields": ["application"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Pointing a service at another OAuth2 client is a technical administrator's act.
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return [*super().get_readonly_fields(request, obj), "application"]


class PurposeScopeInline(admin.TabularInline):
    model = PurposeScope
    extra = 1
    fields = ["resource", "access", "document_category", "since_version"]


@admin.register(Purpose)
class PurposeAdmin(_TracedAdmin):
    title_feminine = True  # « la finalité »
    added_action = DirectoryAction.PURPOSE_CHANGED
    changed_action = DirectoryAction.PURPOSE_CHANGED
    removed_action = DirectoryAction.PURPOSE_REMOVED

    list_display = ["label", "code", "service", "since_version"]
    list_filter = ["service"]
    search_fields = ["label", "code", "service__name"]
    list_select_related = ["service"]
    inlines = [PurposeScopeInline]


@admin.register(ServiceReport)
class ServiceReportAdmin(FrenchTitlesMixin, admin.ModelAdmin):
    """Patients' reports: read, and marked handled. The reporter is not shown (their
    account is no business of the referencing staff)."""

    list_display = ["__str__", "service", "reason", "created_at", "handled_at"]
    list_filter = ["reason", ("handled_at", admin.EmptyFieldListFilter), "service"]
    search_fields = ["service__name"]
    list_select_related = ["service"]
    fields = ["service", "reason", "message", "created_at", "handled_at"]
    readonly_fields = fields
    actions = ["mark_handled"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Marquer comme traités"), permissions=["change"])
    def mark_handled(self, request, queryset):
        actor = Actor.from_request(request)
        done = sum(services.mark_handled(report=report, by=actor) for report in queryset)
        self.message_user(
            request,
            ngettext(
                "%(n)d signalement marqué comme traité.",
                "%(n)d signalements marqués comme traités.",
                done,
            )
            % {"n": done},
            messages.SUCCESS,
        )


@admin.register(Software)
class SoftwareAdmin(_TracedAdmin):
    """The registry of professionals' software: who may call the FHIR API for the
    professionals who use it (`docs/INTEROP.md`). Its tokens are never shown."""

    added_action = DirectoryAction.SOFTWARE_ADDED
    changed_action = DirectoryAction.SOFTWARE_CHANGED
    removed_action = DirectoryAction.SOFTWARE_REMOVED

    list_display = ["name", "editor", "homologation_ref", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "editor", "slug", "homologation_ref"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "editor", "homologation_ref", "is_active", "application"]

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return [*super().get_readonly_fields(request, obj), "application"]
