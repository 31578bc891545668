"""The history demo data."""


def load(spaces, pros):
    pass
