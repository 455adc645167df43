"""DDFS names (docs/formats/urls.md#names): object names ``<name>$<TS>``, timestamps, validity, blob prefixes.

``TS`` is ``<hex MegaSecs>-<hex Secs>-<hex MicroSecs>`` (lowercase, zero printed ``00``). A name
is 1..511 characters of ``[A-Za-z0-9_\\-@:]`` (the special tag ``+deleted`` aside); a blob prefix
longer than 200 characters is replaced by its 32-hex MD5. Names become file names, so a tag name
has at most 200 characters and an object name at most 224. ``HH`` of an object is computed on the
whole ``<name>$<TS>``.
"""
import hashlib
import re
import time

DELETED = "+deleted"      # the special tag listing deleted tags
MAX_NAME = 511
MAX_BLOB_PREFIX = 200
# object names are file names (at most 255 bytes) behind a "!partial-<TS>." prefix of <= 30
MAX_OBJECT = 224
MAX_TAG = MAX_BLOB_PREFIX
_NAME = re.compile(r"[A-Za-z0-9_\-@:]{1,%d}" % MAX_NAME)
_TS = re.compile(r"([0-9a-f]+)-([0-9a-f]+)-([0-9a-f]+)")


def valid_name(name):
    """True for a valid tag name or blob prefix."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def valid_tag(name):
    """True for a valid tag name: a valid name short enough that its versions' file names fit
    the file system (at most ``MAX_TAG`` characters)."""
    return valid_name(name) and len(name) <= MAX_TAG


def blob_prefix(prefix):
    """The name a blob uploaded as ``prefix`` gets (its MD5 when longer than 200 characters)."""
    if len(prefix) > MAX_BLOB_PREFIX:
        return hashlib.md5(prefix.encode("utf-8")).hexdigest()
    return prefix


def format_ts(micros):
    """``TS`` of ``micros`` microseconds since the epoch."""
    secs, usec = divmod(micros, 10 ** 6)
    mega, secs = divmod(secs, 10 ** 6)
    return "-".join("%x" % n if n else "00" for n in (mega, secs, usec))


def ts_micros(ts):
    """Microseconds since the epoch of a ``TS`` string; ValueError if it is not one."""
    m = _TS.fullmatch(ts)
    if not m:
        raise ValueError("invalid timestamp %r" % ts)
    mega, secs, usec = (int(g, 16) for g in m.groups())
    return (mega * 10 ** 6 + secs) * 10 ** 6 + usec


class Clock:
    """Strictly increasing ``TS`` strings from the wall clock (even if it stalls or steps back)."""

    def __init__(self):
        self._last = 0

    def __call__(self):
        self._last = max(time.time_ns() // 1000, self._last + 1)
        return format_ts(self._last)


def split_object(obj):
    """``(name, TS)`` of an object name ``<name>$<TS>``; ValueError if it is not one."""
    name, sep, ts = obj.rpartition("$")
    if not sep or len(obj) > MAX_OBJECT or not (valid_name(name) or name == DELETED):
        raise ValueError("invalid object name %r" % obj)
    ts_micros(ts)
    return name, ts


def is_object(obj):
    """True for any object name, ``+deleted$<TS>`` included."""
    try:
        split_object(obj)
    except ValueError:
        return False
    return True


def valid_object(obj):
    """True for ``<name>$<TS>`` with a valid name (what blobs are called)."""
    return is_object(obj) and not obj.startswith(DELETED)


def object_age(obj):
    """Sort key of object names: their timestamp (microseconds)."""
    return ts_micros(obj.rpartition("$")[2])
