"""What the history sub-part registers at start-up (called by `AgendaConfig.ready`)."""


def register():
    from agenda.history.parts import CARE_HISTORY
    from espace_sante import parts

    parts.register(CARE_HISTORY)
