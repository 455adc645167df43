"""DDFS request failures and the HTTP status each one is answered with (docs/http-api.md#ddfs)."""


class DDFSError(Exception):
    """A DDFS operation failed; ``status`` is the HTTP status, ``str`` the reply text."""

    status = 500


class Unauthorized(DDFSError):
    status = 401

    def __init__(self, message="Incorrect or missing token."):
        super().__init__(message)


class Forbidden(DDFSError):
    status = 403


class NotFound(DDFSError):
    status = 404


class Conflict(DDFSError):
    """The object exists already (a second PUT of the same blob)."""
    status = 409


def tag_not_found():
    return NotFound("Tag not found.")
