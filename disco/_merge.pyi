"""Type stubs of the compiled merge (src/merge.pyx): exactly ``heapq.merge``."""
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")

class MergeIterator(Iterator[T]):
    def __iter__(self) -> MergeIterator[T]: ...
    def __next__(self) -> T: ...

def merge(*iterables: Iterable[T], key: Callable[[T], Any] | None = None,
          reverse: bool = False) -> MergeIterator[T]: ...
