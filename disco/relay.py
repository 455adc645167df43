"""The relay between a remote node and the master's Worker Protocol host (no I/O here).

One WebSocket per task attempt, opened by the node to
``<master>/disco/node/relay/<attempt>?token=<one-use token>``. Binary frames carry the worker's
bytes: node -> master its stdout/stderr (merged), master -> node its stdin. Text frames are JSON
control messages:

node -> master
  ``{"started": {"pid", "home", "disco_data", "ddfs_data"}}``  the worker runs
  ``{"failed": "jobhome"|"start"|"node", "message": str}``      it could not be started
  ``{"exit": code}``                                          the worker exited (then EOF)
  ``{"written": id}`` / ``{"write_failed": id, "message": str}``  answer to ``write``
master -> node
  ``{"write": id, "path": relpath, "text": str}``  write a file of the job home atomically
  ``{"kill": true}``                              kill the worker's process group

Closing the connection, from either side, ends the attempt: the node kills the worker's process
group when the master goes away.
"""
import json

NODE_PREFIX = "/disco/node/"     # authorized by one-use attempt tokens, not DISCO_AUTH_TOKEN
RELAY_PATH = NODE_PREFIX + "relay/"
JOBPACK_PATH = NODE_PREFIX + "jobpack/"


def control(kind, value, **fields):
    """A control frame ``{kind: value, **fields}`` as text."""
    return json.dumps({kind: value, **fields})


def parse(text):
    """The control message ``text`` as ``(kind, message dict)``; raises ValueError."""
    message = json.loads(text)
    if not isinstance(message, dict) or not message:
        raise ValueError("relay control frame is not an object: %r" % text[:100])
    for kind in ("started", "failed", "exit", "written", "write_failed", "write", "kill"):
        if kind in message:
            return kind, message
    raise ValueError("unknown relay control frame: %r" % text[:100])
