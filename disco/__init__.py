"""Disco: MapReduce for Python 3, with a compiled core.

The public API follows Disco 0.5 (``disco.core``, ``disco.job``, ``disco.worker``).
"""
JOBPACK_VERSION1 = 0x0001
JOBPACK_VERSION2 = 0x0002
