"""The catalogue as a part of the space: for now, its audit actions (docs/PARTS.md)."""

from django.utils.translation import gettext_lazy as _

from catalogue.actions import CatalogueAction
from espace_sante.parts import Part

CATALOGUE = Part(
    name="catalogue_api", label=_("API des services connectés"), actions=CatalogueAction
)
