"""Input and output streams of tasks (``disco.worker.task_io`` of Disco 0.5): every name of
:mod:`disco.recordio`, where they are defined (clients read results with them too)."""
from disco.recordio import *  # noqa: F401,F403
