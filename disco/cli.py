"""The ``disco`` command line (docs/cli.md#disco).

Job-name arguments accept history shortcuts: ``@`` is the most recent job on the master, ``@?text``
the most recent job whose name contains ``text``; other names must be jobs the master knows.
Errors print their message on stderr and exit non-zero; so does a name that is not known. Output
cut short by a closed pipe (``disco results @ | head -1``) ends quietly with status 141, as
commands killed by SIGPIPE do.
"""
import argparse
import ast
import io
import json
import os
import sys
import zipfile

from disco.error import DiscoError
from disco.settings import DiscoSettings


def _settings(args):
    if args.settings:
        os.environ["DISCO_SETTINGS_FILE"] = args.settings
    settings = DiscoSettings()
    if args.master:
        master = args.master if "://" in args.master else "http://" + args.master
        if master.count(":") < 2:
            master += ":%s" % settings["DISCO_PORT"]
        settings["DISCO_MASTER"] = master
    return settings


def _disco(args):
    from disco.core import Disco
    return Disco(settings=args.settings_obj)


def _jobname(args, name):
    """Resolve the history shortcuts ``@`` and ``@?text`` against the master's job list; other
    names must be known to the master (DiscoError)."""
    if not name.startswith("@"):
        from disco.error import CommError
        try:
            _disco(args).jobinfo(name)
        except CommError as e:
            if e.code != 404:
                raise
            raise DiscoError("no job named %s on the master at %s"
                             % (name, args.settings_obj["DISCO_MASTER"])) from None
        return name
    text = name[2:] if name.startswith("@?") else ""
    for _start, _status, job in _disco(args).joblist():
        if text in job:
            return job
    raise DiscoError("no job matches %r" % name)


def _print_urls(results):
    for replicas in results:
        print("\t".join(replicas if isinstance(replicas, list) else [replicas]))


# -- commands -----------------------------------------------------------------------------------

def cmd_default(args):
    print("Disco master at %s" % args.settings_obj["DISCO_MASTER"])


def cmd_daemon(args):
    from disco.master import daemon
    if getattr(args, "backend", None):
        args.settings_obj["DISCO_BACKEND"] = args.backend
    try:
        return _daemon_command(daemon, args.command, args.settings_obj)
    except daemon.DaemonError as e:
        raise DiscoError(str(e))


def _daemon_command(daemon, command, settings):
    if command == "nodaemon":
        daemon.nodaemon(settings)
    elif command == "status":
        status = daemon.status(settings)
        print("master %s" % ("running at %s (pid %s)" % (status.url, status.pid) if status.running else "stopped"))
        return 0 if status.running else 3
    elif command == "stop":
        print("master stopped" if daemon.stop(settings) else "master was not running")
    else:
        print("master running at %s" % getattr(daemon, command)(settings))


def cmd_node(args):
    try:
        from disco.node import main
    except ImportError as e:
        raise DiscoError("disco node needs Dask distributed (pip install 'disco[dask]'): %s" % e)
    main.run(args.scheduler, args.settings_obj, args.name, args.host, args.slots,
             master=args.settings_obj["DISCO_MASTER"] if args.master else None)


def cmd_config(args):
    for row in _disco(args).config:
        print("\t".join(row))


def cmd_events(args):
    """The job's events as ``time host message`` lines (coloured on a terminal); ``--json``: the
    raw event log, one JSON array a line."""
    name = _jobname(args, args.jobname)
    if args.json:
        sys.stdout.write(_disco(args).rawevents(name, offset=args.offset).decode("utf-8"))
        return
    from disco.eventmonitor import event_writer
    writer = event_writer("color", sys.stdout)
    for _offset, event in _disco(args).events(name, offset=args.offset):
        writer.event(event)


def cmd_attempts(args):
    """The job's task attempts, one a line by start: task, attempt, node, start and end (seconds
    since the job started; ``-`` while it runs), duration, outcome."""
    print("task\tattempt\tnode\tstart\tend\tseconds\toutcome")
    for stage, taskid, attempt, node, start, end, outcome in sorted(
            _disco(args).attempts(_jobname(args, args.jobname)), key=lambda a: (a[4], a[1], a[2])):
        print("%s:%d\t%d\t%s\t%.3f\t%s\t%s\t%s" % (
            stage, taskid, attempt, node, start, "-" if end is None else "%.3f" % end,
            "-" if end is None else "%.3f" % (end - start), outcome))


def cmd_jobdict(args):
    print(json.dumps(_disco(args).jobpack(_jobname(args, args.jobname)).jobdict, indent=1, sort_keys=True))


def cmd_jobs(args):
    for start, status, name in _disco(args).joblist():
        print("%s\t%s" % (name, status) if args.status else name)


def cmd_kill(args):
    for name in args.jobnames:
        getattr(_disco(args), args.command)(_jobname(args, name))


def cmd_results(args):
    name = _jobname(args, args.jobname)
    status, results = _disco(args).results(name)
    if status == "active":
        raise DiscoError("Job %s is still active: no results yet (disco wait %s waits for them)"
                         % (name, args.jobname))
    if status != "ready":
        raise DiscoError("Job %s is %s: no results" % (name, status))
    _print_urls(results)


def cmd_wait(args):
    """Waits for the job; meanwhile the events when ``DISCO_EVENTS`` is set, else a progress line
    on a terminal (stderr)."""
    show = args.settings_obj["DISCO_EVENTS"] or ("progress" if sys.stderr.isatty() else None)
    _print_urls(_disco(args).wait(_jobname(args, args.jobname), show=show))


def cmd_stageresults(args):
    _print_urls(_disco(args).stageresults(_jobname(args, args.jobname), args.stage))


def cmd_nodeinfo(args):
    for host, info in sorted(_disco(args).nodeinfo().items()):
        print("%s\t%s" % (host, json.dumps(info, sort_keys=True)))


def cmd_submit(args):
    data = open(args.file, "rb").read() if args.file and args.file != "-" else sys.stdin.buffer.read()
    print(_disco(args).submit(data))


def cmd_client_version(args):
    from disco.core import client_version
    print(client_version())


def cmd_master_version(args):
    print(_disco(args).master_version())


def cmd_job(args):
    """Build a classic (v1) job pack around an arbitrary worker executable and submit it."""
    from disco import JOBPACK_VERSION1
    from disco.job import JobPack
    settings = args.settings_obj
    jobdict = {"prefix": args.prefix or os.path.basename(args.worker).replace(".", "_"),
               "owner": args.owner or settings["DISCO_JOB_OWNER"],
               "worker": os.path.basename(args.worker),
               "scheduler": {k: ast.literal_eval(v) for k, v in args.scheduler},
               "input": args.inputs or [line.split() for line in sys.stdin.read().splitlines() if line.strip()],
               "map?": args.has_map, "reduce?": args.has_reduce,
               "nr_reduces": args.nr_reduces, "save_results": False, "save_info": "ddfs"}
    home = io.BytesIO()
    with zipfile.ZipFile(home, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(jobdict["worker"])
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(args.worker, "rb") as f:
            z.writestr(info, f.read())
        for path in args.file:
            z.write(path, os.path.basename(path))
    data = args.data or ""
    if data.startswith("@"):
        with open(data[1:], "rb") as f:
            data = f.read()
    pack = JobPack(JOBPACK_VERSION1, jobdict, dict(args.env), home.getvalue(),
                   data if isinstance(data, bytes) else data.encode("utf-8"))
    if args.dump_jobpack:
        sys.stdout.buffer.write(pack.dumps())
        return
    print(_disco(args).submit(pack.dumps()))


def _inputs(args, inputs):
    """Inputs from the arguments, else from stdin (one input a line, whitespace-separated replicas);
    with ``-j`` they are job names, replaced by the jobs' results."""
    if not inputs and sys.stdin is not None and not sys.stdin.isatty():
        inputs = [line.split() if len(line.split()) > 1 else line.strip()
                  for line in sys.stdin.read().splitlines() if line.strip()]
    if getattr(args, "job_mode", False):
        disco = _disco(args)
        return [url for name in inputs for url in disco.wait(_jobname(args, name))]
    return list(inputs)


def cmd_run(args):
    """Instantiate ``module.JobClass`` (the current directory on ``sys.path``) and run it."""
    from disco.util import reify
    sys.path.insert(0, os.getcwd())
    job = reify(args.jobclass)(name=args.name, master=_disco(args), settings=args.settings_obj)
    jobargs = dict(args.param)
    for key in ("map", "reduce", "save", "profile", "partitions"):
        if getattr(args, key) is not None:
            jobargs[key] = reify(getattr(args, key))
    inputs = _inputs(args, args.inputs)
    if inputs:
        jobargs["input"] = inputs
    if args.scheduler:
        jobargs["scheduler"] = {k: ast.literal_eval(v) for k, v in args.scheduler}
    if args.inline:     # in this process (pdb and print work): print the result records
        from disco.core import result_iterator
        for record in result_iterator(job.run(inline=True, **jobargs).wait()):
            print("\t".join(map(str, record)) if isinstance(record, tuple) else record)
        return
    print(job.run(**jobargs).name)


def cmd_deref(args):
    """Print the replica lists of inputs (index files and tags expanded), tab-separated."""
    from disco.util import deref
    master = args.settings_obj["DISCO_MASTER"] if args.resolve else None
    _print_urls(deref(_inputs(args, args.inputs), resolve=args.resolve, master=master))


def cmd_oob(args):
    """``oob JOB`` lists the job's out-of-band keys; ``oob get KEY JOB`` prints a value."""
    words = args.words
    if words[0] == "get" and len(words) == 3:
        value = _disco(args).oob_get(_jobname(args, words[2]), words[1])
        if value is None:
            raise DiscoError("no out-of-band value %r in job %s" % (words[1], words[2]))
        sys.stdout.buffer.write(value if isinstance(value, bytes) else str(value).encode("utf-8"))
        sys.stdout.flush()
    elif len(words) == 1:
        for key in _disco(args).oob_list(_jobname(args, words[0])):
            print(key)
    else:
        raise DiscoError("usage: disco oob JOBNAME | disco oob get KEY JOBNAME")


def cmd_pstats(args):
    stats = _disco(args).profile_stats(_jobname(args, args.jobname), stream=sys.stdout)
    stats.sort_stats(*(args.sort_stats or ["cumulative"])).print_stats()


def cmd_test(args):
    """Run test modules (``tests/<name>.py`` of DISCO_HOME, or paths) with pytest against the
    master of the settings (``DISCO_MASTER`` is exported to them); the exit status is pytest's."""
    import subprocess
    tests = os.path.join(args.settings_obj["DISCO_HOME"], "tests")
    paths = []
    for name in args.tests or [tests]:
        base, sep, rest = name.partition("::")
        candidates = [base, os.path.join(tests, base), os.path.join(tests, base + ".py")]
        found = next((c for c in candidates if os.path.exists(c)), None)
        if found is None:
            raise DiscoError("no test module %r (looked in %s)" % (base, tests))
        paths.append(found + sep + rest)
    env = dict(os.environ, DISCO_MASTER=str(args.settings_obj["DISCO_MASTER"]))
    return subprocess.call([sys.executable, "-m", "pytest", "-q"] + paths, env=env)


DAEMON_HELP = {"start": "start the master on this machine (in the background)",
               "stop": "stop the master on this machine",
               "restart": "restart the master on this machine",
               "status": "tell whether the master on this machine is running",
               "nodaemon": "run the master in the foreground"}


def parser():
    p = argparse.ArgumentParser(prog="disco", description="Control a Disco master and its jobs.")
    p.add_argument("-s", "--settings", help="settings file")
    p.add_argument("-M", "--master", help="master HOST[:PORT] or URL (sets DISCO_MASTER)")
    p.add_argument("-v", "--verbose", action="store_true", help="print settings, show tracebacks")
    sub = p.add_subparsers(dest="command")
    for name, help in DAEMON_HELP.items():
        c = sub.add_parser(name, help=help)
        if name in ("start", "restart", "nodaemon"):
            c.add_argument("--backend", choices=("local", "dask"),
                           help="where nodes run (sets DISCO_BACKEND; default local)")
        c.set_defaults(fn=cmd_daemon)
    c = sub.add_parser("node", help="run this machine as a node of a master on Dask distributed")
    c.add_argument("scheduler", help="the master's Dask scheduler, tcp://MASTER:8786 (its HTTP "
                   "API, where the node gets Dask's credentials, is taken to be on MASTER:DISCO_PORT "
                   "unless -M says otherwise)")
    c.add_argument("--name", help="the node's name (default: the host name); other machines must "
                   "reach this node by it")
    c.add_argument("--host", help="the address to listen on (Dask worker and data server)")
    c.add_argument("--slots", type=int, help="task slots (default: the number of cores)")
    c.set_defaults(fn=cmd_node)
    sub.add_parser("config", help="print the config table").set_defaults(fn=cmd_config)
    c = sub.add_parser("events", help="print the events of a job")
    c.add_argument("jobname")
    c.add_argument("-o", "--offset", type=int, default=0, help="start at this byte of the event log")
    c.add_argument("--json", action="store_true", help="print the raw log: one JSON array an event")
    c.set_defaults(fn=cmd_events)
    c = sub.add_parser("attempts", help="print the task attempts of a job (when, where, how they ended)")
    c.add_argument("jobname")
    c.set_defaults(fn=cmd_attempts)
    c = sub.add_parser("jobdict", help="print the jobdict of a job")
    c.add_argument("jobname")
    c.set_defaults(fn=cmd_jobdict)
    c = sub.add_parser("jobs", help="list jobs, newest first")
    c.add_argument("-S", "--status", action="store_true", help="show their status")
    c.set_defaults(fn=cmd_jobs)
    for name in ("kill", "purge", "clean"):
        c = sub.add_parser(name, help="%s jobs" % name)
        c.add_argument("jobnames", nargs="+")
        c.set_defaults(fn=cmd_kill)
    for name, fn in (("results", cmd_results), ("wait", cmd_wait)):
        c = sub.add_parser(name, help="print the result URLs of a job" + (" once ready" if name == "wait" else ""))
        c.add_argument("jobname")
        c.set_defaults(fn=fn)
    c = sub.add_parser("stageresults", help="print the results of one stage of a job")
    c.add_argument("jobname")
    c.add_argument("-S", "--stage", default="map")
    c.set_defaults(fn=cmd_stageresults)
    sub.add_parser("nodeinfo", help="print node information").set_defaults(fn=cmd_nodeinfo)
    c = sub.add_parser("submit", help="submit a job pack file (or stdin)")
    c.add_argument("file", nargs="?")
    c.set_defaults(fn=cmd_submit)
    sub.add_parser("client_version").set_defaults(fn=cmd_client_version)
    sub.add_parser("master_version").set_defaults(fn=cmd_master_version)
    c = sub.add_parser("job", help="build and submit a job pack for a worker executable")
    c.add_argument("worker")
    c.add_argument("inputs", nargs="*")
    c.add_argument("-m", "--has-map", action="store_true")
    c.add_argument("-r", "--has-reduce", action="store_true")
    c.add_argument("-n", "--nr-reduces", type=int, default=1)
    c.add_argument("-o", "--owner")
    c.add_argument("-p", "--prefix")
    c.add_argument("-S", "--scheduler", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    c.add_argument("-e", "--env", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    c.add_argument("-f", "--file", action="append", default=[], help="add a file to the job home")
    c.add_argument("-d", "--data", help="job data (@file reads a file)")
    c.add_argument("-D", "--dump-jobpack", action="store_true")
    c.set_defaults(fn=cmd_job)
    _job_parsers(sub)
    return p


def _job_parsers(sub):
    """The sub-commands ``run``, ``deref``, ``oob``, ``pstats`` and ``test``."""
    c = sub.add_parser("run", help="run a job class: module.JobClass [input ...]")
    c.add_argument("jobclass")
    c.add_argument("inputs", nargs="*")
    c.add_argument("-n", "--name", help="prefix of the job name")
    for short, name in (("-m", "map"), ("-r", "reduce"), (None, "save"), (None, "profile"),
                        (None, "partitions")):
        c.add_argument(*[o for o in (short, "--" + name) if o], help="the worker's %s parameter "
                       "(a dotted name imported, or a Python expression)" % name)
    c.add_argument("-S", "--scheduler", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    c.add_argument("-P", "--param", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="a job argument (a string)")
    c.add_argument("-j", "--job-mode", action="store_true", help="inputs are job names: use their results")
    c.add_argument("--inline", action="store_true",
                   help="run the job in this process, without a master, and print its result records "
                        "(for debugging: pdb and print work)")
    c.set_defaults(fn=cmd_run)
    c = sub.add_parser("deref", help="expand inputs (index files, tags) to replica lists")
    c.add_argument("inputs", nargs="*")
    c.add_argument("-r", "--resolve", action="store_true", help="print http URLs")
    c.add_argument("-j", "--job-mode", action="store_true", help="inputs are job names: use their results")
    c.set_defaults(fn=cmd_deref)
    c = sub.add_parser("oob", help="list out-of-band keys of a job (oob get KEY JOB prints one)")
    c.add_argument("words", nargs="+", metavar="JOBNAME | get KEY JOBNAME")
    c.set_defaults(fn=cmd_oob)
    c = sub.add_parser("pstats", help="print the profile statistics of a job")
    c.add_argument("jobname")
    c.add_argument("-k", "--sort-stats", action="append", default=[], help="sort key (repeatable)")
    c.set_defaults(fn=cmd_pstats)
    c = sub.add_parser("test", help="run test modules against the master")
    c.add_argument("tests", nargs="*")
    c.set_defaults(fn=cmd_test)


def main(argv=None):
    args = parser().parse_args(argv)
    args.settings_obj = _settings(args)
    return run_command(args, getattr(args, "fn", cmd_default), "disco")


def run_command(args, fn, prog):
    """``fn(args)`` as both command lines run it: ``-v`` prints every setting first and lets
    errors through; otherwise an error prints ``<prog>: <message>`` and the exit status is 1."""
    if args.verbose:
        for key in sorted(DiscoSettings.defaults):
            print("%s = %s" % (key, args.settings_obj[key]))
    try:
        code = fn(args) or 0
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except (DiscoError, OSError, ValueError) as e:
        if args.verbose:
            raise
        print("%s: %s" % (prog, one_line(str(e))), file=sys.stderr)
        return 1


def _closed_pipe():
    """The reader of stdout has gone (``| head``): exit quietly, as if killed by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())     # Python's own flush at exit must not fail again
    return 128 + 13


def one_line(message):
    """``message`` with any pasted traceback cut to its last line (``-v`` shows tracebacks)."""
    head, sep, trace = message.partition("Traceback (most recent call last):")
    if not sep:
        return message
    last = [line for line in trace.strip().splitlines() if line.strip()][-1]
    return "%s %s" % (head.rstrip(), last.split(": ", 1)[-1] if last.startswith(("disco.", "builtins.")) else last)


def disco_main():
    sys.exit(main())


if __name__ == "__main__":
    disco_main()
