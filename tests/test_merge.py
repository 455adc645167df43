"""disco._merge.merge must behave exactly like CPython's heapq.merge: same output (ties included),
same comparisons in the same order, same key calls, same laziness and the same exceptions."""
import gc
import heapq
import itertools
import math
import operator
import random
import weakref

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from disco._merge import merge

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def both(make, steps=None, **kw):
    """Run heapq.merge and ours on fresh inputs from ``make()``; return the two event lists.

    An event is ``('v', tag)`` for a produced value (tag = (run, index) of the object in the inputs,
    so ties and identity are checked, not just equality) or ``('x', type, args)`` for an exception.
    """
    out = []
    for impl in (heapq.merge, merge):
        runs = make()
        tags = {}
        for i, run in enumerate(runs):
            if isinstance(run, list):
                for j, x in enumerate(run):
                    tags.setdefault(id(x), (i, j))
        it = impl(*runs, **kw)
        events = []
        for _ in (range(steps) if steps is not None else itertools.count()):
            try:
                x = next(it)
            except StopIteration:
                events.append(("stop",))
                break
            except Exception as e:  # noqa: BLE001 - the exception is the observable
                events.append(("x", type(e), e.args, type(e.__cause__)))
                continue
            events.append(("v", tags.get(id(x), x)))
        out.append(events)
    return out


def check(make, steps=None, **kw):
    expected, got = both(make, steps, **kw)
    assert got == expected
    return got


def sorted_runs(elements, max_runs=6, max_len=12):
    return st.lists(st.lists(elements, max_size=max_len).map(sorted), max_size=max_runs)


# --- plain values ---------------------------------------------------------------------------------

@SETTINGS
@given(sorted_runs(st.integers(-5, 5) | st.integers()))
def test_ints(runs):
    check(lambda: [list(r) for r in runs])
    assert list(merge(*runs)) == sorted(itertools.chain(*runs))


@SETTINGS
@given(sorted_runs(st.text(alphabet="abc\u00e9\U0001f600", max_size=3)))
def test_strings(runs):
    check(lambda: [list(r) for r in runs])


WORDS = st.sampled_from(["a", "b", "the", "of", "zebra", "\u00e9t\u00e9"])


@SETTINGS
@given(sorted_runs(st.tuples(WORDS, st.integers(0, 3)), max_runs=8, max_len=20))
def test_str_int_tuples_many_duplicates(runs):
    # copies, so equal tuples are distinct objects and the tie order is visible through the tags
    check(lambda: [[tuple([w, n]) for (w, n) in r] for r in runs])


@SETTINGS
@given(st.lists(st.lists(st.floats(allow_nan=False) | st.booleans() | st.binary(max_size=2)
                        | st.tuples(st.integers(0, 2), st.tuples(st.integers(0, 2))), max_size=6),
                max_size=5))
def test_mixed_builtin_types_and_errors(runs):
    # incomparable mixes raise TypeError in both, at the same point
    check(lambda: [list(r) for r in runs])


@pytest.mark.parametrize("k", [0, 1, 2, 16, 50])
def test_number_of_iterables(k):
    def make():
        r = random.Random(k)
        return [sorted(r.randrange(30) for _ in range(r.randrange(12))) for _ in range(k)]
    got = check(make)
    assert len(got) == sum(len(r) for r in make()) + 1


def test_empty_runs():
    check(lambda: [[], [], []])
    check(lambda: [[], [1], [], [0, 2], []])
    assert list(merge()) == []
    assert list(merge([], [])) == []


def test_ties_keep_iterable_order():
    a, b, c = [1.0], [1], [True]           # all equal, distinct objects/types
    assert [type(x) for x in merge(a, b, c)] == [float, int, bool]
    assert [type(x) for x in merge(a, b, c, reverse=True)] == [float, int, bool]


# --- key and reverse ------------------------------------------------------------------------------

@SETTINGS
@given(sorted_runs(st.tuples(st.integers(0, 4), st.integers()), max_runs=8, max_len=15))
def test_key_ties(runs):
    key = operator.itemgetter(0)
    runs = [sorted(r, key=key) for r in runs]
    check(lambda: [list(r) for r in runs], key=key)
    check(lambda: [list(r) for r in runs], key=lambda t: t[0])


@SETTINGS
@given(sorted_runs(st.integers(-10, 10), max_runs=8))
def test_reverse(runs):
    check(lambda: [sorted(r, reverse=True) for r in runs], reverse=True)


@SETTINGS
@given(sorted_runs(st.tuples(WORDS, st.integers(0, 3)), max_runs=8, max_len=15))
def test_reverse_with_key(runs):
    key = operator.itemgetter(0)
    runs = [sorted(r, key=key, reverse=True) for r in runs]
    check(lambda: [list(r) for r in runs], key=key, reverse=True)
    check(lambda: [list(r) for r in runs], key=len, reverse=1)


def test_key_none_is_identity_and_reverse_truthiness():
    check(lambda: [[3, 2], [4, 1]], key=None, reverse=[0])
    check(lambda: [[1, 2], [0, 3]], key=None, reverse=[])


# --- inconsistent orders --------------------------------------------------------------------------

def test_nan():
    nan = float("nan")

    def make():
        return [[1.0, nan, 2.0], [nan, 0.5, nan], [float("nan"), 3.0], [2.0, nan], [nan]]
    check(make)
    check(make, reverse=True)
    check(make, key=lambda x: x)
    check(make, key=lambda x: (x,))


@SETTINGS
@given(st.lists(st.lists(st.one_of(st.floats(), st.just(math.nan)), max_size=8), max_size=8))
def test_nan_random(runs):
    check(lambda: [list(r) for r in runs])


@SETTINGS
@given(st.lists(st.lists(st.frozensets(st.integers(0, 3)), max_size=6), max_size=7))
def test_sets_partial_order(runs):
    check(lambda: [[set(s) for s in r] for r in runs])
    check(lambda: [list(r) for r in runs], reverse=True)


class Rec:
    """Value whose == and < are logged and decided by an arbitrary (inconsistent) table."""

    def __init__(self, tag, log, rng_seed):
        self.tag, self.log, self.seed = tag, log, rng_seed

    def _coin(self, op, other):
        return hash((self.seed, op, self.tag, other.tag)) % 3 == 0

    def __eq__(self, other):
        self.log.append(("eq", self.tag, other.tag))
        return self._coin("eq", other)

    def __lt__(self, other):
        self.log.append(("lt", self.tag, other.tag))
        return self._coin("lt", other)

    __hash__ = object.__hash__


@SETTINGS
@given(st.lists(st.integers(0, 6), max_size=10), st.integers(), st.booleans(), st.booleans())
def test_same_comparisons_in_same_order(lengths, seed, reverse, use_key):
    """Mirrors heapq's algorithm, not just some heap: identical comparison log for random tables."""
    logs = []
    for impl in (heapq.merge, merge):
        log = []
        runs = [[Rec((i, j), log, seed) for j in range(n)] for i, n in enumerate(lengths)]
        kw = {"reverse": reverse}
        if use_key:
            kw["key"] = lambda r: (r, 0)      # tuples around user objects: compared by Python
        out = [r.tag for r in impl(*runs, **kw)]
        logs.append((out, log))
    assert logs[0] == logs[1]


@SETTINGS
@given(st.lists(st.lists(st.tuples(st.sampled_from(["x", "y"]), st.integers(0, 2)), max_size=6),
                max_size=6), st.integers())
def test_tuples_mixing_builtins_and_user_objects(runs, seed):
    logs = []
    for impl in (heapq.merge, merge):
        log = []
        data = [[(w, n, Rec((i, j), log, seed)) for j, (w, n) in enumerate(sorted(r))]
                for i, r in enumerate(runs)]
        logs.append(([t[2].tag for t in impl(*data)], log))
    assert logs[0] == logs[1]


@pytest.mark.parametrize("n", [2600, 4096])
@pytest.mark.parametrize("reverse", [False, True])
def test_same_comparisons_big_heap(n, reverse):
    """heapq.heapify sifts in a different ("cache friendly") order above 2500 entries."""
    logs = []
    for impl in (heapq.merge, merge):
        log = []
        runs = [[Rec((i, 0), log, n), Rec((i, 1), log, n)] for i in range(n)]
        logs.append(([r.tag for r in impl(*runs, reverse=reverse)], log))
    assert logs[0] == logs[1]


INT_EDGES = [0, 1, -1, 2, -2, 2**30 - 1, 2**30, 2**30 + 1, -2**30, -2**30 - 1, 2**60, -2**60,
             2**63 - 1, 2**63, -2**63, 2**64 + 5, -2**64 - 5, 10**40, -10**40, 10**40 + 1]


def test_int_compare_edges():
    vals = [int(str(v)) for v in INT_EDGES]          # fresh objects, no identity shortcuts
    for a in vals:
        for b in vals:
            for rev in (False, True):
                assert list(merge([a], [b], reverse=rev)) == list(heapq.merge([a], [b], reverse=rev))
    assert list(merge(*[[v] for v in vals])) == sorted(vals)


# --- laziness and key calls -----------------------------------------------------------------------

def test_lazy_nothing_pulled_before_first_next():
    pulled = []

    def gen(name, items):
        for x in items:
            pulled.append((name, x))
            yield x
    it = merge(gen("a", [1, 4]), gen("b", [2, 3]), gen("c", []))
    assert pulled == []
    assert next(it) == 1
    assert pulled == [("a", 1), ("b", 2)]
    assert next(it) == 2
    assert pulled == [("a", 1), ("b", 2), ("a", 4)]


def test_lazy_bad_argument_raises_on_first_next():
    it = merge([1], 5)
    with pytest.raises(TypeError):
        next(it)
    with pytest.raises(StopIteration):
        next(it)


def test_infinite_inputs():
    def first(impl, n, *its, **kw):
        return list(itertools.islice(impl(*its, **kw), n))
    inputs = lambda: (itertools.count(), itertools.count(5, 3), itertools.repeat(7))  # noqa: E731
    assert first(merge, 500, *inputs()) == first(heapq.merge, 500, *inputs())
    down = lambda: (itertools.count(0, -1), itertools.count(3, -2))  # noqa: E731
    assert first(merge, 100, *down(), reverse=True) == first(heapq.merge, 100, *down(), reverse=True)
    neg = lambda x: -x  # noqa: E731
    assert first(merge, 50, *inputs(), key=neg) == first(heapq.merge, 50, *inputs(), key=neg)


def test_pull_pattern_matches_heapq():
    def make_logger(log):
        def gen(name, items):
            for x in items:
                log.append(("pull", name, x))
                yield x
            log.append(("end", name))
        return gen
    logs = []
    for impl in (heapq.merge, merge):
        log = []
        gen = make_logger(log)
        it = impl(gen("a", [1, 5, 9]), gen("b", [2, 3]), gen("c", [4, 10, 11, 12]))
        for x in it:
            log.append(("out", x))
        logs.append(log)
    assert logs[0] == logs[1]


@SETTINGS
@given(sorted_runs(st.tuples(st.integers(0, 3), st.integers()), max_runs=7), st.integers(0, 40),
       st.booleans())
def test_key_calls_match_heapq(runs, steps, reverse):
    counts = []
    for impl in (heapq.merge, merge):
        calls = []

        def key(t):
            calls.append(t)
            return t[0]
        data = [sorted(r, key=operator.itemgetter(0), reverse=reverse) for r in runs]
        per_step = []
        it = impl(*data, key=key, reverse=reverse)
        for _ in range(steps):
            try:
                next(it)
            except StopIteration:
                break
            per_step.append(len(calls))
        counts.append((per_step, calls))
    assert counts[0] == counts[1]


def test_no_key_calls_once_one_iterable_remains():
    calls = []

    def key(x):
        calls.append(x)
        return x
    assert list(merge([1, 2], [3, 4, 5, 6], key=key)) == [1, 2, 3, 4, 5, 6]
    assert calls == [1, 3, 2]


# --- exceptions ----------------------------------------------------------------------------------

class Boom(Exception):
    pass


def failing(items, exc):
    yield from items
    raise exc


def test_exception_from_iterable_propagates_unchanged():
    err = Boom("x")
    it = merge([1, 2, 3], failing([0, 2], err), [5])
    assert [next(it), next(it), next(it), next(it)] == [0, 1, 2, 2]
    with pytest.raises(Boom) as info:
        next(it)
    assert info.value is err
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(StopIteration):
        next(it)
    check(lambda: [[1, 2, 3], failing([0, 2], Boom("x")), [5]])
    check(lambda: [failing([], Boom("first"))])
    check(lambda: [[1], failing([0], Boom("last"))])          # raised inside the pass-through


def test_exception_from_key_propagates_unchanged():
    err = Boom("key")

    def key(x):
        if x == 3:
            raise err
        return x
    it = merge([1, 3], [2, 4], key=key)
    assert next(it) == 1
    with pytest.raises(Boom) as info:
        next(it)
    assert info.value is err
    with pytest.raises(StopIteration):
        next(it)
    check(lambda: [[1, 3], [2, 4]], key=key)
    check(lambda: [[3], [2, 4]], key=key)


def test_exception_from_comparison():
    class Bad:
        def __eq__(self, other):
            raise Boom("eq")

        def __lt__(self, other):
            raise Boom("lt")
    check(lambda: [[1, Bad()], [2, 3]])
    check(lambda: [[Bad()], [Bad()]])
    check(lambda: [[1, 2], ["a"]])                                  # TypeError


def test_stopiteration_quirks_match_heapq():
    """heapq's generator swallows StopIteration from key/next/comparisons in its loop (dropping an
    iterable) and turns one escaping elsewhere into RuntimeError; we mirror that."""
    def key(x):
        if x == 3:
            raise StopIteration
        return x
    check(lambda: [[1, 3, 5], [2, 4, 6], [0, 9]], key=key)
    check(lambda: [[3, 5], [2, 4, 6]], key=key)

    class StopCmp:
        def __init__(self, v):
            self.v = v

        def __eq__(self, other):
            return False

        def __lt__(self, other):
            if self.v == 7 or getattr(other, "v", None) == 7:
                raise StopIteration
            return self.v < other.v
    check(lambda: [[StopCmp(1), StopCmp(7), StopCmp(8)], [StopCmp(2), StopCmp(9)], [StopCmp(3)]])
    check(lambda: [[StopCmp(7)], [StopCmp(1)], [StopCmp(2)]])     # in heapify -> RuntimeError

    class StopIter:
        def __iter__(self):
            raise StopIteration
    check(lambda: [[1, 4], StopIter(), [0]])                       # ends the iter() loop


def test_exception_context_matches_heapq():
    """An error while dropping an exhausted iterable is raised inside heapq's ``except
    StopIteration`` handler, so it carries that StopIteration as __context__."""
    armed = []

    class Cmp:
        def __init__(self, v):
            self.v = v

        def __eq__(self, other):
            return False

        def __lt__(self, other):
            if armed:
                raise Boom("cmp")
            return self.v < other.v

    def run(items):
        yield from items
        armed.append(1)
    seen = []
    for impl in (heapq.merge, merge):
        del armed[:]
        it = impl(run([Cmp(1)]), [Cmp(2), Cmp(3)], [Cmp(5)])
        assert next(it).v == 1
        with pytest.raises(Boom) as info:
            next(it)
        seen.append((type(info.value.__context__), info.value.__cause__))
    assert seen[0] == seen[1] == (StopIteration, None)


def test_reentrant_next_raises_valueerror():
    holder = []

    class Sneaky:
        def __init__(self, v):
            self.v = v

        def __eq__(self, other):
            return False

        def __lt__(self, other):
            try:
                next(holder[0])
            except ValueError as e:
                holder.append(str(e))
            return self.v < other.v
    for impl in (heapq.merge, merge):
        del holder[:]
        holder.append(impl([Sneaky(1), Sneaky(3)], [Sneaky(2)]))
        assert [s.v for s in holder[0]] == [1, 2, 3]
        assert holder[1:] and set(holder[1:]) == {"generator already executing"}


# --- generators, close, gc -----------------------------------------------------------------------

@SETTINGS
@given(sorted_runs(st.integers(0, 20), max_runs=8))
def test_generators_as_inputs(runs):
    check(lambda: [(x for x in r) for r in runs])
    check(lambda: [iter(r) for r in runs], key=lambda x: -x, reverse=True)


def test_close_closes_the_passed_through_iterator_like_yield_from():
    class Closable:
        def __init__(self, items):
            self.items, self.closed = iter(items), 0

        def __iter__(self):
            return self

        def __next__(self):
            return next(self.items)

        def close(self):
            self.closed += 1
    for impl in (heapq.merge, merge):
        a, b = Closable([1, 2, 3]), Closable([0])
        it = impl(a, b)
        assert [next(it), next(it), next(it)] == [0, 1, 2]   # now inside ``yield from a``
        it.close()
        assert (a.closed, b.closed) == (1, 0)
        with pytest.raises(StopIteration):
            next(it)
        a = Closable([1, 2, 3])
        it = impl(a, [])
        next(it), next(it)
        del it
        gc.collect()
        assert a.closed == 1                                  # finalisation closes it too


def test_collects_reference_cycles():
    class Loop:
        def __init__(self):
            self.m, self.i = None, 0

        def __iter__(self):
            return self

        def __next__(self):
            self.i += 1
            return self.i
    a, b = Loop(), Loop()
    m = merge(a, b)
    a.m = m
    next(m), next(m)
    ref = weakref.ref(m)
    del m, a, b
    gc.collect()
    assert ref() is None


def test_list_and_tuple_subclasses_and_mutation_during_merge():
    class L(list):
        pass

    class T(tuple):
        pass
    check(lambda: [L([1, 4, 7]), T((2, 5, 8)), L(range(0, 30, 3)), T(range(1, 30, 4))])

    def mutated(impl):
        x, y = [1, 2, 3, 4, 5, 6], [2, 3, 4]
        it = impl(x, y)
        out = [next(it), next(it)]
        x.clear()
        y.append(10)
        return out + list(it)
    assert mutated(merge) == mutated(heapq.merge)


def test_is_iterator():
    it = merge([1])
    assert iter(it) is it
    assert list(it) == [1]
    with pytest.raises(StopIteration):
        next(it)
