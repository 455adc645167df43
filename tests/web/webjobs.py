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
