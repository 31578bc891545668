"""The audit trail as a part of the space: its `historique.csv` in the full download.

The trail is never destroyed with the space (it is the evidence of what happened to
it): this part has no `destroy`.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from acces import selectors
from acces.actions import AccessAction
from acces.models import AuditEvent
from acces.policy import Decision
from espace_sante.export import csv_file, iso
from espace_sante.labels import OUTCOME_LABELS, action_label, basis_label, role_label
from espace_sante.models import Space
from espace_sante.parts import Part

HISTORY_FILENAME = "historique.csv"


def export_history(space: Space, decision: Decision) -> Iterator[tuple[str, bytes]]:
    """The trail of the space, oldest first, as the trail page shows it to `decision`'s
    reader: events about documents hidden from them stay out."""
    events = (
        selectors.without_hidden(
            AuditEvent.objects.filter(space=space), selectors.hidden_from_reader(decision)
        )
        .order_by("occurred_at", "seq")
        .values_list("occurred_at", "actor_label", "role", "basis", "action", "outcome", "detail")
    )
    yield (
        HISTORY_FILENAME,
        csv_file(
            ["date", "actor_label", "via", "role", "basis", "action", "outcome"],
            (
                [
                    iso(occurred_at),
                    actor_label,
                    _via(detail),
                    role_label(role),
                    basis_label(basis) if basis else "",
                    action_label(action),
                    str(OUTCOME_LABELS.get(outcome, outcome)),
                ]
                for occurred_at, actor_label, role, basis, action, outcome, detail in (
                    events.iterator()
                )
            ),
        ),
    )


def _via(detail: dict | None) -> str:
    """The connected service or professional's software a call came through, as the trail
    page says it ("via le logiciel X", "via X"); empty for the person's own actions."""
    via = (detail or {}).get("via", "")
    if not via:
        return ""
    if (detail or {}).get("software"):
        return _("le logiciel %(name)s") % {"name": via}
    return str(via)


TRAIL = Part(
    name="trail",
    label=_("Historique des accès"),
    export=export_history,
    export_steps=lambda space, decision: 1,
    actions=AccessAction,
)
