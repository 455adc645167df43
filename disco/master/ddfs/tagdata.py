"""The tag object (docs/ddfs.md#tags) and the rules for reading and changing it (docs/http-api.md#ddfs), without I/O.

Stored: ``{"version": 1, "id": "<tag>$<TS>", "last-modified": "YYYY/MM/DD HH:MM:SS", "read-token",
"write-token", "urls": [[replica, ...], ...], "user-data": {name: value}}``; readers get it
without the two tokens.

Tokens (``None`` = unset): a **read** is allowed when the token equals the read-token or the
read-token is unset, or when it equals a set write-token; a **write** when it equals the
write-token or the write-token is unset. Reading ``ddfs:write-token`` needs write privilege, which
readers also have when both tokens are equal.

Attributes: ``ddfs:urls``, ``ddfs:read-token``, ``ddfs:write-token`` and user attributes (name
1..1024 bytes, string value of at most 4096 bytes, at most 1000 of them). Other ``ddfs:*`` names
are unknown (404). Deleting a token unsets it; deleting ``ddfs:urls`` sets it to ``[]``.
"""
from disco.master.ddfs.errors import Forbidden, NotFound, Unauthorized

MAX_ATTR_NAME = 1024
MAX_ATTR_VALUE = 4096
MAX_ATTRS = 1000
TOKENS = {"ddfs:read-token": "read-token", "ddfs:write-token": "write-token"}


def new_tag(token):
    """A tag created by a request with ``token``: it becomes both read and write token."""
    return {"version": 1, "id": None, "last-modified": None, "read-token": token,
            "write-token": token, "urls": [], "user-data": {}}


def public(tag):
    """The tag as readers get it (no tokens)."""
    return {k: v for k, v in tag.items() if k not in ("read-token", "write-token")}


def can_read(tag, token):
    return (tag["read-token"] is None or token == tag["read-token"]
            or (tag["write-token"] is not None and token == tag["write-token"]))


def can_write(tag, token):
    return tag["write-token"] is None or token == tag["write-token"]


def check_read(tag, token):
    if not can_read(tag, token):
        raise Unauthorized()


def check_write(tag, token):
    if not can_write(tag, token):
        raise Unauthorized()


def valid_urls(urls):
    """True for a URL object: a list of non-empty lists of non-empty strings."""
    return isinstance(urls, list) and all(
        isinstance(reps, list) and reps and all(isinstance(u, str) and u for u in reps) for reps in urls)


def check_urls(urls):
    if not valid_urls(urls):
        raise Forbidden("Invalid url object.")
    return urls


def blob_name(url):
    """The name part of a replica URL: its last path component up to ``$``."""
    return url.rstrip("/").rsplit("/", 1)[-1].split("$", 1)[0]


def add_urls(tag, urls, update=False):
    """Put the replica sets ``urls`` before the tag's; with ``update`` skip sets whose blob name
    (of the first URL) is already there or repeated. True if anything was added."""
    if update:
        seen = {blob_name(reps[0]) for reps in tag["urls"]}
        fresh = []
        for reps in urls:
            name = blob_name(reps[0])
            if name not in seen:
                seen.add(name)
                fresh.append(reps)
        urls = fresh
    tag["urls"] = list(urls) + tag["urls"]
    return bool(urls)


def check_attr_name(attr):
    size = _utf8_size(attr)
    if not attr or size is None or size > MAX_ATTR_NAME:
        raise Forbidden("Invalid attribute key.")
    if attr.startswith("ddfs:") and attr != "ddfs:urls" and attr not in TOKENS:
        raise NotFound("Unknown attribute.")


def get_attr(tag, attr, token):
    """The value of ``attr`` for a reader with ``token`` (read access already checked)."""
    check_attr_name(attr)
    if attr == "ddfs:urls":
        return tag["urls"]
    if attr == "ddfs:write-token" and tag["read-token"] != tag["write-token"]:
        check_write(tag, token)
    if attr in TOKENS:
        return tag[TOKENS[attr]]
    if attr not in tag["user-data"]:
        raise NotFound("Attribute not found.")
    return tag["user-data"][attr]


def set_attr(tag, attr, value):
    """Set ``attr`` to ``value`` (write access already checked). True if the tag changed."""
    check_attr_name(attr)
    if attr == "ddfs:urls":
        old, tag["urls"] = tag["urls"], check_urls(value)
        return old != value
    if attr in TOKENS:
        if value is not None and not isinstance(value, str):
            raise Forbidden("Invalid attribute value.")
        old, tag[TOKENS[attr]] = tag[TOKENS[attr]], value
        return old != value
    size = _utf8_size(value) if isinstance(value, str) else None
    if size is None or size > MAX_ATTR_VALUE:
        raise Forbidden("Invalid attribute value.")
    data = tag["user-data"]
    if attr not in data and len(data) >= MAX_ATTRS:
        raise Forbidden("Too many attributes.")
    old, data[attr] = data.get(attr), value
    return old != value


def del_attr(tag, attr):
    """Delete ``attr`` (write access already checked; absent is fine). True if the tag changed.
    As in Disco 0.5, deleting a token unsets it and deleting ``ddfs:urls`` empties the tag."""
    check_attr_name(attr)
    if attr == "ddfs:urls":
        return set_attr(tag, attr, [])
    if attr in TOKENS:
        return set_attr(tag, attr, None)
    return tag["user-data"].pop(attr, None) is not None


def _utf8_size(text):
    """The UTF-8 size of ``text``, None if it holds a lone surrogate (it cannot be stored)."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None
