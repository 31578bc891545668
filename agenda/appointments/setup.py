"""What the appointments sub-part registers at start-up (called by `AgendaConfig.ready`)."""


def register():
    from agenda.appointments import fhir, nav, tasks  # noqa: F401  (tasks: Celery registers them)
    from agenda.appointments import parts as appointments
    from espace_sante import nav as portal_nav
    from espace_sante import parts

    parts.register(appointments.APPOINTMENTS)
    portal_nav.register_entry("patient", nav.patient_entry)
    fhir.register_resource()
