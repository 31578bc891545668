"""The encrypted details of a care event: its label and its establishment's name.

They are sealed as one small JSON object under the space's care-history data key
(`CareHistoryKey`), with the event's public id as authenticated context, so a ciphertext
moved to another row does not decrypt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from espace_sante import crypto
from espace_sante.models import DataKey


@dataclass(frozen=True)
class Details:
    label: str = ""
    establishment: str = ""


def _context(public_id) -> bytes:
    return f"care_event:{public_id}".encode()


def seal(details: Details, *, data_key: DataKey, public_id) -> bytes:
    payload = {"label": details.label}
    if details.establishment:
        payload["establishment"] = details.establishment
    plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return crypto.encrypt(plaintext, data_key, context=_context(public_id))


def details_of(event) -> Details:
    """The event's details, decrypted (its `data_key` should be select_related)."""
    if not event.data_key_id or not event.details_ciphertext:
        return Details()
    plaintext = crypto.decrypt(
        bytes(event.details_ciphertext), event.data_key, context=_context(event.public_id)
    )
    payload = json.loads(plaintext)
    return Details(label=payload.get("label", ""), establishment=payload.get("establishment", ""))
