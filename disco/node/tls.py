"""Dask's own connections under ``DISCO_AUTH_TOKEN``: mutual TLS with credentials only token
holders get.

When the master runs the Dask scheduler itself and has a token, it makes a fresh key and a
self-signed certificate (Dask's ``Security.temporary()``: one key pair for every role, its own
CA; needs the ``cryptography`` package), listens on ``tls://`` and requires them of every peer:
a Dask client, worker or scheduler without them cannot connect, so nobody can submit work to the
nodes through Dask without the token. A node asks the master for them over the master's HTTP API
(``GET`` :data:`PATH`, token-guarded like every API request) before each join; the master
answers ``{"tls": false}`` when it has no token (plain ``tcp://``), else ``{"tls": true, "ca",
"cert", "key"}`` (PEM). A master that restarts makes new ones; nodes fetch them again when they
rejoin.

The private key travels like the token itself: in the clear over plain HTTP, so both are as safe
as the network between the master and its nodes.
"""
import json
import urllib.error
import urllib.parse
import urllib.request

from disco.error import DiscoError

PATH = "/disco/ctrl/dask_security"
TIMEOUT = 10    # seconds


class NotAuthorized(DiscoError):
    """The master refused this node's request for the credentials (no or a wrong token)."""


def master_security():
    """New credentials for a master's scheduler and client (a ``distributed.Security``)."""
    from distributed import Security
    try:
        return Security.temporary()
    except ImportError:
        raise DiscoError("DISCO_AUTH_TOKEN with the dask backend puts Dask's connections under "
                         "TLS, which needs the cryptography package: pip install 'disco[dask]'")


def reply(security):
    """The JSON reply of :data:`PATH` for a master whose scheduler has ``security`` (None: plain
    connections)."""
    if security is None:
        return {"tls": False}
    return {"tls": True, "ca": security.tls_ca_file, "cert": security.tls_worker_cert,
            "key": security.tls_worker_key}


def master_url(scheduler, port):
    """The master's HTTP address when only its scheduler's (``tcp://host:8786``) is known:
    ``http://host:port`` (``DISCO_PORT`` is the same on the master and its nodes)."""
    host = urllib.parse.urlsplit(scheduler).hostname or "localhost"
    return "http://%s:%d" % ("[%s]" % host if ":" in host else host, port)


def fetch(url, token):
    """``(security, scheme)`` for joining the master at ``url``: a ``distributed.Security`` and
    ``"tls"``, or ``(None, "tcp")``. Raises :class:`NotAuthorized` when the master refuses
    ``token``, DiscoError when it cannot be asked."""
    request = urllib.request.Request(url.rstrip("/") + PATH)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            raise NotAuthorized("the master at %s refused this node (%d %s): give the node the "
                                "master's DISCO_AUTH_TOKEN in its settings"
                                % (url, e.code, e.read(200).decode("utf-8", "replace").strip()))
        raise DiscoError("cannot get Dask's credentials from %s: HTTP %d" % (url + PATH, e.code))
    except (OSError, ValueError) as e:
        raise DiscoError("cannot get Dask's credentials from %s: %s" % (url + PATH, e))
    if not isinstance(answer, dict) or not answer.get("tls"):
        return None, "tcp"
    from distributed import Security
    try:
        pems = {k: answer[k] for k in ("ca", "cert", "key")}
    except KeyError as e:
        raise DiscoError("the master's answer at %s lacks %s" % (url + PATH, e))
    return Security(require_encryption=True, tls_ca_file=pems["ca"],
                    tls_worker_cert=pems["cert"], tls_worker_key=pems["key"],
                    tls_client_cert=pems["cert"], tls_client_key=pems["key"]), "tls"


def with_scheme(address, scheme):
    """``address`` (``tcp://host:port``, ``tls://...`` or ``host:port``) with ``scheme``."""
    return "%s://%s" % (scheme, address.split("://", 1)[-1])
