"""Job functions the web page tests submit (a small local module: shipped in the job homes)."""

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def slow_map(line, params):
    """Runs long enough (~2.5 s) for a page to observe the task running."""
    import time
    time.sleep(2.5)
    yield line, 1


def quick_map(line, params):
    yield line, 1


def hang_map(line, params):
    """Writes the worker's pid to the file named by the input line, then sleeps until killed."""
    import os
    import time
    with open(line, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(120)
    yield line, 1


def markup_map(line, params):
    """Emits an event message full of markup (MSG events come from the worker's stdout)."""
    print(PAYLOAD)
    yield line, 1


def flaky_map(line, params):
    """Fails the first attempt of a task whose input line is an absolute path (a marker file it
    creates), then works: a task with a failed attempt (a DataError is retried) and a done one."""
    import os
    from disco.error import DataError
    if line.startswith("/") and not os.path.exists(line):
        open(line, "w").close()
        raise DataError("flaky: first attempt fails", "raw://" + line)
    yield line, 1


def count_reduce(iter, params):
    for key, value in iter:
        yield key, value
