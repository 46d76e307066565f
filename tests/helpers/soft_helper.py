"""A helper in another module, for gradlab.soft.audit's tests: it compares traced values."""


def clipped_excess(x, limit):
    if x > limit:
        return x - limit
    return 0.0 * x


def is_above(x, limit):
    return x > limit
