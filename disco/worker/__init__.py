"""Disco's worker library (``disco.worker``): the worker side of the Disco Worker Protocol.

This release carries the record stream I/O (``disco.worker.task_io``); the Worker, Input and
Output classes land with the master.
"""
