from django.contrib import admin

from acces.models import Professional


@admin.register(Professional)
class ProfessionalAdmin(admin.ModelAdmin):
    list_display = ["rpps", "user", "profession", "specialty", "practice_town"]
    list_filter = ["profession", "specialty"]
    search_fields = ["rpps", "user__last_name", "user__first_name", "practice_town"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]
