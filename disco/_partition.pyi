"""Type stubs of the compiled partitioning (src/partition.pyx): the stable key hash, the
classic worker's map-output loop and its counting iterator."""
from typing import Any, Callable, Iterable, Iterator

MAX_COMBINER_KEYS: int
SORT_BUFFER: int

def hash_key(key: Any) -> int: ...
def partition(key: Any, n: int) -> int: ...
def map_output(entries: Iterable[Any], fn: Callable[..., Iterable[Any]], params: Any,
               partitions: int | None, partition: Callable[[Any, int, Any], int],
               combiner: Callable[..., Any] | None, add_for: Callable[[int], Callable[[Any, Any], None]],
               fast_partition: bool, fast_combiner: bool, progress: Callable[[int], None] | None = None,
               interval: int = 0, max_keys: int = 1000000, sort_output: bool = False,
               max_bytes: int = 67108864) -> int: ...

class Progress(Iterator[Any]):
    def __init__(self, iterable: Iterable[Any], report: Callable[[int], Any],
                 done: Callable[[int], Any], interval: int = 0) -> None: ...
    def __iter__(self) -> Progress: ...
    def __next__(self) -> Any: ...
