"""The admin of `acces`: the professionals' directory and the profession × document-type
matrix, for technical administrators only.

The spaces' page (`SpaceAdmin`) is `espace_sante`'s own (`espace_sante.admin`).
"""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from acces.actions import AccessAction
from acces.models import DocumentAccessRule, Professional
from espace_sante.admin import FrenchTitlesMixin
from espace_sante.tracing import Actor, trace


@admin.register(Professional)
class ProfessionalAdmin(FrenchTitlesMixin, admin.ModelAdmin):
    """Professionals' directory: technical administrators only (agents have no permission)."""

    list_display = ["rpps", "user", "profession", "specialty", "practice_town"]
    list_filter = ["profession", "specialty"]
    search_fields = ["rpps", "user__last_name", "user__first_name", "practice_town"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]

    # Professionals come from the directory import (docs/ANNUAIRE.md). An administrator
    # who could add one, or point one at another account, could make themselves a
    # professional and declare a patient's consent: neither is possible here.
    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "user", "rpps"]


@admin.register(DocumentAccessRule)
class DocumentAccessRuleAdmin(FrenchTitlesMixin, admin.ModelAdmin):
    """The profession × document-type matrix (docs/MATRICE.md): superusers only.

    CPAM agents and other staff neither see nor change it, whatever permissions
    they were given. Every addition, change and removal is traced in the same
    transaction as the change; the rule's own save and delete forget the
    cached matrix in every process.
    """

    title_feminine = True  # « la règle d'accès »

    list_display = ["profession", "type_code"]
    list_filter = ["profession"]
    search_fields = ["type_code"]
    search_help_text = _("Code LOINC du type de document, par exemple 57833-6.")
    ordering = ["profession", "type_code"]
    fields = ["profession", "type_code"]
    list_per_page = 200  # the whole matrix on one page, grouped by profession

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

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            if change:
                before = {field: form.initial.get(field) for field in self.fields}
                super().save_model(request, obj, form, change)
                _trace_rule(request, AccessAction.MATRIX_RULE_CHANGED, obj, before=before)
            else:
                super().save_model(request, obj, form, change)
                _trace_rule(request, AccessAction.MATRIX_RULE_ADDED, obj)

    def delete_model(self, request, obj):
        with transaction.atomic():
            _trace_rule(request, AccessAction.MATRIX_RULE_REMOVED, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The changelist's "delete selected" action: one trace per rule removed.
        with transaction.atomic():
            for rule in queryset:
                _trace_rule(request, AccessAction.MATRIX_RULE_REMOVED, rule)
            super().delete_queryset(request, queryset)


def _trace_rule(request, action: str, rule: DocumentAccessRule, before: dict | None = None):
    detail = {"profession": rule.profession, "type_code": rule.type_code}
    if before is not None:
        detail["before"] = before
    trace(actor=Actor.from_request(request), action=action, target=rule, detail=detail)
