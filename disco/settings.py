"""Disco settings (``disco.settings.DiscoSettings``).

``settings[KEY]`` looks in order at: the explicit values given to the constructor, ``os.environ``,
the settings file (a Python file exec'd: ``DISCO_SETTINGS_FILE``, default the first existing of
``~/.disco`` and ``/etc/disco/settings.py``), and the defaults below. A default is an expression
evaluated with the other settings in scope, so ``DISCO_DATA`` follows ``DISCO_ROOT``.
Values from the environment are strings; the typed accessors (``getint``, ``getbool``) convert.

Settings of Disco 0.5 that mean nothing here (no Erlang, no lighttpd proxy, no folsom metrics):
``DISCO_ERLANG``, ``DISCO_MASTER_HOME``, ``DISCO_HTTPD``, ``DISCO_PROXY_ENABLED``,
``DISCO_PROXY_PORT``, ``DISCO_PROXY_PID``, ``DISCO_PROXY_CONFIG``, ``DISCO_PROFILE``,
``GRAPHITE_HOST``, ``SYSTEMD_ENABLED``, ``DISCO_ULIMIT``, ``DDFS_PUT_MAX``/``DDFS_GET_MAX``. They
are still defined (so settings files that set them keep working) and are documented as unused.
"""
import functools
import os
import socket

DISCO_STREAM_VERSION_DEFAULT = 2


def _user_data_dir():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "disco")


def _user():
    return os.environ.get("LOGNAME") or os.environ.get("USER") or "disco"


class DiscoSettings(dict):
    """Disco's settings: a dict of explicit values backed by environment, settings file, defaults."""

    defaults = {
        "DISCO_HOME": "os.path.dirname(os.path.dirname(os.path.abspath(__file__)))",
        "DISCO_ROOT": "_user_data_dir()",
        "DISCO_DATA": "os.path.join(DISCO_ROOT, 'data')",
        "DISCO_MASTER_ROOT": "os.path.join(DISCO_ROOT, 'master')",
        "DISCO_MASTER_CONFIG": "os.path.join(DISCO_ROOT, DISCO_NAME + '.config')",
        "DISCO_NAME": "'disco_%s' % DISCO_PORT",
        "DISCO_PORT": "8989",
        "DISCO_MASTER_HOST": "'127.0.0.1'",
        "DISCO_MASTER_BIND": "DISCO_MASTER_HOST",
        "DISCO_MASTER": "'http://%s:%s' % (DISCO_MASTER_HOST, DISCO_PORT)",
        "DISCO_LOG_DIR": "os.path.join(DISCO_ROOT, 'log')",
        "DISCO_PID_DIR": "os.path.join(DISCO_ROOT, 'run')",
        "DISCO_DEBUG": "'off'",
        "DISCO_EVENTS": "''",
        "DISCO_FLAGS": "''",
        "DISCO_ROTATE_LOG": "False",
        "DISCO_SETTINGS_FILE": "_settings_file()",
        "DISCO_STREAM_VERSION": "2",
        "DISCO_WORKER_MAX_MEM": "'80%'",
        "DISCO_WORKER_FORKSERVER": "'on'",
        "DISCO_USER": "_user()",
        "DISCO_JOB_OWNER": "'%s@%s' % (_user(), socket.gethostname())",
        "DISCO_SCHEDULER": "'fair'",
        "DISCO_SCHEDULER_ALPHA": "0.001",
        "DISCO_MAX_FAILURE_RATE": "100",
        "DISCO_MAX_JOBHOME_SIZE": "4 * 1024 ** 3",     # bytes a job home may unpack to; 0: no cap
        "DISCO_MAX_EVENTS_SIZE": "64 * 1024 ** 2",     # bytes of a job's event log; 0: no cap
        "DISCO_AUTH_TOKEN": "''",          # shared secret every request needs (Bearer); '': none
        "DISCO_ALLOWED_HOSTS": "''",       # more names the master answers to (Host check); '*': any
        "DISCO_LOCAL_NODE": "'localhost'",
        "DISCO_WORKERS": "os.cpu_count() or 1",
        "DISCO_BACKEND": "'local'",
        "DISCO_DASK_PORT": "8786",
        "DISCO_DASK_SCHEDULER": "''",
        "DISCO_NODE_GRACE": "600",
        "DISCO_NODE_TIMEOUT": "15",
        "DATA_GC_INTERVAL": "12",
        "DISCO_GC_AFTER": "100 * 365 * 24 * 3600",
        "DISCO_PROXY": "''",
        "DISCO_TEST_HOST": "'127.0.0.1'",
        "DISCO_TEST_PORT": "9444",
        "DISCO_TEST_PROFILE": "''",
        "DISCO_TEST_PURGE": "'purge'",
        "DISCO_TEST_DISCODB": "''",
        "DDFS_ROOT": "os.path.join(DISCO_ROOT, 'ddfs')",
        "DDFS_DATA": "DDFS_ROOT",
        "DDFS_PUT_PORT": "8990",
        "DDFS_READ_TOKEN": "None",
        "DDFS_WRITE_TOKEN": "None",
        "DDFS_TAG_MIN_REPLICAS": "1",
        "DDFS_TAG_REPLICAS": "1",
        "DDFS_BLOB_REPLICAS": "1",
        "DDFS_SPACE_AWARE": "''",
        "DDFS_ABSOLUTE_SPACE": "''",
        "DDFS_PARANOID_DELETE": "''",
        "DDFS_GC_INITIAL_WAIT": "''",
        "DDFS_GC_BALANCE_THRESHOLD": "0.1",
        # defined for compatibility with Disco 0.5 settings files; unused here (see module doc)
        "DISCO_ERLANG": "'erl'",
        "DISCO_MASTER_HOME": "os.path.join(DISCO_HOME, 'master')",
        "DISCO_WWW_ROOT": "os.path.join(DISCO_HOME, 'disco', 'master', 'www')",
        "DISCO_HTTPD": "''",
        "DISCO_PROXY_ENABLED": "''",
        "DISCO_PROXY_PORT": "8999",
        "DISCO_PROXY_PID": "os.path.join(DISCO_ROOT, DISCO_NAME + '-proxy.pid')",
        "DISCO_PROXY_CONFIG": "os.path.join(DISCO_ROOT, DISCO_NAME + '-proxy.conf')",
        "DISCO_PROFILE": "'False'",
        "GRAPHITE_HOST": "'localhost'",
        "SYSTEMD_ENABLED": "False",
        "DISCO_ULIMIT": "16000000",
        "DDFS_PUT_MAX": "3",
        "DDFS_GET_MAX": "3",
    }

    must_exist = ("DISCO_DATA", "DISCO_ROOT", "DISCO_MASTER_ROOT", "DISCO_LOG_DIR", "DISCO_PID_DIR",
                  "DDFS_DATA")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._file = None

    def _settings_file_values(self):
        if self._file is None:
            self._file = {}
            path = dict.get(self, "DISCO_SETTINGS_FILE") or os.environ.get("DISCO_SETTINGS_FILE") \
                or _settings_file()
            if path and os.path.isfile(path):
                scope = {}
                with open(path) as f:
                    exec(compile(f.read(), path, "exec"), scope)
                self._file = {k: v for k, v in scope.items() if k.isupper()}
        return self._file

    def __getitem__(self, key):
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        if key in os.environ:
            return os.environ[key]
        values = self._settings_file_values()
        if key in values:
            return values[key]
        if key in self.defaults:
            return eval(_compiled(self.defaults[key]), _SCOPE, _Lookup(self))
        raise KeyError(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key):
        try:
            self[key]
        except KeyError:
            return False
        return True

    def getint(self, key):
        return int(self[key])

    def getbool(self, key):
        value = self[key]
        if isinstance(value, str):
            return value.strip().lower() not in ("", "0", "false", "no", "off", "none")
        return bool(value)

    @property
    def env(self):
        """os.environ plus every setting, stringified (the environment of Disco processes)."""
        env = dict(os.environ)
        for key in self.defaults:
            value = self[key]
            if value is not None:
                env[key] = str(value)
        return env

    def ensuredirs(self):
        for key in self.must_exist:
            os.makedirs(self[key], exist_ok=True)

    def __reduce__(self):
        return (DiscoSettings, ({k: self[k] for k in self.defaults},))


@functools.lru_cache(maxsize=None)
def _compiled(expression):
    """The code of a default's expression, compiled once (a job pack pickles every setting)."""
    return compile(expression, "<setting>", "eval")


class _Lookup(dict):
    """Name lookup for default expressions: other settings resolve through the settings object."""

    def __init__(self, settings):
        super().__init__()
        self.settings = settings

    def __missing__(self, key):
        if key in DiscoSettings.defaults or key in os.environ:
            return self.settings[key]
        raise KeyError(key)


def _settings_file():
    for path in (os.path.join(os.path.expanduser("~"), ".disco"), "/etc/disco/settings.py"):
        if os.path.isfile(path):
            return path
    return ""


_SCOPE = {"os": os, "socket": socket, "__file__": __file__, "_user_data_dir": _user_data_dir,
          "_user": _user, "_settings_file": _settings_file}
