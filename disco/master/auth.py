"""Who may ask a Disco HTTP server: an aiohttp middleware for the master (and node data servers).

Three checks, in this order, on every request:

1. **Host** (DNS rebinding): the ``Host`` header must name the server: an IP address literal, or
   one of the names it answers to (``localhost``, ``DISCO_MASTER_HOST``, ``DISCO_MASTER_BIND``,
   this machine's host name, the configured node names, the names in ``DISCO_ALLOWED_HOSTS``
   (spaces or commas; ``*`` allows any name)). Else 403.
2. **Origin** (cross-site requests): a state-changing request (any method but GET/HEAD/OPTIONS,
   and ``GET /ddfs/ctrl/gc_start``) whose ``Origin`` is not the server's own (``scheme://Host``),
   or is ``null``, is refused with 403; without ``Origin``, a ``Sec-Fetch-Site`` other than
   ``same-origin`` or ``none`` is refused. Requests without either (non-browser clients) pass.
3. **Token** (optional shared secret ``DISCO_AUTH_TOKEN``): when set, every request except the
   public ones (the static page assets) needs ``Authorization: Bearer <token>``, or
   ``X-Disco-Auth: <token>`` when the ``Authorization`` header carries something else (a DDFS
   tag token). Else 401 with ``WWW-Authenticate: Bearer realm="disco"``.

Refusals are plain text naming the check that failed. Clients send the token through
:func:`disco.comm.request`; the master's own requests to nodes use :func:`client_headers`.
"""
import hmac
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp import web

SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
STATE_CHANGING_GETS = frozenset(("/ddfs/ctrl/gc_start",))
TOKEN_HEADER = "X-Disco-Auth"
REALM = 'Bearer realm="disco"'


class Guard:
    """The checks of the module doc. ``token``: the shared secret (None: no token needed);
    ``names``: host names the server answers to (``"*"``: any); ``more_names``: a callable
    giving more names at request time (the configured nodes); ``public(path)``: paths served
    without a token."""

    def __init__(self, token=None, names=(), more_names=lambda: (), public=lambda path: False):
        self.token = token.encode("utf-8") if token else None
        self.names = {_normal(n) for n in names if n}
        self.more_names = more_names
        self.public = public

    def refusal(self, request):
        """None if ``request`` may be served, else the HTTP exception refusing it."""
        host = request.headers.get("Host")
        if host is not None and not self.allowed_host(host):
            return web.HTTPForbidden(text="Host %.100r is not a name of this server "
                                          "(DISCO_ALLOWED_HOSTS)" % host)
        if request.method not in SAFE_METHODS or request.path in STATE_CHANGING_GETS:
            why = _cross_site(request, host)
            if why:
                return web.HTTPForbidden(text="cross-site request refused: %s" % why)
        if self.token is not None and not self.public(request.path) and not self._has_token(request):
            return web.HTTPUnauthorized(text="missing or wrong access token (DISCO_AUTH_TOKEN)",
                                        headers={"WWW-Authenticate": REALM})
        return None

    def allowed_host(self, host):
        """True if the ``Host`` header value ``host`` names this server."""
        name = _host_name(host)
        if name is None:
            return False
        if "*" in self.names or _is_address(name):
            return True
        return name in self.names or name in {_normal(n) for n in self.more_names()}

    def _has_token(self, request):
        auth = request.headers.get("Authorization", "")
        given = auth[7:] if auth[:7].lower() == "bearer " else request.headers.get(TOKEN_HEADER, "")
        return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), self.token)


def middleware(guard):
    """An aiohttp middleware refusing what ``guard`` (a :class:`Guard`) refuses."""
    @web.middleware
    async def check(request, handler):
        refusal = guard.refusal(request)
        if refusal is not None:
            refusal.force_close()
            return refusal
        return await handler(request)
    return check


def from_settings(settings, more_names=lambda: (), public=lambda path: False):
    """The :class:`Guard` of ``settings`` (a :class:`disco.settings.DiscoSettings`)."""
    names = ["localhost", settings["DISCO_MASTER_HOST"], settings["DISCO_MASTER_BIND"],
             socket.gethostname()]
    names += str(settings.get("DISCO_ALLOWED_HOSTS") or "").replace(",", " ").split()
    return Guard(settings.get("DISCO_AUTH_TOKEN") or None, names, more_names, public)


def client_headers(settings):
    """The headers a request of this process to a Disco server sends (the token, if any)."""
    token = settings.get("DISCO_AUTH_TOKEN")
    return {"Authorization": "Bearer %s" % token} if token else {}


def _cross_site(request, host):
    """Why a state-changing ``request`` is cross-site, or None."""
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin == "null":
            return "Origin null"
        parts = urlsplit(origin)
        if host is None or parts.scheme not in ("http", "https") or \
                _authority(parts.netloc, parts.scheme) != _authority(host, request.scheme):
            return "Origin %.100s is not this server" % origin
        return None
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return "Sec-Fetch-Site %.50s" % site
    return None


def _authority(netloc, scheme):
    """``host:port`` of a netloc, lower case, the scheme's default port made explicit."""
    after_name = netloc.rpartition("]")[2] if netloc.startswith("[") else netloc
    _name, sep, port = after_name.rpartition(":")
    if not sep or not port.isdigit():
        port = "443" if scheme == "https" else "80"
    return "%s:%s" % (_host_name(netloc), port)


def _host_name(host):
    """The name or address of a ``Host`` value (``name``, ``name:port``, ``[v6]:port``),
    normalised; None if malformed."""
    host = host.strip()
    if host.startswith("["):
        end = host.find("]")
        return _normal(host[1:end]) if end > 0 else None
    name, sep, port = host.rpartition(":")
    if not sep:
        name = host
    elif not port.isdigit():
        return None
    return _normal(name) if name else None


def _normal(name):
    return name.strip().rstrip(".").lower()


def _is_address(name):
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
