"""What the history sub-part registers at start-up (called by `AgendaConfig.ready`)."""

from django.db.models.signals import post_migrate


def register():
    from django.apps import apps

    from agenda.history import rules
    from agenda.history.parts import CARE_HISTORY
    from espace_sante import parts

    post_migrate.connect(rules.restore_access_rules, sender=apps.get_app_config("agenda"))
    parts.register(CARE_HISTORY)
