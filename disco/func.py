"""``disco.func``: the Disco 0.5 alias of ``disco.worker.classic.func``."""
from disco.worker.classic.func import *  # noqa: F401,F403
from disco.worker.classic.func import (combiner, init, map, notifier, partition,  # noqa: F401
                                       reduce, reduce2)
