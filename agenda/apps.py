from django.apps import AppConfig


class AgendaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "agenda"
    verbose_name = "Agenda santé"

    def ready(self):
        from agenda.appointments import setup as appointments
        from agenda.history import setup as history
        from agenda.prevention import setup as prevention

        appointments.register()
        history.register()
        prevention.register()
