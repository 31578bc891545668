from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "catalogue"

    def ready(self):
        from catalogue import parts as catalogue_parts
        from espace_sante import parts

        parts.register(catalogue_parts.CATALOGUE)
