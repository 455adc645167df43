"""Helpers shared by the codec tests."""
import math


def strict_equal(a, b):
    """Equal values *and* equal types all the way down (1 != True, 1 != 1.0, -0.0 != 0.0 here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return (len(a) == len(b) and list(a) == list(b)
                and all(strict_equal(k, j) and strict_equal(a[k], b[j]) for k, j in zip(a, b)))
    return a == b
