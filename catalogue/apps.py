from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "catalogue"

    def ready(self):
        from catalogue import parts as catalogue_parts
        from catalogue.api import setup as api
        from catalogue.connections.parts import CONNECTIONS
        from catalogue.directory import setup as directory
        from espace_sante import parts

        api.register()
        directory.register()
        parts.register(CONNECTIONS)
        parts.register(catalogue_parts.CATALOGUE)
