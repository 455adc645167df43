"""A Disco node on Dask distributed: what runs inside a Dask worker that serves as a Disco node.

``disco node tcp://MASTER:8786`` (:mod:`disco.node.main`) starts a Dask worker whose name is the
node's name; a plain ``dask worker`` gets the same through the worker plugin the master
registers (:class:`disco.node.plugin.DiscoNodePlugin`). A node

* serves its data over HTTP on ``<host>:DISCO_PORT`` (:mod:`disco.node.dataserver`, on a thread
  of its own so that large transfers never stall Dask's heartbeats): ``GET /disco/...`` from its
  ``DISCO_DATA``, ``GET /ddfs/...`` from its ``DDFS_DATA``;
* runs task attempts the master submits to it (:func:`disco.node.attempt.run_attempt`): unpack
  the job home, start the worker, relay its standard streams to the master's protocol host over
  a WebSocket (:mod:`disco.relay` is that connection's message format).

Node ``N`` keeps its data in ``DISCO_DATA/N/`` as on the local backend, so ``disco://N/disco/N/...``
URLs mean the same thing on every backend.
"""
