"""The catalogue as one part of a space (docs/PARTS.md), registered once by
`CatalogueConfig.ready` through `register()`.

What the part does is the connections' (`catalogue/connections/parts.py`): the count of
services connected, `catalogue/connexions.json` in the full download, the connections
deleted (their tokens revoked) at destruction. Its audit actions are the three vocabularies
of the app: the referencing staff's (`DirectoryAction`), the patient's connections'
(`ConnectionAction`) and the FHIR API's calls (`CatalogueAction`).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from catalogue.actions import CatalogueAction
from catalogue.connections import parts as connections
from catalogue.connections.actions import ConnectionAction
from catalogue.directory.actions import DirectoryAction
from espace_sante.parts import Part

# `register` takes the members one by one: the app's three enums, each kept beside the
# code that traces it, are declared together.
ACTIONS = (*DirectoryAction, *ConnectionAction, *CatalogueAction)

CATALOGUE = Part(
    name="catalogue",
    label=_("Services connectés"),
    export=connections.export_connections,
    export_steps=lambda space, decision: 1,
    counts=connections.count_connections,
    destroy=connections.destroy_connections,
    actions=ACTIONS,
)


def register() -> None:
    """Register the part and the navigation entries (once, at start-up)."""
    from catalogue.connections import nav as connections_nav
    from catalogue.connections import tasks  # noqa: F401  (Celery registers them)
    from catalogue.directory import setup as directory
    from espace_sante import nav as portal_nav
    from espace_sante import parts

    parts.register(CATALOGUE)
    directory.register()  # « Catalogue », then « Mes services connectés »
    portal_nav.register_entry("patient", connections_nav.patient_entry)
