"""The history demo data: Camille's history of care, from a file kept beside this module
(`demo_care_history.csv`, the format of `manage.py import_care_history`) loaded through
the same import code. Loading it again adds nothing (the events' natural keys)."""

from datetime import date
from pathlib import Path

from agenda.history import importer
from espace_sante.tracing import Actor

DEMO_FILE = Path(__file__).with_name("demo_care_history.csv")


def load(spaces, pros):
    # The file's dates are fixed: a demo run with a clock set earlier must still load them.
    report = importer.import_file(DEMO_FILE, by=Actor.system(), today=date.max)
    if report.rejected:
        raise RuntimeError(f"the demo's care history does not load: {report.rejected}")
    return report
