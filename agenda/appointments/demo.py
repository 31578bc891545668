"""The appointments demo data."""


def load(spaces, pros):
    pass
