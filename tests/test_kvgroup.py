"""disco._merge.kvgroup (``disco.util.kvgroup``) must behave exactly like Disco 0.5's
``((k, map(itemgetter(1), g)) for k, g in groupby(kviter, itemgetter(0)))``: same groups, the
same key objects, the same values, whatever the consumer skips, and the same exceptions at the
same points."""
import itertools
import operator
import random

import pytest
from hypothesis import given, settings, strategies as st

from disco._merge import kvgroup
from disco.util import kvgroup as util_kvgroup


def model(kviter):
    for k, kvs in itertools.groupby(kviter, key=operator.itemgetter(0)):
        yield k, map(operator.itemgetter(1), kvs)


def events(impl, records, plan):
    """Drive ``impl(records)``: ``plan[i]`` = how many values of group i to take (None: all).
    Events: ``('g', id of key)``, ``('v', id of value)``, ``('x', exception type)``, ``('end',)``;
    after the plan, the values left in every group seen (abandoned groups are empty)."""
    out, groups = [], []
    it = impl(iter(records))
    try:
        for take in plan:
            k, values = next(it)
            out.append(("g", id(k)))
            groups.append(values)
            for v in (values if take is None else itertools.islice(values, take)):
                out.append(("v", id(v)))
        for k, values in it:
            out.append(("g", id(k)))
            groups.append(values)
        out.append(("end",))
    except Exception as e:  # noqa: BLE001 - the exception is the event
        out.append(("x", type(e)))
    for values in groups:
        try:
            out.append(("left", [id(v) for v in values]))
        except Exception as e:  # noqa: BLE001
            out.append(("x", type(e)))
    return out


keys = st.one_of(st.sampled_from(["a", "b", 1, 1.0, True, None, ("a", 1)]), st.integers(0, 3))
records = st.lists(st.one_of(st.tuples(keys, st.integers()), st.lists(keys, min_size=2, max_size=3)),
                   max_size=30)
plans = st.lists(st.one_of(st.none(), st.integers(0, 3)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(records, plans)
def test_same_as_groupby(recs, plan):
    assert events(kvgroup, recs, plan) == events(model, recs, plan)


def test_errors_at_the_same_points():
    class Key:
        def __init__(self, bad):
            self.bad = bad

        def __eq__(self, other):
            if self.bad or getattr(other, "bad", False):
                raise ZeroDivisionError
            return True
        __hash__ = object.__hash__

    cases = [[("a", 1), (), ("b", 2)], [("a", 1), ("a",)], [("a", 1), 5],
             [(Key(False), 1), (Key(True), 2)], [("a", 1), {"x": 1}]]
    for recs in cases:
        for plan in ([], [None], [0, None], [1]):
            assert events(kvgroup, recs, plan) == events(model, recs, plan)


def test_sorted_word_counts_and_laziness():
    rng = random.Random(5)
    recs = sorted((rng.choice("abcdefgh") * rng.randint(1, 3), rng.randint(0, 9)) for _ in range(5000))
    assert [(k, sum(v)) for k, v in kvgroup(recs)] == [(k, sum(v)) for k, v in model(recs)]
    pulled = []

    def source():
        for r in [("a", 1), ("b", 2)]:
            pulled.append(r)
            yield r
    groups = kvgroup(source())
    assert pulled == []  # nothing is read before the first next()
    assert next(groups)[0] == "a" and pulled == [("a", 1)]
    assert util_kvgroup is kvgroup
