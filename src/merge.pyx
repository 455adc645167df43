# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled k-way merge: ``merge(*iterables, key=None, reverse=False)``.

Contract: a drop-in for CPython 3.11's ``heapq.merge`` with *exactly* its observable behaviour.

* Same output for every input, ties included.  Entries are ordered like heapq's ``[key, order, ...]``
  lists: for every pair the keys are first tested with ``==`` (``PyObject_RichCompareBool(Py_EQ)``,
  identity shortcut included); equal keys fall back to the iterable position (earlier first, also
  with ``reverse=True``), unequal ones are decided by ``<``.  Only ``Py_EQ``/``Py_LT`` are ever used.
  The heap algorithm is heapq's C one (``heapify``; ``heapreplace`` = ``siftup`` to a leaf then
  ``siftdown``; ``heappop``; the ``_max`` variants for ``reverse``), step by step, so even
  inconsistent orders (NaN, sets, user ``__lt__``) make the same comparisons in the same order
  and give the same output as ``heapq.merge``.
* ``key`` (``None`` = identity) is called exactly when heapq calls it: once per element, except
  that once a single iterable remains its rest is passed through untouched (no key calls).
* Lazy: the arguments are only turned into iterators, and the first elements pulled, on the first
  ``next()``; every later ``next()`` pulls at most one element.  Works with infinite iterators.
* Exceptions raised by iterables, by ``key`` or by comparisons propagate unchanged.  As in heapq,
  a ``StopIteration`` raised by an iterator, by ``key`` or by a comparison inside the merge loop
  drops the iterable at the top of the heap; one escaping elsewhere becomes
  ``RuntimeError('generator raised StopIteration')``.  After exhaustion or an exception every
  ``next()`` raises ``StopIteration``; a re-entrant ``next()`` raises ``ValueError``.
* ``close()`` (also run on finalisation) closes the last remaining iterator when the merge is
  suspended inside it, like the ``yield from`` of heapq's generator.

The result is a ``MergeIterator`` (an iterator, not a generator: it has no ``send``/``throw``).
Heap entries live in a C array (key, value, iterator, cached ``tp_iternext``, order) and the heap is
an array of entry pointers.  For exact ``str``/``int``/``float``/``bytes``/``bool`` and tuples of
them the ``==``/``<`` pair is evaluated in C; these comparisons are pure, so this is unobservable.
"""

cimport cython
from libc.stdlib cimport calloc, free
from libc.string cimport memcmp


cdef extern from "Python.h":
    ctypedef struct PyObject
    ctypedef PyObject* (*iternextfunc)(PyObject*) noexcept
    ctypedef int (*visitproc)(PyObject*, void*) noexcept
    ctypedef int (*traverseproc)(PyObject*, visitproc, void*) noexcept
    ctypedef int (*inquiry)(PyObject*) noexcept
    ctypedef struct PyTypeObject:
        iternextfunc tp_iternext
        traverseproc tp_traverse
        inquiry tp_clear

    PyTypeObject PyUnicode_Type
    PyTypeObject PyLong_Type
    PyTypeObject PyFloat_Type
    PyTypeObject PyTuple_Type
    PyTypeObject PyBytes_Type
    PyTypeObject PyBool_Type
    PyObject* PyExc_StopIteration
    PyObject* PyExc_AttributeError
    PyObject* Py_False
    enum:
        Py_EQ
        Py_LT

    PyTypeObject* Py_TYPE(PyObject*)
    void Py_INCREF(PyObject*)
    void Py_DECREF(PyObject*)
    void Py_XDECREF(PyObject*)
    PyObject* PyErr_Occurred()
    int PyErr_ExceptionMatches(PyObject*)
    void PyErr_Clear()
    void PyErr_SetNone(PyObject*)
    void PyErr_WriteUnraisable(PyObject*)
    int PyObject_RichCompareBool(PyObject*, PyObject*, int)
    PyObject* PyObject_CallOneArg(PyObject*, PyObject*)
    PyObject* PyObject_CallNoArgs(PyObject*)
    PyObject* PyObject_GetAttrString(PyObject*, const char*)
    int PyUnicode_Compare(PyObject*, PyObject*)
    double PyFloat_AS_DOUBLE(PyObject*)
    Py_ssize_t PyTuple_GET_SIZE(PyObject*)
    PyObject* PyTuple_GET_ITEM(PyObject*, Py_ssize_t)
    Py_ssize_t PyBytes_GET_SIZE(PyObject*)
    char* PyBytes_AS_STRING(PyObject*)


cdef extern from *:
    """
    /* Prefetching for list/tuple iterators.  A merge touches each element once, at an address
       unrelated to the previous one, so it is bound by cache misses (listiter_next's INCREF).
       For exact list and tuple iterators we peek (read-only, no reference taken) at the next
       elements of the run and prefetch them -- and the items of the tuple after the current one --
       long before that run wins again.  The iterator layout {HEAD, it_index, it_seq} is private
       to CPython, so disco_seqiter_probe() validates it at import; if it does not match, no
       peeking happens at all.  Prefetching has no observable effect. */
    typedef struct { PyObject_HEAD Py_ssize_t it_index; PyObject *it_seq; } disco_seqiter;

    /* volatile asm: GCC's DCE drops a plain __builtin_prefetch whose address comes from loads */
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    #define DISCO_PREFETCH(p) __asm__ __volatile__("prefetcht0 (%0)" : : "r"((const void *)(p)))
    #elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
    #define DISCO_PREFETCH(p) __asm__ __volatile__("prfm pldl1keep, [%0]" : : "r"((const void *)(p)))
    #elif defined(__GNUC__) || defined(__clang__)
    #define DISCO_PREFETCH(p) __builtin_prefetch((p), 0, 3)
    #else
    #define DISCO_PREFETCH(p) ((void)(p))
    #endif

    static int disco_seqiter_probe(PyObject *seq, PyObject *it, Py_ssize_t index) {
        return ((disco_seqiter *)it)->it_seq == seq && ((disco_seqiter *)it)->it_index == index;
    }

    /* kind 1: list iterator (it_seq is a list or list subclass); 2: tuple iterator. */
    static inline void disco_prefetch_next(PyObject *it, int kind) {
        disco_seqiter *si = (disco_seqiter *)it;
        PyObject *seq = si->it_seq, *o;
        PyObject **items;
        Py_ssize_t i = si->it_index, n;
        if (seq == NULL)
            return;
        n = Py_SIZE(seq);
        items = kind == 1 ? ((PyListObject *)seq)->ob_item : ((PyTupleObject *)seq)->ob_item;
        if (i + 1 < n)
            DISCO_PREFETCH(items[i + 1]);
        if (i + 2 < n)
            DISCO_PREFETCH(items[i + 2]);
        if (i < n) {
            o = items[i];               /* prefetched when this run last advanced */
            if (PyTuple_CheckExact(o)) {
                n = PyTuple_GET_SIZE(o);
                if (n > 0)
                    DISCO_PREFETCH(PyTuple_GET_ITEM(o, 0));
                if (n > 1)
                    DISCO_PREFETCH(PyTuple_GET_ITEM(o, 1));
            }
        }
    }

    /* Three-way compare of two exact ints like CPython's long_compare (-1/0/1), or 2 if it cannot
       tell without calling Python.  The digit layout is read directly on 3.11 only. */
    static inline int disco_long_cmp(PyObject *a, PyObject *b) {
    #if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
        Py_ssize_t sa = Py_SIZE(a), sb = Py_SIZE(b), i;
        const digit *da = ((PyLongObject *)a)->ob_digit, *db = ((PyLongObject *)b)->ob_digit;
        if (sa != sb)
            return sa < sb ? -1 : 1;
        i = sa < 0 ? -sa : sa;
        while (--i >= 0 && da[i] == db[i])
            ;
        if (i < 0)
            return 0;
        return (da[i] < db[i]) == (sa > 0) ? -1 : 1;
    #else
        int ova, ovb;
        long x = PyLong_AsLongAndOverflow(a, &ova), y = PyLong_AsLongAndOverflow(b, &ovb);
        if (ova || ovb)
            return 2;
        return x < y ? -1 : (x > y);
    #endif
    }
    """
    int disco_long_cmp(PyObject* a, PyObject* b) noexcept
    bint disco_seqiter_probe(object seq, object it, Py_ssize_t index)
    void disco_prefetch_next(PyObject* it, int kind) noexcept


ctypedef struct Entry:
    PyObject* key        # owned; the value itself when there is no key function
    PyObject* value      # owned; NULL when there is no key function
    PyObject* it         # owned iterator
    iternextfunc nxt     # its tp_iternext (heapq binds it.__next__ once, too)
    Py_ssize_t order     # iterable position * direction, the tie breaker
    int peek             # 1/2: list/tuple iterator, prefetch its next elements; 0: don't


cdef object _ListIter = type(iter([]))
cdef object _TupleIter = type(iter(()))


cdef bint _probe_seqiters():
    cdef list l = [None, None]
    cdef tuple t = (None, None)
    li = iter(l)
    ti = iter(t)
    if not (disco_seqiter_probe(l, li, 0) and disco_seqiter_probe(t, ti, 0)):
        return False
    next(li)
    next(ti)
    return disco_seqiter_probe(l, li, 1) and disco_seqiter_probe(t, ti, 1)


cdef bint _PEEK = _probe_seqiters()


# ---------------------------------------------------------------------------------------------
# Comparisons

cdef enum:
    LESS = 0        # a == b is false and a < b is true
    EQUAL = 1       # a == b is true
    OTHER = 2       # both false (greater, or unordered like NaN)
    UNKNOWN = 3     # not a pair of pure built-ins: ask Python
    MAX_DEPTH = 32  # nesting depth of tuples handled in C


cdef int fast_cmp(PyObject* a, PyObject* b, int depth) noexcept:
    """Outcome of ``a == b`` then ``a < b`` for built-ins whose comparisons run no Python code."""
    cdef PyTypeObject* t
    cdef Py_ssize_t i, la, lb
    cdef int c
    cdef double dx, dy
    if a == b:                      # PyObject_RichCompareBool's identity shortcut
        return EQUAL
    t = Py_TYPE(a)
    if t != Py_TYPE(b):
        return UNKNOWN
    if t == &PyUnicode_Type:
        c = PyUnicode_Compare(a, b)
        if c == -1 and PyErr_Occurred() != NULL:   # (only on MemoryError readying a legacy str)
            PyErr_Clear()
            return UNKNOWN
        return LESS if c < 0 else (EQUAL if c == 0 else OTHER)
    if t == &PyTuple_Type:
        if depth >= MAX_DEPTH:
            return UNKNOWN
        la = PyTuple_GET_SIZE(a)
        lb = PyTuple_GET_SIZE(b)
        for i in range(la if la < lb else lb):
            c = fast_cmp(PyTuple_GET_ITEM(a, i), PyTuple_GET_ITEM(b, i), depth + 1)
            if c != EQUAL:
                return c                # decided (or UNKNOWN) by the first differing item
        return EQUAL if la == lb else (LESS if la < lb else OTHER)
    if t == &PyLong_Type:
        c = disco_long_cmp(a, b)
        return LESS if c < 0 else (EQUAL if c == 0 else (OTHER if c == 1 else UNKNOWN))
    if t == &PyFloat_Type:
        dx = PyFloat_AS_DOUBLE(a)
        dy = PyFloat_AS_DOUBLE(b)
        return EQUAL if dx == dy else (LESS if dx < dy else OTHER)
    if t == &PyBytes_Type:
        la = PyBytes_GET_SIZE(a)
        lb = PyBytes_GET_SIZE(b)
        c = memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), <size_t>(la if la < lb else lb))
        if c == 0:
            return EQUAL if la == lb else (LESS if la < lb else OTHER)
        return LESS if c < 0 else OTHER
    if t == &PyBool_Type:           # distinct bools: False < True
        return LESS if a == Py_False else OTHER
    return UNKNOWN


cdef inline int entry_lt(Entry* a, Entry* b) noexcept:
    """``[a.key, a.order] < [b.key, b.order]`` exactly as list comparison does it; -1 on error."""
    cdef int c = fast_cmp(a.key, b.key, 0)
    if c == EQUAL:
        return a.order < b.order
    if c == LESS:
        return 1
    if c == OTHER:
        return 0
    c = PyObject_RichCompareBool(a.key, b.key, Py_EQ)
    if c < 0:
        return -1
    if c:
        return a.order < b.order
    return PyObject_RichCompareBool(a.key, b.key, Py_LT)


# ---------------------------------------------------------------------------------------------
# heapq's C heap (Modules/_heapqmodule.c), min and max variants.  Returns -1 with an exception set.

cdef int siftdown(Entry** heap, Py_ssize_t startpos, Py_ssize_t pos, bint rev) noexcept:
    cdef Py_ssize_t parentpos
    cdef Entry* newitem
    cdef Entry* parent
    cdef int c
    while pos > startpos:
        parentpos = (pos - 1) >> 1
        newitem = heap[pos]
        parent = heap[parentpos]
        c = entry_lt(parent, newitem) if rev else entry_lt(newitem, parent)
        if c < 0:
            return -1
        if c == 0:
            break
        heap[parentpos] = newitem
        heap[pos] = parent
        pos = parentpos
    return 0


cdef int siftup(Entry** heap, Py_ssize_t endpos, Py_ssize_t pos, bint rev) noexcept:
    cdef Py_ssize_t startpos = pos
    cdef Py_ssize_t limit = endpos >> 1
    cdef Py_ssize_t childpos
    cdef Entry* tmp
    cdef int c
    while pos < limit:
        childpos = 2 * pos + 1
        if childpos + 1 < endpos:
            if rev:
                c = entry_lt(heap[childpos + 1], heap[childpos])
            else:
                c = entry_lt(heap[childpos], heap[childpos + 1])
            if c < 0:
                return -1
            childpos += c ^ 1
        tmp = heap[childpos]
        heap[childpos] = heap[pos]
        heap[pos] = tmp
        pos = childpos
    return siftdown(heap, startpos, pos, rev)


cdef int heapify(Entry** heap, Py_ssize_t n, bint rev) noexcept:
    """heapq.heapify / _heapify_max, including the order of the siftups for big heaps."""
    cdef Py_ssize_t i, j, m, mhalf, leftmost
    if n <= 2500:
        for i in range((n >> 1) - 1, -1, -1):
            if siftup(heap, n, i, rev) < 0:
                return -1
        return 0
    # cache_friendly_heapify: sift a parent as soon as both its child heaps are done
    m = n >> 1                          # index of first childless node
    leftmost = m + 1                    # leftmost node in row of m: keep_top_bit(m + 1) - 1
    i = 0
    while leftmost > 1:
        leftmost >>= 1
        i += 1
    leftmost = (leftmost << i) - 1
    mhalf = m >> 1                      # parent of first childless node
    for i in range(leftmost - 1, mhalf - 1, -1):
        j = i
        while True:
            if siftup(heap, n, j, rev) < 0:
                return -1
            if not (j & 1):
                break
            j >>= 1
    for i in range(m - 1, leftmost - 1, -1):
        j = i
        while True:
            if siftup(heap, n, j, rev) < 0:
                return -1
            if not (j & 1):
                break
            j >>= 1
    return 0


cdef inline void release_entry(Entry* e) noexcept:
    cdef PyObject* k = e.key
    cdef PyObject* v = e.value
    cdef PyObject* it = e.it
    e.key = NULL
    e.value = NULL
    e.it = NULL
    Py_XDECREF(k)
    Py_XDECREF(v)
    Py_XDECREF(it)


cdef int reraise() except -1:
    """Hand an exception already set through the C API over to Cython's propagation."""
    return -1


cdef inline object steal(PyObject* p):
    cdef object o = <object>p
    Py_DECREF(p)
    return o


# ---------------------------------------------------------------------------------------------

cdef enum:
    ST_INIT = 0       # nothing pulled yet
    ST_MAIN = 1       # >1 iterables left; the root's value was returned last
    ST_LAST = 2       # 1 iterable left; its head value was returned last
    ST_DELEGATE = 3   # passing the last iterator through (heapq's ``yield from``)
    ST_DONE = 4

cdef object _END = object()


@cython.final
@cython.auto_pickle(False)
cdef class MergeIterator:
    """Iterator returned by :func:`merge`."""
    cdef object iterables, key, reverse, delegate
    cdef object __weakref__
    cdef Entry* entries
    cdef Entry** heap
    cdef Py_ssize_t n           # live heap size
    cdef Py_ssize_t m           # allocated entries
    cdef int state
    cdef bint rev, haskey, running

    def __cinit__(self):
        self.state = ST_INIT

    def __dealloc__(self):
        self._release()
        free(self.heap)
        free(self.entries)

    def __iter__(self):
        return self

    def __next__(self):
        cdef int rc
        cdef Entry* e
        cdef PyObject* d
        cdef PyObject* v
        if self.running:
            raise ValueError("generator already executing")
        if self.state == ST_MAIN:
            self.running = 1
            rc = self._advance()
            self.running = 0
            if rc == 0:
                e = self.heap[0]
                return <object>(e.value if self.haskey else e.key)
            return self._slow(1)
        if self.state == ST_DELEGATE:
            d = <PyObject*>self.delegate
            self.running = 1
            v = Py_TYPE(d).tp_iternext(d)
            self.running = 0
            if v != NULL:
                return steal(v)
            # the last iterator is done (StopIteration ends ``yield from``) or failed
            if PyErr_Occurred() != NULL and not PyErr_ExceptionMatches(PyExc_StopIteration):
                self._finish()
                reraise()
            PyErr_Clear()
            self._finish()
            raise StopIteration
        return self._slow(0)

    cdef int _advance(self) noexcept:
        """heapq's ``s[0] = next(); _heapreplace(h, s)`` (with key: ``value = next(); s[0] = key(value);
        s[2] = value``).  -1 with an exception set on failure; exhaustion sets StopIteration."""
        cdef Entry* e = self.heap[0]
        cdef PyObject* v = e.nxt(e.it)
        cdef PyObject* k
        cdef PyObject* old
        if v == NULL:
            if PyErr_Occurred() == NULL:
                PyErr_SetNone(PyExc_StopIteration)
            return -1
        if self.haskey:
            k = PyObject_CallOneArg(<PyObject*>self.key, v)
            if k == NULL:
                Py_DECREF(v)
                return -1
            old = e.key
            e.key = k
            Py_DECREF(old)
            old = e.value
            e.value = v
            Py_DECREF(old)
        else:
            old = e.key
            e.key = v
            Py_DECREF(old)
        if e.peek:
            disco_prefetch_next(e.it, e.peek)
        return siftup(self.heap, self.n, 0, self.rev)

    cdef object _slow(self, bint pending):
        """Everything but the steady state, with heapq's generator semantics around it."""
        cdef object r
        if self.state == ST_DONE and not pending:
            raise StopIteration
        self.running = 1
        try:
            r = self._resume(pending)
        except StopIteration as exc:     # a StopIteration escaping heapq.merge's body
            self._finish()
            raise RuntimeError("generator raised StopIteration") from exc
        except BaseException:
            self._finish()
            raise
        finally:
            self.running = 0
        if r is _END:
            self._finish()
            raise StopIteration
        return r

    cdef object _resume(self, bint pending):
        cdef PyObject* d
        cdef PyObject* v
        if pending:
            # _advance failed: StopIteration (from next, key or a comparison) drops the root.
            try:
                reraise()
            except StopIteration:
                self._heappop()
            return self._emit()
        if self.state == ST_INIT:
            self._init()
            return self._emit()
        if self.state == ST_LAST:
            # ``yield from next.__self__``
            self.delegate = iter(<object>self.heap[0].it)
            self._release()
            self.state = ST_DELEGATE
            d = <PyObject*>self.delegate
            v = Py_TYPE(d).tp_iternext(d)
            if v != NULL:
                return steal(v)
            if PyErr_Occurred() != NULL:
                if not PyErr_ExceptionMatches(PyExc_StopIteration):
                    reraise()
                PyErr_Clear()
        return _END

    cdef object _emit(self):
        cdef Entry* e
        if self.n == 0:
            return _END
        self.state = ST_MAIN if self.n > 1 else ST_LAST
        e = self.heap[0]
        return <object>(e.value if self.haskey else e.key)

    cdef int _init(self) except -1:
        cdef Py_ssize_t order, m, direction
        cdef PyObject* vp
        cdef Entry* e
        cdef iternextfunc nxt
        cdef object it, value, k
        self.rev = bool(self.reverse)
        direction = -1 if self.rev else 1
        self.haskey = self.key is not None
        args = self.iterables
        m = len(args)
        self.entries = <Entry*>calloc(m if m else 1, sizeof(Entry))
        self.heap = <Entry**>calloc(m if m else 1, sizeof(Entry*))
        if self.entries == NULL or self.heap == NULL:
            raise MemoryError()
        self.m = m
        self.n = 0
        for order in range(m):
            try:
                it = iter(args[order])
            except StopIteration:       # ends heapq's ``enumerate(map(iter, iterables))`` loop
                break
            nxt = Py_TYPE(<PyObject*>it).tp_iternext
            vp = nxt(<PyObject*>it)
            if vp == NULL:
                if PyErr_Occurred() != NULL:
                    if not PyErr_ExceptionMatches(PyExc_StopIteration):
                        reraise()
                    PyErr_Clear()
                continue
            value = steal(vp)
            if self.haskey:
                try:
                    k = self.key(value)
                except StopIteration:
                    continue
            else:
                k = value
            e = &self.entries[self.n]
            e.key = <PyObject*>k
            Py_INCREF(e.key)
            if self.haskey:
                e.value = <PyObject*>value
                Py_INCREF(e.value)
            e.it = <PyObject*>it
            Py_INCREF(e.it)
            e.nxt = nxt
            e.peek = 0
            if _PEEK:
                e.peek = 1 if type(it) is _ListIter else (2 if type(it) is _TupleIter else 0)
            e.order = order * direction
            self.heap[self.n] = e
            self.n += 1
        if heapify(self.heap, self.n, self.rev) < 0:
            reraise()
        return 0

    cdef int _heappop(self) except -1:
        cdef Entry* dropped = self.heap[0]
        cdef int rc
        self.n -= 1
        self.heap[0] = self.heap[self.n]
        rc = siftup(self.heap, self.n, 0, self.rev)
        release_entry(dropped)
        if rc < 0:
            reraise()
        return 0

    cdef void _release(self) noexcept:
        cdef Py_ssize_t i
        self.n = 0
        if self.entries != NULL:
            for i in range(self.m):
                release_entry(&self.entries[i])

    cdef void _finish(self) noexcept:
        self.state = ST_DONE
        self._release()
        self.iterables = None
        self.key = None
        self.reverse = None
        self.delegate = None

    def close(self):
        """Like generator ``close()``: when passing the last iterator through, close it too."""
        cdef PyObject* d
        cdef PyObject* meth
        cdef PyObject* r
        if self.running:
            raise ValueError("generator already executing")
        if self.state != ST_DELEGATE:
            self._finish()
            return None
        self.running = 1
        d = <PyObject*>self.delegate
        Py_INCREF(d)
        meth = PyObject_GetAttrString(d, "close")      # CPython's gen_close_iter
        if meth == NULL:
            if not PyErr_ExceptionMatches(PyExc_AttributeError):
                PyErr_WriteUnraisable(d)
            PyErr_Clear()
            r = NULL
        else:
            r = PyObject_CallNoArgs(meth)
            Py_DECREF(meth)
            if r == NULL:
                self.running = 0
                self._finish()
                Py_DECREF(d)
                try:
                    reraise()
                except (GeneratorExit, StopIteration) as exc:
                    if isinstance(exc, GeneratorExit):
                        return None
                    raise RuntimeError("generator raised StopIteration") from exc
            Py_DECREF(r)
        self.running = 0
        self._finish()
        Py_DECREF(d)
        return None

    def __del__(self):
        if self.state == ST_DELEGATE and not self.running:
            self.close()


# Garbage collector support for the C array of entries (Cython only traverses object attributes).
cdef traverseproc _base_traverse = (<PyTypeObject*>MergeIterator).tp_traverse
cdef inquiry _base_clear = (<PyTypeObject*>MergeIterator).tp_clear


cdef int _traverse(PyObject* o, visitproc visit, void* arg) noexcept:
    cdef Py_ssize_t i
    cdef int r
    cdef Entry* e
    cdef MergeIterator self = <MergeIterator>o
    if _base_traverse != NULL:
        r = _base_traverse(o, visit, arg)
        if r:
            return r
    if self.entries != NULL:
        for i in range(self.m):
            e = &self.entries[i]
            if e.key != NULL:
                r = visit(e.key, arg)
                if r:
                    return r
            if e.value != NULL:
                r = visit(e.value, arg)
                if r:
                    return r
            if e.it != NULL:
                r = visit(e.it, arg)
                if r:
                    return r
    return 0


cdef int _clear(PyObject* o) noexcept:
    cdef MergeIterator self = <MergeIterator>o
    self.state = ST_DONE
    self._release()
    if _base_clear != NULL:
        return _base_clear(o)
    return 0


(<PyTypeObject*>MergeIterator).tp_traverse = _traverse
(<PyTypeObject*>MergeIterator).tp_clear = _clear


def merge(*iterables, key=None, reverse=False):
    """Merge sorted inputs into one sorted iterator; exactly ``heapq.merge`` (see the module doc).

    >>> list(merge([1,3,5,7], [0,2,4,8], [5,10,15,20], [], [25]))
    [0, 1, 2, 3, 4, 5, 5, 7, 8, 10, 15, 20, 25]
    >>> list(merge(['dog', 'horse'], ['cat', 'fish', 'kangaroo'], key=len))
    ['dog', 'cat', 'fish', 'horse', 'kangaroo']
    """
    cdef MergeIterator m = MergeIterator.__new__(MergeIterator)
    m.iterables = iterables
    m.key = key
    m.reverse = reverse
    return m



# ------------------------------------------------------------------------------------------------
# kvgroup: consecutive records with equal keys

from cpython.object cimport PyObject_GetItem

cdef object _MISSING = object()
cdef tuple _INDEX = (0, 1)


cdef inline object _field(object record, Py_ssize_t i):
    """``record[i]`` (``operator.itemgetter(i)(record)``), without a call for a tuple. (The
    module's ``boundscheck=False`` makes a plain ``record[i]`` unchecked: never use it here.)"""
    if Py_TYPE(<PyObject *>record) == &PyTuple_Type and PyTuple_GET_SIZE(<PyObject *>record) > i:
        return <object>PyTuple_GET_ITEM(<PyObject *>record, i)
    return PyObject_GetItem(record, _INDEX[i])


cdef inline int _equal(object a, object b) except -1:
    return PyObject_RichCompareBool(<PyObject *>a, <PyObject *>b, Py_EQ)


@cython.final
@cython.auto_pickle(False)
cdef class KVGroups:
    """Iterator returned by :func:`kvgroup`: ``itertools.groupby``'s state machine, step by step
    (a group's key is its first record's, later keys are compared to it with ``==`` as
    ``PyObject_RichCompareBool(group key, key)``; moving on to the next group makes the previous
    group's values empty), with ``record[0]``/``record[1]`` taken in C for tuples."""
    cdef object iterable, it, tgtkey, currkey, currvalue
    cdef Py_ssize_t group   # number of the current group: a _Values of another one is over

    cdef int step(self) except -1:
        """The next record (StopIteration at the end) and its key."""
        value = next(self.it)
        self.currkey = _field(value, 0)
        self.currvalue = value
        return 0

    def __iter__(self):
        return self

    def __next__(self):
        cdef _Values values
        if self.it is None:
            self.it = iter(self.iterable)
            self.iterable = None
        self.group += 1
        while True:
            if self.currkey is _MISSING:
                pass
            elif self.tgtkey is _MISSING:
                break
            elif not _equal(self.tgtkey, self.currkey):
                break
            self.step()
        self.tgtkey = self.currkey
        values = _Values.__new__(_Values)
        values.groups = self
        values.key = self.tgtkey
        values.group = self.group
        return (self.currkey, values)


@cython.final
@cython.auto_pickle(False)
cdef class _Values:
    """The values (``record[1]``) of one group of :class:`KVGroups`."""
    cdef KVGroups groups
    cdef object key
    cdef Py_ssize_t group

    def __iter__(self):
        return self

    def __next__(self):
        cdef KVGroups groups = self.groups
        if groups.group != self.group:
            raise StopIteration
        if groups.currvalue is _MISSING:
            groups.step()
        if not _equal(self.key, groups.currkey):
            raise StopIteration
        record = groups.currvalue
        groups.currvalue = _MISSING
        return _field(record, 1)


def kvgroup(kviter):
    """Group *consecutive* records with equal keys: yields ``(k, iterator of values)``.

    No sorting is done: use ``kvgroup(sorted(iter))`` to group all values of a key. Exactly
    ``((k, map(itemgetter(1), g)) for k, g in groupby(kviter, itemgetter(0)))``, compiled
    (``kviter`` is iterated from the first ``next``).
    """
    cdef KVGroups groups = KVGroups.__new__(KVGroups)
    groups.iterable = kviter
    groups.tgtkey = groups.currkey = groups.currvalue = _MISSING
    return groups
