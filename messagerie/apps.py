from django.apps import AppConfig


class MessagerieConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "messagerie"
    verbose_name = "Messagerie sécurisée"

    def ready(self):
        from acces.selectors import register_access_page_section
        from espace_sante import navigation, parts
        from messagerie import navigation as messaging_navigation
        from messagerie import parts as messaging

        parts.register(messaging.MESSAGES)
        navigation.register(messaging_navigation.patient_entries)
        register_access_page_section(messaging_navigation.refused_senders_section)
