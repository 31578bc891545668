from django.apps import AppConfig


class DossierConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dossier"
    verbose_name = "Dossier médical partagé"

    def ready(self):
        from django.db.models.signals import post_migrate

        from acces import selectors as acces_selectors
        from dossier import parts as dmp
        from dossier import reference, selectors
        from espace_sante import parts

        acces_selectors.register_authored_counter(selectors.documents_added_by_professionals)
        post_migrate.connect(reference.restore_reference_data, sender=self)
        parts.register(dmp.DOCUMENTS)
        parts.register(dmp.PROFILE)
