from django.apps import AppConfig


class MessagerieConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "messagerie"
    verbose_name = "Messagerie sécurisée"

    def ready(self):
        from espace_sante import nav, parts
        from messagerie import nav as messaging_nav
        from messagerie import parts as messaging

        parts.register(messaging.MESSAGES)
        nav.register_entry("pro", messaging_nav.pro_entry)
