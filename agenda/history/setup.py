"""What the history sub-part registers at start-up (called by `AgendaConfig.ready`)."""


def register():
    pass
