"""The agenda's demo data (called by the `demo` command, which is glue)."""

from agenda.appointments import demo as appointments
from agenda.history import demo as history
from agenda.prevention import demo as prevention


def load(spaces, pros):
    """`spaces` and `pros` are the demo command's dicts (camille, leo, …; generaliste, …)."""
    history.load(spaces, pros)
    appointments.load(spaces, pros)
    prevention.load(spaces, pros)
