"""What the directory registers at start-up (called by `CatalogueConfig.ready`)."""

from django.utils.translation import gettext_lazy as _


def register():
    from catalogue.directory import nav
    from catalogue.directory.actions import DirectoryAction
    from espace_sante import nav as portal_nav
    from espace_sante import parts

    parts.register(
        parts.Part(name="catalogue_directory", label=_("Catalogue"), actions=DirectoryAction)
    )
    portal_nav.register_entry("patient", nav.patient_entry)
