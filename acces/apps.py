from django.apps import AppConfig


class AccesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "acces"
    verbose_name = "Accès et traçabilité"

    def ready(self):
        from acces import audit, signals  # noqa: F401
        from acces import parts as trail
        from acces.policy import export_decision
        from acces.pro_sante_connect import match_professional
        from espace_sante import identity_providers, parts
        from espace_sante.tracing import register_reader, register_recorder

        # The one door for audit writes, and the space core's read of its own events.
        register_recorder(audit.record, audit.record_many)
        register_reader(audit.read_space_events)
        parts.set_export_decision(export_decision)
        parts.register(trail.TRAIL)
        identity_providers.register_matcher(
            identity_providers.PRO_SANTE_CONNECT, match_professional
        )
