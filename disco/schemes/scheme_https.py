"""``https://...``: as ``http``."""
from disco.schemes.scheme_http import input_stream, open  # noqa: F401
