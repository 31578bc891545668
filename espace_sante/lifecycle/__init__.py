"""The space's lifecycle: codes, opposition, activation, closure, archive, destruction.

Every transition goes through `Space.move_to` (which refuses what the state
machine does not allow), is traced in the space's chain and notified, in one
transaction. Sweeps run from Celery beat and work in bulk.

Provisional codes are never stored in clear: they are shown once, in the
email or letter that carries them, and kept as an HMAC.

The package is cut by concern (codes, opposition, activation, closure, destruction,
suspension, sweep; `_common` for what they share): every public name is re-exported
here, so `lifecycle.close(...)` and `from espace_sante.lifecycle import Claim` read as before.
"""

from espace_sante.lifecycle.activation import (
    UNCONFIRMED_EMAIL_ERROR,
    activate,
    activate_for_minor,
    email_confirmed_by_holder,
    has_professional_content,
    reactivate,
    reactivate_with_code,
)
from espace_sante.lifecycle.closure import (
    close,
    record_death,
    request_deletion,
    retention_end,
)
from espace_sante.lifecycle.codes import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CODE_STATES,
    GENERIC_CODE_ERROR,
    Claim,
    CodeDelivery,
    code_delivery,
    format_code,
    issue_code,
    normalise_code,
    send_new_code,
)
from espace_sante.lifecycle.destruction import (
    destroy,
)
from espace_sante.lifecycle.opposition import (
    announce_deadline,
    oppose,
    record_opposition,
)
from espace_sante.lifecycle.suspension import (
    lift_suspension,
    suspend,
)
from espace_sante.lifecycle.sweep import (
    close_unchallenged_suspensions,
    destroy_due,
    hand_over_adults,
    sweep_announced,
)

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CODE_STATES",
    "GENERIC_CODE_ERROR",
    "UNCONFIRMED_EMAIL_ERROR",
    "Claim",
    "CodeDelivery",
    "activate",
    "activate_for_minor",
    "announce_deadline",
    "close",
    "close_unchallenged_suspensions",
    "code_delivery",
    "destroy",
    "destroy_due",
    "email_confirmed_by_holder",
    "format_code",
    "hand_over_adults",
    "has_professional_content",
    "issue_code",
    "lift_suspension",
    "normalise_code",
    "oppose",
    "reactivate",
    "reactivate_with_code",
    "record_death",
    "record_opposition",
    "request_deletion",
    "retention_end",
    "send_new_code",
    "suspend",
    "sweep_announced",
]
