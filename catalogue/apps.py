from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "catalogue"

    def ready(self):
        from catalogue import parts
        from catalogue.api import setup as api

        api.register()
        parts.register()
