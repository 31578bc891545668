"""The agenda's models, one module per sub-part (see docs/AGENDA.md).

- `appointments`: the appointments of a space (`agenda.appointments`);
- `history`: the care events the Assurance Maladie holds (`agenda.history`);
- `prevention`: the prevention rules and each person's reminders (`agenda.prevention`).
"""

from agenda.models.appointments import Appointment
from agenda.models.history import CareEvent
from agenda.models.prevention import (
    PreventionMark,
    PreventionPreference,
    PreventionRule,
    PreventionStatus,
)

__all__ = [
    "Appointment",
    "CareEvent",
    "PreventionMark",
    "PreventionPreference",
    "PreventionRule",
    "PreventionStatus",
]
