"""What the prevention sub-part registers at start-up (called by `AgendaConfig.ready`)."""

from django.db.models.signals import post_migrate


def register():
    from django.apps import apps

    from agenda.prevention import parts as prevention_parts
    from agenda.prevention import (
        rules,
        tasks,  # noqa: F401  (registers the Celery tasks)
    )
    from espace_sante import parts

    post_migrate.connect(rules.restore_rules, sender=apps.get_app_config("agenda"))
    parts.register(prevention_parts.PREVENTION)
