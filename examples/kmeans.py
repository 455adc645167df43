"""k-means clustering of points (one "x y ..." line each) with numpy, one Disco job per step.

    python examples/kmeans.py [-k K] [--iterations N] [FILE ...]

Each step maps every point to its nearest center (the centers travel in ``params``), a combiner
sums the points of each center per map task (vector sum and count), and the reduce turns the sums
into new centers. Stops after N steps or when no center moves by more than 1e-4. Without files it
clusters ``examples/sample/points.txt`` (three clusters). Prints the centers and cluster sizes.
"""
import argparse

import numpy as np

from disco.core import Job, result_iterator
from disco.worker import Params

from exampleutil import master, sample


def nearest_map(line, params):
    point = np.array(line.split(), dtype=float)
    center = int(np.argmin(((params.centers - point) ** 2).sum(axis=1)))
    yield center, (point, 1)


def sum_combiner(center, value, buffer, done, params):
    if done:
        return buffer.items()
    total, count = buffer.get(center, (0.0, 0))
    buffer[center] = (total + value[0], count + value[1])


def center_reduce(iter, params):
    sums = {}
    for center, (total, count) in iter:
        old_total, old_count = sums.get(center, (0.0, 0))
        sums[center] = (old_total + total, old_count + count)
    for center, (total, count) in sums.items():
        yield center, (total / count, count)


def initial_centers(paths, k):
    """The first ``k`` distinct points of the input (deterministic)."""
    points = []
    for path in paths:
        with open(path) as f:
            for line in f:
                point = tuple(float(x) for x in line.split())
                if point and point not in points:
                    points.append(point)
                if len(points) == k:
                    return np.array(points)
    raise SystemExit("fewer than %d distinct points" % k)


def kmeans(paths, k, iterations, url):
    """``(centers array, sizes)`` after at most ``iterations`` steps."""
    centers, sizes = initial_centers(paths, k), [0] * k
    for _ in range(iterations):
        job = Job(master=url).run(input=paths, map=nearest_map, combiner=sum_combiner,
                                  reduce=center_reduce, params=Params(centers=centers))
        new = centers.copy()
        for center, (mean, count) in result_iterator(job.wait(show=False)):
            new[center], sizes[center] = mean, count
        job.purge()
        moved, centers = float(np.abs(new - centers).max()), new
        if moved < 1e-4:
            break
    return centers, sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("files", nargs="*")
    args = parser.parse_args(argv)
    with master() as url:
        centers, sizes = kmeans(args.files or sample("points.txt"), args.k, args.iterations, url)
    for center, size in sorted(zip(centers.tolist(), sizes)):
        print("center %s  %d points" % (" ".join("%.3f" % x for x in center), size))


if __name__ == "__main__":
    main()
