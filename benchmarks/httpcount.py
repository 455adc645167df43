"""A ``disco node`` whose data server counts the bytes it sends, for bench_cluster.

The node runs ``python -c "<NODE_COMMAND>" node ...`` (:data:`NODE_COMMAND`): this module
wraps :func:`disco.node.dataserver.make_app` so that every ``GET /disco/...`` answered with 200
or 206 adds its body length (the ``Content-Length`` of the file or range sent) to
:data:`SERVED`, under the stage that wrote the file (the leading name of the file name:
``map_shuffle`` for ``map_shuffle-0-127_0_0_2-1`` and ``.disco/map_shuffle-4-<n>.results``,
``reduce`` for ``reduce:0--7-65-6825``). The node is otherwise the real one.

A worker reads a file of its own node from disk (the locality rule), so whatever a data server
sends crossed from one node to another (or to the client reading results). :func:`served` and
:func:`reset` are run on the nodes with ``distributed.Client.run``: this module must be
importable under the same name in the benchmark and in the nodes.
"""
import collections
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_COMMAND = ("import sys; sys.path.insert(0, %r); import httpcount; sys.exit(httpcount.main(sys.argv[1:]))"
                % HERE)

SERVED = collections.Counter()      # stage -> bytes sent
REQUESTS = collections.Counter()    # stage -> responses
_STAGE = re.compile(r"[A-Za-z_]+")


def stage_of(path):
    name = path.rstrip("/").rsplit("/", 1)[-1].lstrip(".")
    match = _STAGE.match(name)
    return match.group(0) if match else "other"


def counting(make_app):
    def make_counting_app(*args, **kwargs):
        app = make_app(*args, **kwargs)

        async def count(request, response):
            if request.path.startswith("/disco/") and response.status in (200, 206):
                stage = stage_of(request.path)
                SERVED[stage] += response.content_length or 0
                REQUESTS[stage] += 1

        app.on_response_prepare.append(count)
        return app
    return make_counting_app


def served():
    """``{stage: [bytes, responses]}`` sent by this node's data server since :func:`reset`."""
    return {stage: [SERVED[stage], REQUESTS[stage]] for stage in SERVED}


def reset():
    SERVED.clear()
    REQUESTS.clear()


def main(argv):
    from disco.cli import main as disco_main
    from disco.node import dataserver
    dataserver.make_app = counting(dataserver.make_app)
    return disco_main(argv)
