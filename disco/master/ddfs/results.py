"""Saving a job's results in DDFS (docs/master.md#saving-results).

Every data file listed in the index files of the last stage's outputs is copied into DDFS as a
blob named ``<job>:<taskid>:<runid>:<file>`` (made safe) with ``DDFS_BLOB_REPLICAS`` replicas,
the node that holds the file first (remote nodes fetch it from that node's data server); outputs that are URLs already are kept as they are. All of
them become the URL list of the tag ``disco:results:<job>``, and the job's results are
``["tag://disco:results:<job>"]``.
"""
import os
import re

from disco.master.ddfs.errors import DDFSError
from disco.layout import index_entries, locate
from disco.master.jobinputs import InputError, read_index
from disco.master.outputs import DirOutput, url_host
from disco.util import safe_name

RESULTS_TAG = "disco:results:%s"
_RUN = re.compile(r"-(\d+)-(\d+)\.results$")


async def save_results(ddfs, jobname, outputs, data_roots, port):
    """Save ``outputs`` of job ``jobname`` with the master's
    :class:`~disco.master.ddfs.service.DDFSMaster` ``ddfs``; the job's results. ``data_roots``
    and ``port`` locate index files (see ``disco.master.jobinputs``). Raises DDFSError."""
    sets = []
    for output in outputs:
        if not isinstance(output, DirOutput):
            sets.append(output.result)
            continue
        try:
            text = await read_index(output.url, data_roots, port)
        except InputError as e:
            raise DDFSError(str(e)) from None
        run = _RUN.search(output.url)
        taskid, runid = run.groups() if run else ("0", "0")
        try:
            entries = [entry for _lineno, entry in index_entries(text)]
        except ValueError as e:
            raise DDFSError("malformed index file %s: %s" % (output.url, e)) from None
        for _label, url, _size in entries:
            source = _source(ddfs, url, data_roots, port)
            prefix = safe_name("%s:%s:%s:%s" % (jobname, taskid, runid, source.rsplit("/", 1)[-1]))
            try:
                sets.append(await ddfs.blobs.store_file(source, prefix, prefer=[url_host(url)]))
            except OSError as e:
                raise DDFSError("cannot save %s in DDFS: %s" % (url, e)) from None
    name = RESULTS_TAG % jobname
    await ddfs.tags.put_urls(name, sets)
    return ["tag://" + name]


def _source(ddfs, url, data_roots, port):
    """What the nodes' stores copy the output ``url`` from: its local file (local nodes), or its
    ``http://`` URL on the node that holds it (remote nodes fetch it from there)."""
    local, http = locate(url, data_roots, port)
    if ddfs.nodes.remote:
        if local is None:
            raise DDFSError("cannot save %s in DDFS: not a node's data file" % url)
        return http
    if local is None or not os.path.isfile(local):
        raise DDFSError("cannot save %s in DDFS: not a local file" % url)
    return local
