"""What the catalogue's part of a space does (`catalogue.parts.CATALOGUE`): its connections
to referenced services.

- counts: the number of services connected now (one query);
- export: `catalogue/connexions.json`, the connections and their purposes (no token);
- destroy: the connections deleted, their codes and tokens revoked first.
"""

from __future__ import annotations

import json

from django.utils.translation import gettext_lazy as _

from acces.policy import PATIENT_BASES
from catalogue.connections.services import revoke_tokens
from catalogue.models import Connection


def count_connections(space, decision):
    if decision.basis not in PATIENT_BASES:
        return []
    return [(_("Services connectés"), Connection.objects.live().filter(space=space).count())]


def _when(value):
    return value.isoformat() if value else None


def export_connections(space, decision):
    connections = (
        Connection.objects.filter(space=space)
        .select_related("service")
        .prefetch_related("grants__purpose")
        .order_by("created_at", "pk")
    )
    data = [
        {
            "service": c.service.name,
            "editeur": c.service.editor,
            "connecte_le": _when(c.created_at),
            "deconnecte_le": _when(c.ended_at),
            "version_approuvee": c.approved_version,
            "documents_masques_visibles": c.shows_masked_documents,
            "derniere_lecture": _when(c.last_read_at),
            "derniere_ecriture": _when(c.last_write_at),
            "finalites": [
                {
                    "finalite": g.purpose.label,
                    "accordee_le": _when(g.granted_at),
                    "retiree_le": _when(g.withdrawn_at),
                }
                for g in c.grants.all()
            ],
        }
        for c in connections
    ]
    yield "catalogue/connexions.json", json.dumps(data, ensure_ascii=False, indent=2).encode()


def destroy_connections(space, *, keep_occupational=False):
    for connection in Connection.objects.filter(space=space):
        revoke_tokens(connection)
    Connection.objects.filter(space=space).delete()
