from django.apps import AppConfig


class DossierConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dossier"
    verbose_name = "Dossier médical partagé"

    def ready(self):
        from django.db.models.signals import post_migrate

        from acces import selectors as acces_selectors
        from dossier import fhir, reference, selectors, services, summary
        from dossier.actions import PROFILE_CHANGED_LABEL, PROFILE_PREFIX, DossierAction
        from espace_sante import actions, export, lifecycle

        actions.register(DossierAction, families={PROFILE_PREFIX: PROFILE_CHANGED_LABEL})

        acces_selectors.register_authored_counter(selectors.documents_added_by_professionals)
        post_migrate.connect(reference.restore_reference_data, sender=self)
        lifecycle.on_destroy(services.destroy_documents)
        lifecycle.on_professional_content(services.has_professional_documents)
        export.on_export(services.export_documents, count=services.count_exported_documents)
        export.on_export(fhir.export_bundle, count=lambda space: 1)
        export.on_export(summary.export_summary, count=lambda space: 1)
