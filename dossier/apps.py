from django.apps import AppConfig


class DossierConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dossier"
    verbose_name = "Dossier médical partagé"

    def ready(self):
        from django.db.models.signals import post_migrate

        from dossier import parts as dmp
        from dossier import reference
        from espace_sante import parts

        post_migrate.connect(reference.restore_reference_data, sender=self)
        parts.register(dmp.DOCUMENTS)
        parts.register(dmp.PROFILE)
