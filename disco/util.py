"""Small helpers of Disco 0.5 (``disco.util``)."""
from disco._merge import merge  # noqa: F401  (compiled heapq.merge, used by MergedInput)
