"""Type stubs of the compiled partitioning (src/partition.pyx): the stable key hash and the
classic worker's map-output loop."""
from typing import Any, Callable, Iterable

MAX_COMBINER_KEYS: int

def hash_key(key: Any) -> int: ...
def partition(key: Any, n: int) -> int: ...
def map_output(entries: Iterable[Any], fn: Callable[..., Iterable[Any]], params: Any,
               partitions: int | None, partition: Callable[[Any, int, Any], int],
               combiner: Callable[..., Any] | None, add_for: Callable[[int], Callable[[Any, Any], None]],
               fast_partition: bool, fast_combiner: bool, progress: Callable[[int], None] | None = None,
               interval: int = 0, max_keys: int = 1000000) -> int: ...
