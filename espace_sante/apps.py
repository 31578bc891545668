from django.apps import AppConfig


class EspaceSanteConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "espace_sante"
    verbose_name = "Espace santé"

    def ready(self):
        from espace_sante import actions, assurance, checks  # noqa: F401

        actions.register(actions.SpaceAction)

        from espace_sante import franceconnect, identity_providers

        identity_providers.register_matcher(
            identity_providers.FRANCECONNECT, franceconnect.match_holder
        )
