from django.apps import AppConfig


class AccesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "acces"
    verbose_name = "Accès et traçabilité"

    def ready(self):
        from acces import audit, signals  # noqa: F401
        from acces import parts as trail
        from acces.policy import export_decision
        from espace_sante import parts
        from espace_sante.tracing import register_recorder

        register_recorder(audit.record, audit.record_many)
        parts.set_export_decision(export_decision)
        parts.register(trail.TRAIL)
