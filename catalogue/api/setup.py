"""What the API registers at start-up (called by `CatalogueConfig.ready`)."""


def register():
    from catalogue.api import resources

    resources.register_all()
