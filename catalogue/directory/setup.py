"""What the directory registers at start-up (called by `catalogue.parts.register`): its entry
of the patient's navigation. Its audit actions are declared with the catalogue's part."""


def register():
    from catalogue.directory import nav
    from espace_sante import nav as portal_nav

    portal_nav.register_entry("patient", nav.patient_entry)
