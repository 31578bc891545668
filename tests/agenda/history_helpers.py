"""Helpers of the history-of-care tests: a CSV file of care events, and events in bulk."""

from __future__ import annotations

import io
import uuid

from agenda.history.importer import import_rows, read_csv
from agenda.history.sealing import Details, seal
from agenda.models import CareEvent, CareHistoryKey
from espace_sante import crypto
from espace_sante.tracing import Actor

HEADER = "nir;date;nature;code;libelle;rpps;finess;etablissement"


def csv_text(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def run_import(text: str, **options):
    return import_rows(
        read_csv(io.StringIO(text)), by=Actor.system(), source="essai.csv", **options
    )


def make_events(space, count: int, *, kind=CareEvent.Kind.DISPENSATION, label="Doliprane 1000"):
    """`count` encrypted events of `space` (as the import writes them), in one bulk insert."""
    key = CareHistoryKey.objects.filter(space=space).select_related("data_key").first()
    if key is None:
        key = CareHistoryKey.objects.create(space=space, data_key=crypto.new_data_key())
    events = []
    for n in range(count):
        public_id = uuid.uuid4()
        events.append(
            CareEvent(
                space=space,
                date=f"{2000 + n % 25}-0{1 + n % 9}-1{n % 9}",
                kind=kind,
                code=f"C{n:05d}",
                public_id=public_id,
                data_key=key.data_key,
                details_ciphertext=seal(
                    Details(label=f"{label} {n}"), data_key=key.data_key, public_id=public_id
                ),
                natural_key=uuid.uuid4().hex,
            )
        )
    CareEvent.objects.bulk_create(events)
    return events
