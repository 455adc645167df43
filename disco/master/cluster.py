"""The cluster as the master manages it: config table, blacklists, runtime settings, node counters.

The config table and both blacklists live in the config file (docs/settings.md#cluster-config)
and are applied to the scheduler on every change. The runtime settings ``max_failure_rate`` (default
``DISCO_MAX_FAILURE_RATE``) and ``accept_new_jobs`` (default 1) are kept in the registry.
Per-node counters ``job_ok`` / ``data_error`` / ``error`` (done / failed / fatal attempts) are
statistics of this master process.
"""
import collections
import logging

from disco.master.config import ClusterConfig, ConfigError
from disco.master.jsontypes import is_int

log = logging.getLogger("disco.master")
_COUNTERS = {"done": "job_ok", "error": "data_error", "fatal": "error"}


class Cluster:
    """Config file ``config_file`` applied to ``scheduler``; settings in ``registry``."""

    def __init__(self, config_file, registry, scheduler, backend, default_max_failure_rate):
        self.config_file = config_file
        self.registry = registry
        self.scheduler = scheduler
        self.backend = backend
        self.default_max_failure_rate = default_max_failure_rate
        self.counters = collections.defaultdict(collections.Counter)
        self.config = None
        self.load_table()

    def _apply(self, config):
        self.config = config
        self.scheduler.configure({n: w for n, w in config.nodes.items() if self.backend.connected(n)},
                                 config.blacklist)

    def nodes_changed(self):
        """The backend's nodes changed: nodes that joined by themselves and are not in the table
        are added to it (max_workers = their slots); the scheduler sees the connected nodes."""
        joined = [[node, str(slots)] for node, slots in self.backend.nodes().items()
                  if node not in self.config.nodes]
        if joined:
            try:
                self.save_table(self.config.table + joined)
                return
            except ConfigError as e:
                log.error("nodes %s cannot join the config table: %s", joined, e)
        self._apply(self.config)

    def load_table(self):
        """Re-read the config file, apply it and return its table."""
        self._apply(self.config_file.load())
        return self.config.table

    def save_table(self, table):
        """Validate, save and apply ``table``; raises :class:`ConfigError`."""
        config = ClusterConfig.from_table(table, self.config.blacklist, self.config.gc_blacklist)
        self.config_file.save(config)
        self._apply(config)

    def set_listed(self, which, host, listed):
        """Add ``host`` to (``listed``) or remove it from the ``"blacklist"`` or ``"gc_blacklist"``."""
        if host not in self.config.nodes:
            raise ConfigError("unknown host %r" % (host,))
        lists = {"blacklist": self.config.blacklist, "gc_blacklist": self.config.gc_blacklist}
        lists[which] = [h for h in lists[which] if h != host] + ([host] if listed else [])
        config = ClusterConfig.from_table(self.config.table, **lists)
        self.config_file.save(config)
        self._apply(config)

    @property
    def max_failure_rate(self):
        return self.registry.setting("max_failure_rate", self.default_max_failure_rate)

    @property
    def accept_new_jobs(self):
        return self.registry.setting("accept_new_jobs", 1)

    def settings(self):
        return {"max_failure_rate": self.max_failure_rate, "accept_new_jobs": self.accept_new_jobs}

    def save_settings(self, values):
        """Save ``max_failure_rate`` (int >= 0) and ``accept_new_jobs`` (0 or 1) given as strings
        or ints; other keys are ignored. Raises ValueError for a bad value."""
        checks = {"max_failure_rate": lambda v: v >= 0, "accept_new_jobs": lambda v: v in (0, 1)}
        parsed = {}
        for key, ok in checks.items():
            if key in values:
                value = _setting_int(values[key])
                if value is None or not ok(value):
                    raise ValueError("invalid %s: %.50r" % (key, values[key]))
                parsed[key] = value
        for key, value in parsed.items():
            self.registry.set_setting(key, value)

    def count(self, node, outcome):
        """Count an attempt that ended with ``outcome`` (``done``, ``error``, ``fatal``) on ``node``."""
        self.counters[node][_COUNTERS[outcome]] += 1

    def nodeinfo(self):
        """``{node: {job_ok, data_error, error, max_workers, connected, blacklisted, [tasks,]
        diskfree, diskused}}`` (docs/http-api.md#reply-shapes)."""
        info = {}
        nodes = dict(self.backend.refused())    # seen but refused: listed, never used
        nodes.update(self.config.nodes)
        for node, max_workers in nodes.items():
            counters = self.counters[node]
            entry = {key: counters[key] for key in _COUNTERS.values()}
            entry.update(max_workers=max_workers, connected=self.backend.connected(node),
                         blacklisted=node in self.config.blacklist, **self.backend.status(node))
            running = self.scheduler.running.get(node)
            if running:
                entry["tasks"] = [task.job.name for task in running]
            entry["diskfree"], entry["diskused"] = self.backend.disk_usage(node)
            info[node] = entry
        return info


def _setting_int(value):
    """The int of a setting value given as a JSON integer or a string of digits (below 2**31),
    else None."""
    if isinstance(value, str) and value.isascii() and value.strip().isdigit() and len(value) < 20:
        value = int(value)
    return value if is_int(value) and value < 2 ** 31 else None
