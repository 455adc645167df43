"""Job functions of the cluster tests (a module of their own: shipped in the job homes)."""
import os
import time


def word_map(line, params):
    for word in line.split():
        yield word, 1


def slow_word_map(line, params):
    time.sleep(params.get("sleep", 0) if isinstance(params, dict) else getattr(params, "sleep", 0))
    for word in line.split():
        yield word, 1


def word_reduce(iter, params):
    from disco.util import kvgroup
    for word, counts in kvgroup(sorted(iter)):
        yield word, sum(counts)




def busy_map(line, params):
    """Writes its pid to ``params["pidfile"]``, then sleeps ``params["sleep"]`` seconds."""
    with open(params["pidfile"], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(params["sleep"])
    yield line, 1
