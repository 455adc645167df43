"""PageRank of a directed graph (one ``source target`` edge a line), iterated with Disco jobs.

    python examples/pagerank.py [--iterations N] [--damping D] [FILE]

The first job builds each node's record ``(rank, [targets])`` (rank 1/N); every later job reads the
previous job's results (``map_reader=chain_reader``) and computes
``rank(n) = (1 - D) / N + D * (sum of rank(m) / outdegree(m) for each m linking to n
+ dangling rank / N)``, where the dangling rank is the rank of nodes without links, known from the
previous step and passed in ``params``. Without a file it ranks ``examples/sample/graph.txt``.
Prints the nodes by rank.
"""
import argparse

from disco.core import Job, result_iterator
from disco.util import kvgroup
from disco.worker import Params
from disco.worker.task_io import chain_reader

from exampleutil import master, sample


def edge_map(line, params):
    source, target = line.split()
    yield source, target
    yield target, None  # every node appears, also those without links


def node_reduce(iter, params):
    for node, targets in kvgroup(sorted(iter, key=lambda kv: kv[0])):
        yield node, (1.0 / params.nodes, sorted(t for t in targets if t is not None))


def rank_map(record, params):
    node, (rank, targets) = record
    yield node, targets
    for target in targets:
        yield target, rank / len(targets)


def rank_reduce(iter, params):
    for node, values in kvgroup(sorted(iter, key=lambda kv: kv[0])):
        targets, total = [], 0.0
        for value in values:
            if isinstance(value, list):
                targets = value
            else:
                total += value
        rank = (1 - params.damping) / params.nodes + params.damping * (total + params.dangling / params.nodes)
        yield node, (rank, targets)


def pagerank(path, iterations, damping, url):
    """``{node: rank}``."""
    with open(path) as f:
        nodes = len({n for line in f for n in line.split()})
    params = Params(nodes=nodes, damping=damping, dangling=0.0)
    job = Job(master=url).run(input=[path], map=edge_map, reduce=node_reduce, params=params)
    results = job.wait(show=False)
    for _ in range(iterations):
        params.dangling = sum(rank for _n, (rank, targets) in result_iterator(results) if not targets)
        job = Job(master=url).run(input=results, map=rank_map, map_reader=chain_reader,
                                  reduce=rank_reduce, params=params)
        results = job.wait(show=False)
    return {node: rank for node, (rank, _targets) in result_iterator(results)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--damping", type=float, default=0.85)
    parser.add_argument("file", nargs="?")
    args = parser.parse_args(argv)
    with master() as url:
        ranks = pagerank(args.file or sample("graph.txt")[0], args.iterations, args.damping, url)
    for node, rank in sorted(ranks.items(), key=lambda kv: (-kv[1], kv[0])):
        print("%-10s %.6f" % (node, rank))


if __name__ == "__main__":
    main()
