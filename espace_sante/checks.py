"""Start-up checks: misconfiguration is reported before the first request fails."""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.db import DatabaseError

from espace_sante.keyring import DEV_ENCRYPTION_KEYS, parse_keyring


@register()
def encryption_keys(app_configs, **kwargs):
    problems = []
    dev = set(parse_keyring(DEV_ENCRYPTION_KEYS).values())
    if not settings.DEBUG and dev & set(settings.ENCRYPTION_KEYS.values()):
        problems.append(
            Error(
                "The development encryption key is configured outside development.",
                hint="Generate keys with `manage.py generate_key` and set ENCRYPTION_KEYS.",
                id="espace_sante.E001",
            )
        )
    return problems


@register()
def master_keys_match(app_configs, **kwargs):
    """A known key id with other bytes would wrap new data keys no one could read back."""
    from espace_sante import crypto

    problems = []
    for key_id in settings.ENCRYPTION_KEYS:
        try:
            problem = crypto.master_key_problem(key_id)
        except DatabaseError:
            # No database yet (first `migrate`) or not reachable: nothing to compare with.
            return []
        if problem is not None:
            problems.append(
                Error(
                    f"ENCRYPTION_KEYS: {problem}.",
                    hint=(
                        "Restore the master key this key id had (see docs/OPERATIONS.md, "
                        "« Incidents d'intégrité »); never replace a key's bytes under the "
                        "same id: add a new key id and rotate."
                    ),
                    id="espace_sante.E002",
                )
            )
    return problems


@register(deploy=True)
def broker_configured(app_configs, **kwargs):
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return [
            Warning(
                "Celery runs tasks in the web process (no REDIS_URL).",
                hint="Set REDIS_URL and run a Celery worker and beat in production.",
                id="espace_sante.W001",
            )
        ]
    return []
