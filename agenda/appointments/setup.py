"""What the appointments sub-part registers at start-up (called by `AgendaConfig.ready`)."""


def register():
    pass
