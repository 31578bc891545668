from django.apps import AppConfig


class DossierConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dossier"
    verbose_name = "Dossier médical partagé"

    def ready(self):
        from dossier import services
        from espace_sante import export, lifecycle

        lifecycle.on_destroy(services.destroy_documents)
        export.on_export(services.export_documents)
