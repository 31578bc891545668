"""The prevention demo data."""


def load(spaces, pros):
    pass
