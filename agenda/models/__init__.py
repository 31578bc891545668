"""The agenda's models, one module per sub-part (see docs/AGENDA.md).

- `appointments`: the appointments of a space and the iCalendar feeds (`agenda.appointments`);
- `history`: the care events the Assurance Maladie holds (`agenda.history`);
- `prevention`: the prevention rules and each person's reminders (`agenda.prevention`).
"""

from agenda.models.appointments import Appointment, CalendarFeed
from agenda.models.history import CareEvent, CareEventAccessRule, CareHistoryKey
from agenda.models.prevention import (
    PreventionMark,
    PreventionPreference,
    PreventionRule,
    PreventionStatus,
)

__all__ = [
    "Appointment",
    "CalendarFeed",
    "CareEvent",
    "CareEventAccessRule",
    "CareHistoryKey",
    "PreventionMark",
    "PreventionPreference",
    "PreventionRule",
    "PreventionStatus",
]
