"""Encrypting and decrypting what an appointment is about: its details.

One JSON object per appointment (the name typed by hand, the place, the specialty, the
reason, the comment), encrypted under the appointment's own data key with its identity as
the authenticated context, so a ciphertext copied onto another appointment does not
decrypt. The pages, the feed, the export and the destruction all go through this module.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from espace_sante import crypto


@dataclass(frozen=True)
class Details:
    name: str = ""  # the professional or establishment typed by hand
    place: str = ""
    specialty: str = ""
    reason: str = ""
    comment: str = ""

    def __bool__(self) -> bool:
        return any(asdict(self).values())


EMPTY = Details()


def context(appointment) -> bytes:
    return f"appointment:{appointment.public_id}:details".encode()


def seal(appointment, details: Details) -> None:
    """Encrypt `details` into the appointment (not saved); a first seal makes its key."""
    if appointment.data_key_id is None:
        appointment.data_key = crypto.new_data_key()
    payload = json.dumps(asdict(details), ensure_ascii=False).encode("utf-8")
    appointment.details_ciphertext = crypto.encrypt(
        payload, appointment.data_key, context=context(appointment)
    )


def details(appointment) -> Details:
    """The decrypted details (EMPTY when none were sealed). Needs `data_key` loaded."""
    if appointment.details_ciphertext is None or appointment.data_key_id is None:
        return EMPTY
    clear = crypto.decrypt(
        bytes(appointment.details_ciphertext), appointment.data_key, context=context(appointment)
    )
    known = {f.name for f in fields(Details)}
    return Details(**{k: v for k, v in json.loads(clear).items() if k in known})
