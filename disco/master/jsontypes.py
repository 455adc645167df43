"""Type checks for decoded JSON values, and JSON decoding that fails only with ValueError."""
import json
import math


def is_int(x):
    """True for a JSON integer (``bool`` excluded)."""
    return isinstance(x, int) and not isinstance(x, bool)


def is_number(x):
    """True for a finite JSON number (``bool``, NaN and infinities excluded)."""
    return (isinstance(x, (int, float)) and not isinstance(x, bool)
            and math.isfinite(x))


def is_text(x, max_len=None):
    """True for a ``str`` that can be stored and used as a name: encodable as UTF-8 (no lone
    surrogate), no NUL, and at most ``max_len`` characters when given."""
    if not isinstance(x, str) or "\0" in x or (max_len is not None and len(x) > max_len):
        return False
    try:
        x.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads(data):
    """``json.loads(data)``; any failure (bad UTF-8, bad JSON, nesting too deep for the
    decoder) raises ValueError."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
