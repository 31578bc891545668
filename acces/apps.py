from django.apps import AppConfig


class AccesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "acces"
    verbose_name = "Accès et traçabilité"

    def ready(self):
        from acces import audit, signals  # noqa: F401
        from acces.actions import AccessAction
        from espace_sante import actions
        from espace_sante.tracing import register_recorder

        register_recorder(audit.record, audit.record_many)
        actions.register(AccessAction)
