"""A reduce-side join: each order joined with its user (``users.csv``: id,name,city;
``orders.csv``: order id,user id,item,price).

    python examples/join.py [USERS.csv ORDERS.csv]

The map tags every row with its table (an input stream passes the file name along) and keys it by
user id; the reduce input is sorted by key (``sort=True``, no external sort program), so all rows
of one user arrive together. Orders of unknown users are dropped (an inner join). Prints
``user  city  item  price`` rows.
"""
import sys

from disco.core import Job, result_iterator
from disco.util import kvgroup
from disco.worker.task_io import task_input_stream

from exampleutil import master, sample


def tag_with_table(fd, size, url):
    """An input stream: ``(table, line)`` for each line; the table is the file's base name."""
    table = url.rsplit("/", 1)[-1].split(".")[0]
    return ((table, line) for line in fd), size, url


def join_map(entry, params):
    table, line = entry
    fields = line.strip().split(",")
    if table == "users":
        yield int(fields[0]), ("user", fields[1], fields[2])
    else:
        yield int(fields[1]), ("order", fields[2], float(fields[3]))


def join_reduce(iter, params):
    for user_id, rows in kvgroup(iter):
        users, orders = [], []
        for row in rows:
            (users if row[0] == "user" else orders).append(row[1:])
        for name, city in users:
            for item, price in orders:
                yield name, (city, item, price)


def join(users, orders, url):
    job = Job(master=url).run(input=[users, orders], map=join_map, reduce=join_reduce, sort=True,
                              map_input_stream=(task_input_stream, tag_with_table), partitions=2)
    return sorted(result_iterator(job.wait(show=False)))


def main(argv):
    users, orders = argv if len(argv) == 2 else sample("users.csv", "orders.csv")
    with master() as url:
        rows = join(users, orders, url)
    for name, (city, item, price) in rows:
        print("%-8s %-12s %-8s %8.2f" % (name, city, item, price))


if __name__ == "__main__":
    main(sys.argv[1:])
