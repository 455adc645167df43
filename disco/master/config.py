"""The cluster config file ``DISCO_MASTER_CONFIG`` (docs/settings.md#cluster-config).

``{"hosts": [["<hostspec>", "<max workers>"], ...], "blacklist": [host, ...], "gc_blacklist": [...]}``;
a bare list is the legacy form holding only the hosts. A hostspec is a host name or a range
``nameNN:MM`` expanding to ``nameNN`` ... ``nameMM`` zero-padded to the width of ``MM``. When the
file does not exist the table is one row: the default node with its default slot count.

Node names become directory names and URL hosts: each is a host name or address of at most 253
characters of ``A-Z a-z 0-9 . - _ :`` that does not start with ``.`` or ``-``; a table expands to
at most ``MAX_NODES`` nodes. Errors name the offending entry.
"""
import json
import os
import re
from dataclasses import dataclass, field

_RANGE = re.compile(r"^(.*?)(\d+):(\d+)$")
_NODE = re.compile(r"[A-Za-z0-9_:\[\]][A-Za-z0-9_.:\-\[\]]{0,252}")
MAX_NODES = 10000


class ConfigError(ValueError):
    """A config table that cannot be used; ``str`` is the reply text (``invalid config``, ...)."""


@dataclass
class ClusterConfig:
    """The parsed config: the table as written, its expansion and the two blacklists."""

    table: list
    nodes: dict = field(default_factory=dict)   # node name -> max workers, in table order
    blacklist: list = field(default_factory=list)
    gc_blacklist: list = field(default_factory=list)

    @classmethod
    def from_table(cls, table, blacklist=(), gc_blacklist=()):
        """Validate and expand ``table``; blacklists are pruned to the configured nodes."""
        nodes = expand(table)
        return cls([list(row) for row in table], nodes,
                   [h for h in dict.fromkeys(blacklist) if h in nodes],
                   [h for h in dict.fromkeys(gc_blacklist) if h in nodes])

    def to_json(self):
        return {"hosts": self.table, "blacklist": self.blacklist, "gc_blacklist": self.gc_blacklist}


def expand_spec(spec):
    """The node names of one hostspec (``node01:03`` -> ``node01, node02, node03``)."""
    m = _RANGE.match(spec)
    if not m:
        return [spec]
    name, first, last = m.group(1), int(m.group(2)), int(m.group(3))
    if first > last:
        raise ConfigError("invalid config: range %r ends before it starts" % spec)
    if last - first >= MAX_NODES:
        raise ConfigError("invalid config: range %r has more than %d nodes" % (spec, MAX_NODES))
    width = len(m.group(3))
    return ["%s%0*d" % (name, width, n) for n in range(first, last + 1)]


def valid_node(name):
    """True for a node name that is safe as a directory name and URL host."""
    return isinstance(name, str) and _NODE.fullmatch(name) is not None and ".." not in name


def expand(table):
    """``{node: max_workers}`` of a table ``[["hostspec", "N"], ...]``; raises :class:`ConfigError`."""
    if not isinstance(table, list):
        raise ConfigError("invalid config: the host table is not a list")
    nodes = {}
    for row in table:
        if (not isinstance(row, list) or len(row) != 2 or not all(isinstance(x, str) for x in row)
                or not row[1].isascii() or not row[1].strip().isdigit() or len(row[1]) > 9):
            raise ConfigError("invalid config: entry %.100r is not [hostspec, max workers]" % (row,))
        if not valid_node(row[0]):
            raise ConfigError("invalid config: node name %.100r is not a host name or address" % row[0])
        names = expand_spec(row[0])
        if len(nodes) + len(names) > MAX_NODES:
            raise ConfigError("invalid config: more than %d nodes at entry %.100r" % (MAX_NODES, row[0]))
        for node in names:
            if node in nodes:
                raise ConfigError("duplicate nodes")
            nodes[node] = int(row[1])
    return nodes


class ConfigFile:
    """Reads and writes the config file at ``path``; ``default_table`` is used when it is absent."""

    def __init__(self, path, default_table):
        self.path = path
        self.default_table = default_table

    def load(self):
        """The current :class:`ClusterConfig`; raises :class:`ConfigError` on a malformed file."""
        try:
            with open(self.path) as f:
                data = json.load(f)
        except FileNotFoundError:
            return ClusterConfig.from_table(self.default_table)
        except ValueError:
            raise ConfigError("invalid config") from None
        if isinstance(data, list):
            return ClusterConfig.from_table(data)
        if not isinstance(data, dict):
            raise ConfigError("invalid config")
        return ClusterConfig.from_table(data.get("hosts", []), data.get("blacklist", []),
                                        data.get("gc_blacklist", []))

    def save(self, config):
        """Write ``config`` atomically (temporary file, then rename)."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = "%s.%d.tmp" % (self.path, os.getpid())
        with open(tmp, "w") as f:
            json.dump(config.to_json(), f)
        os.replace(tmp, self.path)
