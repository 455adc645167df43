"""The job's inputs as the outputs of the virtual ``input`` stage (docs/jobs.md#groupings,
docs/master.md#job-states).

A ``dir://`` input is an index file: its labels are learnt by reading it by the locality rule
(``disco.layout.locate``): from the local file when it exists (``dir://H/disco/<rest>`` ->
``DISCO_DATA/<rest>``, ``/ddfs/`` -> ``DDFS_DATA``), else over HTTP at
``http://H:<port>/<path>``. A name ending ``.gz`` is gunzipped. Every other input is a data
output with its own label, size hint and replicas.
"""
import asyncio
import gzip
import os

import aiohttp

from disco.layout import locate
from disco.master.auth import client_headers
from disco.master.outputs import DataOutput, DirOutput, index_labels
from disco.settings import DiscoSettings


class InputError(Exception):
    """An index input that cannot be read or parsed."""


async def job_outputs(inputs, data_roots, port):
    """Outputs for ``inputs`` ``[(label, size, urls)]``; ``data_roots`` maps ``"disco"``/``"ddfs"``
    to local directories, ``port`` is the HTTP port of the nodes. Raises :class:`InputError`."""
    outputs = []
    for label, size, urls in inputs:
        if urls[0].startswith("dir://"):
            text = await read_index(urls[0], data_roots, port)
            try:
                labels = index_labels(text)
            except ValueError:
                raise InputError("malformed index file %s" % urls[0]) from None
            outputs.append(DirOutput(urls[0], labels))
        else:
            outputs.append(DataOutput(label, size, tuple(urls)))
    return outputs


async def read_index(url, data_roots, port):
    """The text of the index file at ``dir://`` ``url`` (local file first, then HTTP)."""
    local, http = locate(url, data_roots, port)
    try:
        if local and os.path.isfile(local):
            data = await asyncio.to_thread(_read_file, local)
        else:
            data = await _fetch(http)
        return (gzip.decompress(data) if url.endswith(".gz") else data).decode("utf-8")
    except (OSError, aiohttp.ClientError, asyncio.TimeoutError, UnicodeDecodeError) as e:
        raise InputError("cannot read index file %s: %s" % (url, e)) from None


def _read_file(path):
    with open(path, "rb") as f:
        return f.read()


async def _fetch(url):
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(url, headers=client_headers(DiscoSettings())) as response:
            if response.status != 200:
                raise OSError("HTTP status %d" % response.status)
            return await response.read()
