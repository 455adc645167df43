"""Type checks for decoded JSON values."""


def is_int(x):
    """True for a JSON integer (``bool`` excluded)."""
    return isinstance(x, int) and not isinstance(x, bool)
