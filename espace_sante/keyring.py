"""Parsing of the master-key ring, kept free of Django so settings can use it."""

import base64
import binascii

from django.core.exceptions import ImproperlyConfigured

# Public on purpose: production refuses to start with them (see settings).
DEV_ENCRYPTION_KEYS = "dev-2026:ZGV2LWtleS1tb24tZXNwYWNlLXNhbnRlLTMyYnl0ZXM="


def parse_keyring(value: str) -> dict[str, bytes]:
    """Turn "kid1:base64,kid2:base64" into {kid: 32-byte key}, refusing anything else."""
    ring: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        kid, sep, encoded = item.partition(":")
        if not sep or not kid:
            raise ImproperlyConfigured(f"ENCRYPTION_KEYS entry {item[:8]!r}… is not 'kid:base64'")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ImproperlyConfigured(f"ENCRYPTION_KEYS key {kid!r} is not base64") from exc
        if len(key) != 32:
            raise ImproperlyConfigured(f"ENCRYPTION_KEYS key {kid!r} must be 32 bytes (AES-256)")
        if kid in ring:
            raise ImproperlyConfigured(f"ENCRYPTION_KEYS lists key id {kid!r} twice")
        ring[kid] = key
    if not ring:
        raise ImproperlyConfigured("ENCRYPTION_KEYS is empty")
    return ring
