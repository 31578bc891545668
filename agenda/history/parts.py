"""The history of care, a part of the space (`espace_sante.parts`), registered by
`agenda.history.setup.register` from `AgendaConfig.ready`.

"care_history": the care events the Assurance Maladie holds (`CareEvent`).

- export: `historique-des-soins/historique-des-soins.csv`, every event the export decision
  lets its reader see, decrypted (one file, when there is at least one event);
- counts: ("Événements de soins", n), those the reader sees, one `count()` query;
- destroy: the space's care-history data key is destroyed (crypto-shredding), then the
  events and the key's row are deleted; nothing belongs to the occupational-health part;
- no professional content: the events come from the insurer, not from professionals.
"""

from __future__ import annotations

import csv
import io

from django.utils.translation import gettext_lazy as _

from agenda.history.actions import CareHistoryAction
from agenda.history.sealing import details_of
from agenda.history.selectors import care_events_visible_to, count_events
from agenda.models import CareEvent, CareHistoryKey
from espace_sante import crypto
from espace_sante.models import DataKey
from espace_sante.parts import Part

EXPORT_PATH = "historique-des-soins/historique-des-soins.csv"
EXPORT_COLUMNS = (
    "date",
    "nature",
    "code",
    "libelle",
    "rpps",
    "finess",
    "etablissement",
    "source",
)


def _visible(space, decision):
    return CareEvent.objects.filter(space=space).filter(care_events_visible_to(decision))


def export_steps(space, decision) -> int:
    return 1 if _visible(space, decision).exists() else 0


def export_care_history(space, decision):
    """The events the decision lets its reader see, as one CSV (UTF-8 with a BOM, `;`)."""
    events = (
        _visible(space, decision)
        .select_related("data_key")
        .order_by("-date", "-pk")
        .iterator(chunk_size=2000)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(EXPORT_COLUMNS)
    written = 0
    for event in events:
        details = details_of(event)
        writer.writerow(
            [
                event.date.isoformat(),
                event.get_kind_display(),
                event.code,
                details.label,
                event.professional_rpps,
                event.establishment_finess,
                details.establishment,
                event.source,
            ]
        )
        written += 1
    if written:
        yield EXPORT_PATH, ("\ufeff" + buffer.getvalue()).encode()


def count_care_events(space, decision):
    return [(_("Événements de soins"), count_events(space, decision))]


def destroy_care_history(space, *, keep_occupational: bool) -> None:
    """Crypto-shred the space's history of care: its data keys, then its rows."""
    key_ids = set(
        CareEvent.objects.filter(space=space, data_key__isnull=False).values_list(
            "data_key_id", flat=True
        )
    )
    key_ids |= set(CareHistoryKey.objects.filter(space=space).values_list("data_key_id", flat=True))
    for data_key in DataKey.objects.filter(pk__in=key_ids):
        crypto.destroy_data_key(data_key)
    CareEvent.objects.filter(space=space).delete()
    CareHistoryKey.objects.filter(space=space).delete()


CARE_HISTORY = Part(
    name="care_history",
    label=_("Historique des soins"),
    export=export_care_history,
    export_steps=export_steps,
    counts=count_care_events,
    destroy=destroy_care_history,
    actions=CareHistoryAction,
)
