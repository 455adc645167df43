"""DDFS, the Disco Distributed File System, as the master serves it (docs/ddfs.md,
docs/http-api.md#ddfs, docs/formats/urls.md).

One process serves every local node: node ``N``'s DDFS data lives in ``DDFS_DATA/N/`` and is
addressed ``disco://N/ddfs/N/vol*/...``; uploads go to the master's own port. Modules:

==============  =================================================================================
``service``     ``DDFSMaster``: nodes, tags, blobs and GC wired from the settings
``web``         the ``/ddfs/...`` routes and their thin handlers
``names``       object names ``<name>$<TS>``, timestamps, valid names, blob prefixes
``volumes``     one node's volumes: paths, URLs, atomic writes, scans
``nodes``       configured / writable nodes; where new replicas go
``tagdata``     the tag object, token rules and attributes (no I/O)
``tagstore``    tags across nodes: versions, replicas, ``+deleted``, delayed updates
``blobs``       ``new_blob`` placement and blob uploads
``gcmap``       what GC finds and deletes (plain functions over files)
``gc``          GC phases, re-replication, status and statistics
``results``     saving a job's results under ``disco:results:<job>``
``errors``      request failures and their HTTP statuses
==============  =================================================================================
"""
