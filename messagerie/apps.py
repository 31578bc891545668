from django.apps import AppConfig


class MessagerieConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "messagerie"
    verbose_name = "Messagerie sécurisée"

    def ready(self):
        from acces.selectors import register_access_page_section
        from dossier import fhir
        from espace_sante import nav, parts
        from messagerie import export, importer, sections
        from messagerie import nav as messaging_nav
        from messagerie import parts as messaging

        parts.register(messaging.MESSAGES)
        fhir.register_resources(export.communications)
        fhir.register_importer("Communication", importer.take_back, label=importer.LABEL)
        nav.register_entry("patient", messaging_nav.patient_entry)
        nav.register_entry("pro", messaging_nav.pro_entry)
        register_access_page_section(sections.refused_senders_section)
