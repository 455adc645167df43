"""The ``ddfs`` command line (docs/cli.md#ddfs): tags, blobs and attributes of a Disco master's DDFS.

Options of every command: ``-s FILE`` (settings file), ``-M HOST[:PORT]`` (the master), ``-t TOKEN``
(the DDFS read and write token), ``-v`` (print the settings, show tracebacks). Commands that take
URLs read them from stdin when none are given: one replica set per line, replicas separated by
white space. A bare name (no ``/``) is a tag, so local files need a ``/`` in their path; ``-``
is stdin. ``-p`` makes tag arguments prefixes (every tag starting with them), ``-j`` makes them
job names (``@``, ``@?text`` as in ``disco``) standing for the jobs' results, ``-i`` ignores
missing tags. Errors print their message and exit non-zero.
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile

from disco import cli, util
from disco.ddfs import DDFS, istag, open_replica
from disco.error import DiscoError

MB = 1024 * 1024


def _ddfs(args):
    return DDFS(settings=args.settings_obj)


def _tags(args, tags):
    """The tag arguments; with ``-p`` every tag starting with one of them."""
    if getattr(args, "prefix_mode", False):
        return [tag for prefix in tags for tag in _ddfs(args).list(prefix)]
    return list(tags)


def _replica_sets(urls):
    """URL arguments as replica sets (one each), else the replica sets on stdin's lines."""
    if urls:
        return [[url] for url in urls]
    return [line.split() for line in sys.stdin if line.strip()]


def _inputs(args, urls):
    """Replica lists of the inputs named by ``urls``: tags (with ``-p`` prefixes) stand for their
    blobs, with ``-j`` job names for their results; index files expand to their members."""
    ddfs = _ddfs(args)
    ignore = getattr(args, "ignore_missing", False)
    for reps in _replica_sets(urls):
        if getattr(args, "job_mode", False):
            from disco.core import Disco
            name = cli._jobname(args, reps[0])
            status, results = Disco(settings=args.settings_obj).results(name)
            if status != "ready":
                raise DiscoError("Job %s is %s: no results" % (name, status))
            items = results
        elif len(reps) == 1 and (getattr(args, "prefix_mode", False) or istag(reps[0])):
            for tag in _tags(args, reps):
                yield from ddfs.blobs(tag, ignore_missing=ignore)
            continue
        else:
            items = reps if len(reps) == 1 else [reps]
        yield from (util.listify(r) for r in util.inputlist(items, settings=args.settings_obj))


def _print_sets(sets, prefix=""):
    for reps in sets:
        print(prefix + "\t".join(util.iterify(reps)))


def _streams(args):
    """``result_iterator`` keywords for ``-T``: the input streams (a dotted name)."""
    return {"input_stream": util.listify(util.reify(args.stream))} if args.stream else {}


# -- commands ---------------------------------------------------------------------------------------

def cmd_attrs(args):
    for key, value in sorted(_ddfs(args).attrs(args.tag).items()):
        print("%s\t%s" % (key, value))


def cmd_blobs(args):
    for tag in _tags(args, args.tags):
        _print_sets(_ddfs(args).blobs(tag, ignore_missing=args.ignore_missing))


def cmd_cat(args):
    out = sys.stdout.buffer
    for reps in _inputs(args, args.urls):
        with open_replica(reps) as f:
            shutil.copyfileobj(f, out)
    out.flush()


def cmd_chtok(args):
    ddfs = _ddfs(args)
    both = not (args.read or args.write)
    if args.read or both:
        ddfs.setattr(args.tag, "ddfs:read-token", args.token)
    if args.write or both:
        ddfs.setattr(args.tag, "ddfs:write-token", args.token)


def cmd_chunk(args):
    with tempfile.NamedTemporaryFile(prefix="ddfs-chunk-", suffix="-stdin") as stdin:
        if "-" in args.urls:
            shutil.copyfileobj(sys.stdin.buffer, stdin)
            stdin.flush()
        urls = [stdin.name if u == "-" else u for u in args.urls]
        _tag_urls, blobs = _ddfs(args).chunk(
            args.tag, list(_inputs(args, urls)), replicas=args.replicas, forceon=args.forceon,
            update=args.update, reader=util.reify(args.reader) if args.reader else None,
            chunk_size=int(args.size * MB), max_record_size=int(args.max_record_size * MB), **_streams(args))
    _print_sets(blobs, "created: ")


def cmd_cp(args):
    ddfs = _ddfs(args)
    ddfs.put(args.dst, ddfs.urls(args.src))


def cmd_delattr(args):
    _ddfs(args).delattr(args.tag, args.attr)


def cmd_exists(args):
    if not _ddfs(args).exists(args.tag):
        raise DiscoError("False")
    print("True")


def cmd_find(args):
    for tag in _tags(args, args.tags):
        for tagpath, subtags, _blobs in _ddfs(args).walk(tag, ignore_missing=True):
            if subtags == ():
                if args.warn_missing:
                    print("Tag not found: %s" % "\t".join(tagpath), file=sys.stderr)
                continue
            print("\t".join(tagpath))


def cmd_get(args):
    print(json.dumps(_ddfs(args).get(args.tag)))


def cmd_getattr(args):
    value = _ddfs(args).getattr(args.tag, args.attr)
    print(value if isinstance(value, str) else json.dumps(value))


def cmd_ls(args):
    ddfs = _ddfs(args)
    unmatched = []
    for prefix in args.prefixes or [""]:
        tags = ddfs.list(prefix)
        if prefix and not tags:
            unmatched.append(prefix)
        for tag in tags:
            print(tag)
            if args.recursive:
                _print_sets(ddfs.blobs(tag, ignore_missing=args.ignore_missing), "\t")
    _fail_for("no tag starts with", unmatched)


def _fail_for(what, names):
    """DiscoError naming ``names`` (after the others were done, as ``ls`` and ``rm`` do)."""
    if names:
        raise DiscoError("%s %s" % (what, ", ".join(names)))


def cmd_push(args):
    blobs = []
    for path in [p for reps in _replica_sets(args.files) for p in reps]:
        for name in _files(path, args.recursive):
            if (args.include and args.include not in name) or (args.exclude and args.exclude in name):
                continue
            if args.tarballs:
                blobs += [(buf, blob) for blob, buf, _size in
                          DDFS.tarblobs(name, args.compress, args.include, args.exclude)]
            else:
                blobs.append(name)
    _tag_urls, urls = _ddfs(args).push(args.tag, blobs, replicas=args.replicas, forceon=args.forceon)
    _print_sets(urls, "created: ")


def _files(path, recursive):
    if not os.path.isdir(path):
        return [path]
    if not recursive:
        raise DiscoError("%s is a directory (use -r)" % path)
    return [os.path.join(d, f) for d, _dirs, files in sorted(os.walk(path)) for f in sorted(files)]


def cmd_put(args):
    _ddfs(args).put(args.tag, _replica_sets(args.urls))


def cmd_rm(args):
    ddfs, missing = _ddfs(args), []
    for tag in _tags(args, args.tags):
        if ddfs.exists(tag):
            print(ddfs.delete(tag))
        else:
            missing.append(tag)
    _fail_for("no such tag:", missing)


def cmd_setattr(args):
    _ddfs(args).setattr(args.tag, args.attr, args.value)


def cmd_stat(args):
    for tag in _tags(args, args.tags):
        info = _ddfs(args).get(tag)
        print(json.dumps({k: v for k, v in info.items() if k != "urls"}, sort_keys=True))


def cmd_tag(args):
    _ddfs(args).tag(args.tag, _replica_sets(args.urls))


def cmd_touch(args):
    for tag in args.tags:
        _ddfs(args).tag(tag, [])


def cmd_urls(args):
    for tag in _tags(args, args.tags):
        _print_sets(_ddfs(args).urls(tag))


def cmd_xcat(args):
    from disco.core import result_iterator
    from disco.error import DataError
    from disco.worker.task_io import chain_reader
    reader = util.reify(args.reader) if args.reader else chain_reader
    try:
        for record in result_iterator(list(_inputs(args, args.urls)), reader=reader, **_streams(args)):
            print("\t".join("%s" % (e,) for e in util.iterify(record)).rstrip())
    except DataError as e:
        corrupt = re.findall(r"Unable to access resource \(([^()]*)\): (Corrupted input[^\n]*)", str(e))
        if not corrupt or args.reader:
            raise
        raise DiscoError("%s is not in Disco's record format (%s): `ddfs cat` prints raw contents, "
                         "-R names a reader" % corrupt[-1]) from None


def cmd_df(args):
    from disco.core import Disco
    for node, info in sorted(Disco(settings=args.settings_obj).nodeinfo().items()):
        print("%s\t%s free\t%s used" % (node, util.format_size(info.get("diskfree", 0) * 1024),
                                        util.format_size(info.get("diskused", 0) * 1024)))


def cmd_du(args):
    for tag in _tags(args, args.tags):
        total = 0
        for reps in _ddfs(args).blobs(tag, ignore_missing=args.ignore_missing):
            with open_replica(reps) as f:
                total += f.size or 0
        print("%d\t%s" % (total, tag))


# -- the parser -------------------------------------------------------------------------------------

FLAGS = {
    "i": (("-i", "--ignore-missing"), {"action": "store_true", "help": "ignore missing tags"}),
    "p": (("-p", "--prefix-mode"), {"action": "store_true", "help": "arguments are tag prefixes"}),
    "j": (("-j", "--job-mode"), {"action": "store_true", "help": "arguments are job names"}),
    "R": (("-R", "--reader"), {"help": "reader function (dotted name)"}),
    "T": (("-T", "--stream"), {"help": "input stream function(s) (dotted name)"}),
    "n": (("-n", "--replicas"), {"type": int, "help": "number of replicas"}),
    "F": (("-F", "--forceon"), {"action": "append", "default": [], "help": "put a replica on this node"}),
}

COMMANDS = [
    # name, function, positional arguments, shared flags, help
    ("attrs", cmd_attrs, ["tag"], "", "print the user attributes of a tag"),
    ("blobs", cmd_blobs, ["tags*"], "ip", "list the blobs reachable from tags"),
    ("cat", cmd_cat, ["urls*"], "ipj", "print the raw contents of URLs and of the blobs of tags"),
    ("chtok", cmd_chtok, ["tag", "token"], "", "set the read and/or write token of a tag"),
    ("chunk", cmd_chunk, ["tag", "urls*"], "RTipnF", "store the records of inputs as chunks in a tag"),
    ("cp", cmd_cp, ["src", "dst"], "", "copy the URL list of one tag to another"),
    ("delattr", cmd_delattr, ["tag", "attr"], "", "delete an attribute"),
    ("df", cmd_df, [], "", "print the free and used disk space of the nodes"),
    ("du", cmd_du, ["tags*"], "ip", "print the total size of the blobs of tags"),
    ("exists", cmd_exists, ["tag"], "", "print True if the tag exists, else fail with False"),
    ("find", cmd_find, ["tags*"], "ip", "print the paths of the tags reachable from tags"),
    ("get", cmd_get, ["tag"], "", "print a tag object"),
    ("getattr", cmd_getattr, ["tag", "attr"], "", "print an attribute"),
    ("ls", cmd_ls, ["prefixes*"], "ip", "list tags (and their blobs with -r)"),
    ("push", cmd_push, ["tag", "files*"], "nF", "upload files as blobs and tag them"),
    ("put", cmd_put, ["tag", "urls*"], "", "replace the URL list of a tag"),
    ("rm", cmd_rm, ["tags*"], "p", "delete tags"),
    ("setattr", cmd_setattr, ["tag", "attr", "value"], "", "set an attribute"),
    ("stat", cmd_stat, ["tags*"], "p", "print the fields of tags except their URLs"),
    ("tag", cmd_tag, ["tag", "urls*"], "", "add URLs to a tag"),
    ("touch", cmd_touch, ["tags*"], "", "create empty tags"),
    ("urls", cmd_urls, ["tags*"], "p", "print the replica sets of tags"),
    ("xcat", cmd_xcat, ["urls*"], "RTipj", "print the records of URLs and of the blobs of tags"),
]

EXTRA = {
    "chtok": [(("-r", "--read"), {"action": "store_true"}), (("-w", "--write"), {"action": "store_true"})],
    "chunk": [(("-u", "--update"), {"action": "store_true"}),
              (("-S", "--size"), {"type": float, "default": 64, "help": "chunk size (MB)"}),
              (("-Z", "--max-record-size"), {"type": float, "default": 1, "help": "MB"})],
    "find": [(("-w", "--warn-missing"), {"action": "store_true"})],
    "ls": [(("-r", "--recursive"), {"action": "store_true"})],
    "push": [(("-E", "--exclude"), {}), (("-I", "--include"), {}),
             (("-r", "--recursive"), {"action": "store_true"}),
             (("-x", "--tarballs"), {"action": "store_true"}),
             (("-z", "--compress"), {"action": "store_true"})],
}


def _common(suppress):
    common = argparse.ArgumentParser(add_help=False)
    default = {"default": argparse.SUPPRESS} if suppress else {}
    common.add_argument("-s", "--settings", help="settings file", **default)
    common.add_argument("-M", "--master", help="master HOST[:PORT] or URL (sets DISCO_MASTER)", **default)
    common.add_argument("-t", "--token", dest="ddfs_token", help="DDFS read and write token", **default)
    common.add_argument("-v", "--verbose", action="store_true", help="print settings, show tracebacks",
                        **default)
    return common


def parser():
    p = argparse.ArgumentParser(prog="ddfs", description="Use the DDFS of a Disco master.",
                                parents=[_common(False)])
    sub = p.add_subparsers(dest="command")
    for name, fn, positionals, flags, help in COMMANDS:
        c = sub.add_parser(name, help=help, parents=[_common(True)])
        for arg in positionals:
            c.add_argument(arg.rstrip("*"), nargs="*" if arg.endswith("*") else None)
        for flag in flags:
            c.add_argument(*FLAGS[flag][0], **FLAGS[flag][1])
        for names, options in EXTRA.get(name, ()):
            c.add_argument(*names, **options)
        c.set_defaults(fn=fn)
    return p


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    if not getattr(args, "fn", None):
        p.print_help()
        return 2
    args.settings_obj = cli._settings(args)
    if args.ddfs_token:
        args.settings_obj["DDFS_READ_TOKEN"] = args.settings_obj["DDFS_WRITE_TOKEN"] = args.ddfs_token
    return cli.run_command(args, args.fn, "ddfs")


def ddfs_main():
    sys.exit(main())


if __name__ == "__main__":
    ddfs_main()
