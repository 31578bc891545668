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


@register()
def identity_providers_complete(app_configs, **kwargs):
    """Pro Santé Connect and FranceConnect are on with both a client id and a secret, off with
    neither: half a configuration would silently hide the button."""
    from espace_sante.identity_providers import PROVIDERS

    problems = []
    for provider_id, setting in PROVIDERS.items():
        conf = getattr(settings, setting)
        prefix = "PSC" if setting == "PRO_SANTE_CONNECT" else setting
        if bool(conf["client_id"]) != bool(conf["secret"]):
            problems.append(
                Error(
                    f"{provider_id}: {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET go together.",
                    hint="Set both to turn the sign-in on, or neither to keep it off.",
                    id="espace_sante.E003",
                )
            )
        if conf["client_id"] and not conf["acr_values"]:
            problems.append(
                Error(
                    f"{provider_id}: {prefix}_ACR_VALUES is empty.",
                    hint="Pro Santé Connect and FranceConnect expect eidas1 (or more).",
                    id="espace_sante.E004",
                )
            )
    return problems


@register(deploy=True)
def object_storage_over_tls(app_configs, **kwargs):
    """Ciphertext only, but the bucket's credentials and metadata must not cross in clear."""
    options = settings.STORAGES["default"].get("OPTIONS", {})
    endpoint = options.get("endpoint_url") or ""
    if settings.STORAGE_BACKEND == "s3" and endpoint.startswith("http://"):
        return [
            Warning(
                f"S3_ENDPOINT_URL is plain HTTP ({endpoint}).",
                hint="Use the provider's https:// endpoint in production.",
                id="espace_sante.W003",
            )
        ]
    return []
