# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Partitioning map output: the stable key hash of ``default_partition`` and the compiled loop
that routes what a map yields to its partitions (``map_output``, used by the classic worker:
``sum_combiner`` and output held to be written sorted by key, both keeping exact-str keys in an
open-addressing table, ``_StrTable``), and ``Progress``, the counting iterator of a reduce's input.

``hash_key(key)`` is the same in every process, on every run and machine (unlike ``hash()``, which
is salted per process), so all map tasks send a key to the same partition. Keys that compare equal
hash equally across numeric types (``1 == 1.0 == True``), as Python's own ``hash`` promises.

Algorithm: 64-bit FNV-1a over a canonical byte form, finished with the splitmix64 mixer.
- str: its UTF-8 bytes (lone surrogates kept); bytes/bytearray: the bytes.
- int, bool, and floats with an integral value: the 8 little-endian bytes of the value when it
  fits in 64 bits, else the decimal digits; other floats: their 8 IEEE 754 bytes.
- None: a fixed value; tuple and list: the element hashes combined in order.
- anything else: the UTF-8 of ``str(key)`` (so such keys need a ``__str__`` that is the same in
  every process: a set's is not).
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

import operator

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object o, Py_ssize_t *size) except NULL
    bint PyUnicode_Check(object o)
    bint PyBytes_Check(object o)
    bint PyLong_Check(object o)
    bint PyFloat_Check(object o)
    bint PyTuple_Check(object o)
    bint PyList_Check(object o)
    long long PyLong_AsLongLongAndOverflow(object o, int *overflow) except? -1
    double PyFloat_AS_DOUBLE(object o)

cdef uint64_t FNV_OFFSET = 0xcbf29ce484222325ULL
cdef uint64_t FNV_PRIME = 0x100000001b3ULL


cdef inline uint64_t fnv1a(const unsigned char *p, Py_ssize_t n, uint64_t h) noexcept:
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * FNV_PRIME
    return h


cdef inline uint64_t mix(uint64_t z) noexcept:
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL
    return z ^ (z >> 31)


cdef inline uint64_t hash_int64(int64_t v, uint64_t tag) noexcept:
    cdef unsigned char b[8]
    cdef int i
    for i in range(8):
        b[i] = (<uint64_t>v >> (8 * i)) & 0xff
    return fnv1a(b, 8, FNV_OFFSET ^ tag)


cdef uint64_t _hash(object key, int depth) except? 0:
    cdef Py_ssize_t n, i
    cdef const char *s
    cdef int overflow = 0
    cdef long long v
    cdef double d
    cdef uint64_t h
    if PyUnicode_Check(key):
        try:
            s = PyUnicode_AsUTF8AndSize(key, &n)
        except UnicodeEncodeError:
            data = (<str>key).encode('utf-8', 'surrogatepass')
            return mix(fnv1a(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), FNV_OFFSET ^ 1))
        return mix(fnv1a(<const unsigned char *>s, n, FNV_OFFSET ^ 1))
    if PyBytes_Check(key):
        return mix(fnv1a(<const unsigned char *>PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key), FNV_OFFSET ^ 2))
    if PyLong_Check(key):
        v = PyLong_AsLongLongAndOverflow(key, &overflow)
        if overflow == 0:
            return mix(hash_int64(v, 3))
        data = str(int(key)).encode('ascii')
        return mix(fnv1a(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), FNV_OFFSET ^ 3))
    if PyFloat_Check(key):
        d = PyFloat_AS_DOUBLE(key)
        if -9.2e18 < d < 9.2e18 and d == <double>(<long long>d):
            return mix(hash_int64(<long long>d, 3))
        if d == d and d - d == 0 and d == int(d):  # integral but beyond 64 bits
            return _hash(int(d), depth)
        return mix(fnv1a(<const unsigned char *>&d, 8, FNV_OFFSET ^ 4))
    if key is None:
        return mix(FNV_OFFSET ^ 5)
    if (PyTuple_Check(key) or PyList_Check(key)) and depth < 100:
        h = FNV_OFFSET ^ 6
        n = len(key)
        for i in range(n):
            h = (h ^ _hash(key[i], depth + 1)) * FNV_PRIME
        return mix(h ^ <uint64_t>n)
    data = str(key).encode('utf-8', 'surrogatepass')
    return mix(fnv1a(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), FNV_OFFSET ^ 7))


def hash_key(key):
    """A stable 64-bit hash of ``key`` (see the module docstring)."""
    return _hash(key, 0)


def partition(key, Py_ssize_t n):
    """``hash_key(key) % n``: the partition of ``key`` among ``n``."""
    if n <= 0:
        raise ValueError("the number of partitions must be positive, not %d" % n)
    return <Py_ssize_t>(_hash(key, 0) % <uint64_t>n)


# ------------------------------------------------------------------------------------------------
# routing map output to partitions

cimport cython
from cpython.bool cimport PyBool_Check
from cpython.list cimport PyList_Append, PyList_GET_ITEM
from cpython.long cimport PyLong_AsSsize_t
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.ref cimport Py_DECREF

cdef extern from "Python.h":
    bint PyTuple_CheckExact(object o)
    bint PyUnicode_CheckExact(object o)
    bint PyBytes_CheckExact(object o)
    bint PyLong_CheckExact(object o)
    bint PyFloat_CheckExact(object o)
    Py_ssize_t PyTuple_GET_SIZE(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    int PyUnicode_KIND(object o)
    PyObject* PyTuple_GET_ITEM(object o, Py_ssize_t i)
    PyObject* PyDict_GetItemWithError(object d, object k) except? NULL
    PyObject* PyDict_SetDefault(object d, object k, object default) except NULL
    ctypedef struct PyObject

cdef extern from *:
    bint add_overflow "__builtin_add_overflow" (long long a, long long b, long long *r) noexcept

MAX_COMBINER_KEYS = 1000000
SORT_BUFFER = 64 * 1024 * 1024

cdef object _first = operator.itemgetter(0)


cdef Py_ssize_t _frozen_size(object x, int depth) except -2:
    """Estimated bytes of memory that holding ``x`` costs when it is a value nothing can change
    (an exact str, bytes, int, float, bool or None, or a tuple of those at most 3 deep); -1
    otherwise (such a record is written at once: the map may change it after yielding it)."""
    cdef Py_ssize_t size, i
    cdef int overflow = 0
    cdef long long v
    if PyUnicode_CheckExact(x):
        return 56 + PyUnicode_GET_LENGTH(x) * PyUnicode_KIND(x)
    if PyLong_CheckExact(x):
        v = PyLong_AsLongLongAndOverflow(x, &overflow)
        return 0 if (overflow == 0 and -5 <= v <= 256) else 32  # small ints are shared
    if x is None or x is True or x is False:
        return 0
    if PyFloat_CheckExact(x):
        return 24
    if PyBytes_CheckExact(x):
        return 40 + PyBytes_GET_SIZE(x)
    if PyTuple_CheckExact(x) and depth < 3:
        size = 40 + 8 * PyTuple_GET_SIZE(x)
        for i in range(PyTuple_GET_SIZE(x)):
            v = _frozen_size(<object>PyTuple_GET_ITEM(x, i), depth + 1)
            if v < 0:
                return -1
            size += v
        return size
    return -1


# -- exact-str keys: an open-addressing table -----------------------------------------------------

cdef struct _Slot:
    Py_hash_t hash
    PyObject *key           # NULL: an empty slot
    PyObject *obj           # the user's data (see _Sums and _Held), owned
    PyObject *extra         # owned
    long long count
    int nbytes              # of the key's data (keys of 2 GiB or more are not put here)
    int kind                # of the key (str data: 1, 2 or 4 bytes a character)
    char data[16]           # the key's first 16 bytes of data


cdef extern from "Python.h":
    void* PyUnicode_DATA(object o)
    int PyUnicode_READY(object o) except -1
    Py_hash_t PyObject_Hash(object o) except -1
    void Py_INCREF_ptr "Py_INCREF" (PyObject *o)
    void Py_XDECREF_ptr "Py_XDECREF" (PyObject *o)

from libc.string cimport memcmp, memset


@cython.final
cdef class _StrTable:
    """Exact-str keys and a 64-byte slot each (hash, first 16 bytes of data, ``count``, ``obj``,
    ``extra``), open addressing: finding a word touches one slot, where CPython's dict reads its
    index, its entry and the key object. ``n`` keys; ``slot(j)`` is the j-th key's, in the order
    keys came. A key whose data is 2 GiB or more is not taken (``find`` returns NULL)."""
    cdef _Slot *slots
    cdef Py_ssize_t mask
    cdef Py_ssize_t *order
    cdef public Py_ssize_t n
    cdef bint fresh          # the last find inserted its key

    def __cinit__(self):
        self._table(1024)

    def __dealloc__(self):
        self.clear()
        PyMem_Free(self.slots)
        PyMem_Free(self.order)

    cdef int _table(self, Py_ssize_t size) except -1:
        self.slots = <_Slot *>PyMem_Malloc(size * sizeof(_Slot))
        self.order = <Py_ssize_t *>PyMem_Malloc(size // 2 * sizeof(Py_ssize_t))
        if self.slots == NULL or self.order == NULL:
            raise MemoryError()
        memset(self.slots, 0, size * sizeof(_Slot))
        self.mask = size - 1
        return 0

    cdef void clear(self) noexcept:
        """Forget every key (and what its slot holds)."""
        cdef Py_ssize_t j
        cdef _Slot *slot
        for j in range(self.n):
            slot = &self.slots[self.order[j]]
            Py_XDECREF_ptr(slot.key)
            Py_XDECREF_ptr(slot.obj)
            Py_XDECREF_ptr(slot.extra)
            slot.key = slot.obj = slot.extra = NULL
        self.n = 0

    cdef inline _Slot *slot(self, Py_ssize_t j) noexcept:
        return &self.slots[self.order[j]]

    cdef int _grow(self) except -1:
        cdef _Slot *old = self.slots
        cdef Py_ssize_t *old_order = self.order
        cdef Py_ssize_t j, i
        self._table(2 * (self.mask + 1))
        for j in range(self.n):
            i = old[old_order[j]].hash & self.mask
            while self.slots[i].key != NULL:
                i = (i + 1) & self.mask
            self.slots[i] = old[old_order[j]]
            self.order[j] = i
        PyMem_Free(old)
        PyMem_Free(old_order)
        return 0

    cdef _Slot *find(self, k) except? NULL:
        """The slot of the exact str ``k``, a new one (count 0, obj and extra NULL; ``fresh``)
        if it has none."""
        cdef _Slot *slot
        cdef Py_hash_t h
        cdef Py_ssize_t i, nbytes
        cdef int kind
        cdef const char *data
        PyUnicode_READY(k)
        kind = PyUnicode_KIND(k)
        nbytes = PyUnicode_GET_LENGTH(k) * kind
        if nbytes >= 0x7fffffff:
            return NULL
        h = PyObject_Hash(k)
        data = <const char *>PyUnicode_DATA(k)
        i = h & self.mask
        while True:
            slot = &self.slots[i]
            if slot.key == NULL:
                break
            if (slot.hash == h and slot.nbytes == nbytes and slot.kind == kind
                    and (slot.key == <PyObject *>k
                         or (memcmp(slot.data, data, nbytes if nbytes < 16 else 16) == 0
                             and (nbytes <= 16 or memcmp(<const char *>PyUnicode_DATA(<object>slot.key) + 16,
                                                         data + 16, nbytes - 16) == 0)))):
                self.fresh = False
                return slot
            i = (i + 1) & self.mask
        if 2 * (self.n + 1) > self.mask + 1:
            self._grow()
            return self.find(k)
        Py_INCREF_ptr(<PyObject *>k)
        slot.key = <PyObject *>k
        slot.hash = h
        slot.nbytes = <int>nbytes
        slot.kind = kind
        slot.count = 0
        slot.obj = slot.extra = NULL
        memcpy(slot.data, data, nbytes if nbytes < 16 else 16)
        self.order[self.n] = i
        self.n += 1
        self.fresh = True
        return slot


cdef inline void _set(PyObject **field, object value) noexcept:
    """``*field = value``, the new reference taken, the old one dropped."""
    Py_INCREF_ptr(<PyObject *>value)
    Py_XDECREF_ptr(field[0])
    field[0] = <PyObject *>value


# -- exact-str keys in key order ------------------------------------------------------------------

cdef extern from "Python.h":
    void* PyUnicode_DATA_ptr "PyUnicode_DATA" (PyObject *o) nogil

from libc.stdlib cimport calloc, free, qsort


cdef extern from *:
    void prefetch "__builtin_prefetch" (const void *p) noexcept nogil


cdef struct _Ref:
    Py_ssize_t label        # -1: None
    uint64_t prefix         # the key's first 8 bytes, big-endian, zero-padded
    Py_ssize_t nbytes
    _Slot *slot


cdef int _compare_refs(const void *a, const void *b) noexcept nogil:
    """By label, then by key: keys of one byte a character, whose order as Python compares them
    (by code point) is the order of their bytes."""
    cdef const _Ref *x = <const _Ref *>a
    cdef const _Ref *y = <const _Ref *>b
    cdef Py_ssize_t n
    cdef int c
    if x.label != y.label:
        return -1 if x.label < y.label else 1
    if x.prefix != y.prefix:
        return -1 if x.prefix < y.prefix else 1
    n = x.nbytes if x.nbytes < y.nbytes else y.nbytes
    if n > 8:   # the first 8 bytes are equal
        c = memcmp(x.slot.data + 8, y.slot.data + 8, (n if n < 16 else 16) - 8)
        if c == 0 and n > 16:
            c = memcmp(<const char *>PyUnicode_DATA_ptr(x.slot.key) + 16,
                       <const char *>PyUnicode_DATA_ptr(y.slot.key) + 16, n - 16)
        if c != 0:
            return c
    return (x.nbytes > y.nbytes) - (x.nbytes < y.nbytes)


cdef bint _key_order(_StrTable table, _Ref *refs, Py_ssize_t nparts) except -1:
    """Fill ``refs`` (room for ``2 * table.n``: the sort uses half) with the table's keys sorted
    by label (``hash_key(k) % nparts``; all -1 when ``nparts`` is 0) then key -- as Python sorts
    the strs, in C, on bytes kept in the slots. False (``refs`` unusable) when a key has more
    than one byte a character."""
    cdef Py_ssize_t j = 0, i, k
    cdef _Slot *slot
    cdef uint64_t prefix
    for i in range(table.mask + 1):     # in memory order, not the keys': far fewer cache misses
        slot = &table.slots[i]
        if slot.key == NULL:
            continue
        if slot.kind != 1:
            return False
        prefix = 0
        for k in range(8):
            prefix = (prefix << 8) | (<unsigned char>slot.data[k] if k < slot.nbytes else 0)
        refs[j].prefix = prefix
        refs[j].nbytes = slot.nbytes
        refs[j].slot = slot
        refs[j].label = (-1 if nparts == 0 else 0 if nparts == 1
                         else <Py_ssize_t>(_hash(<object>slot.key, 0) % <uint64_t>nparts))
        j += 1
    if j < 2:
        pass
    elif nparts > 65536:
        qsort(refs, j, sizeof(_Ref), _compare_refs)
    else:
        _radix_sort(refs, refs + j, j, nparts)
    return True


cdef void _radix_sort(_Ref *refs, _Ref *tmp, Py_ssize_t n, Py_ssize_t nparts) noexcept nogil:
    """Sort ``refs`` as ``_compare_refs`` does: LSD radix passes over the 8 prefix bytes and the
    label (``tmp``: room for ``n`` more), then each run of equal label and prefix (keys sharing
    their first 8 bytes, or shorter ones told apart by length) by insertion."""
    cdef Py_ssize_t counts[8][256]
    cdef Py_ssize_t *labels
    cdef Py_ssize_t i, j, b, total, c, start
    cdef int shift, p
    cdef _Ref *src = refs
    cdef _Ref *dst = tmp
    cdef _Ref *swap
    cdef _Ref x
    memset(counts, 0, sizeof(counts))
    for i in range(n):
        for p in range(8):
            counts[p][(refs[i].prefix >> (8 * p)) & 0xff] += 1
    for p in range(8):
        shift = 8 * p
        if counts[p][(src[0].prefix >> shift) & 0xff] == n:
            continue    # every key has this byte: nothing to do
        total = 0
        for b in range(256):
            c = counts[p][b]
            counts[p][b] = total
            total += c
        for i in range(n):
            b = (src[i].prefix >> shift) & 0xff
            dst[counts[p][b]] = src[i]
            counts[p][b] += 1
        swap = src; src = dst; dst = swap
    if nparts > 1:
        labels = <Py_ssize_t *>calloc(nparts, sizeof(Py_ssize_t))
        if labels != NULL:
            for i in range(n):
                labels[src[i].label] += 1
            total = 0
            for b in range(nparts):
                c = labels[b]
                labels[b] = total
                total += c
            for i in range(n):
                dst[labels[src[i].label]] = src[i]
                labels[src[i].label] += 1
            swap = src; src = dst; dst = swap
            free(labels)
        else:   # out of memory for the counts: sort it the slow way
            qsort(src, n, sizeof(_Ref), _compare_refs)
    if src != refs:
        memcpy(refs, src, n * sizeof(_Ref))
    start = 0
    for i in range(1, n + 1):
        if i < n and refs[i].label == refs[start].label and refs[i].prefix == refs[start].prefix:
            continue
        for j in range(start + 1, i):   # a run of equal label and prefix: by insertion
            x = refs[j]
            b = j
            while b > start and _compare_refs(&refs[b - 1], &x) > 0:
                refs[b] = refs[b - 1]
                b -= 1
            refs[b] = x
        start = i


# -- held map output ------------------------------------------------------------------------------

cdef inline bint _hold(PyObject **last, long long *count, PyObject **earlier, v) except -1:
    """Hold ``v`` after the values ``earlier`` (``[value, count, ...]``) and ``last`` (``count``
    times): consecutive identical objects are counted, not stored (a word count's ``1``s cost
    no memory). True when ``v`` took memory."""
    if count[0] and <PyObject *>v == last[0]:
        count[0] += 1
        return False
    if count[0]:
        if earlier[0] == NULL:
            _set(earlier, [])
        (<list>earlier[0]).extend((<object>last[0], count[0]))
    _set(last, v)
    count[0] = 1
    return True


cdef _write_held(adder, key, PyObject *last, long long count, PyObject *earlier):
    """``adder(key, v)`` for each held value; ``key`` None: ``adder(*v)`` (values are records)."""
    cdef Py_ssize_t i
    cdef long long j
    if earlier != NULL:
        for i in range(0, len(<list>earlier), 2):
            v = (<list>earlier)[i]
            for j in range(<long long>(<list>earlier)[i + 1]):
                adder(*v) if key is None else adder(key, v)
    if count:
        v = <object>last
        for j in range(count):
            adder(*v) if key is None else adder(key, v)


@cython.final
@cython.no_gc  # holds frozen values only (atoms, tuples of atoms): never in a cycle
cdef class _Values:
    """The records held for one key that is not an exact str (see ``_hold``)."""
    cdef PyObject *last
    cdef PyObject *earlier
    cdef long long count

    def __dealloc__(self):
        Py_XDECREF_ptr(self.last)
        Py_XDECREF_ptr(self.earlier)


cdef class _Held:
    """The records of one label held back to be written sorted by key: values of each exact-str
    key (in the order they came; a ``_StrTable`` slot: ``obj`` the last value, ``count`` its
    repeats, ``extra`` the earlier ones) and the records of each other key (any frozen key: equal
    keys of different types, ``1``/``1.0``/``True``, share a group but keep their own records)."""
    cdef _StrTable strs
    cdef dict others    # other key -> _Values of records
    cdef object adder

    def __cinit__(self, adder):
        self.strs = _StrTable()
        self.others = {}
        self.adder = adder

    cdef Py_ssize_t add_str(self, k, v) except -1:
        """Hold ``v`` for the exact str ``k``: bytes of memory taken (-1: ``k`` cannot be held)."""
        cdef _Slot *slot = self.strs.find(k)
        if slot == NULL:
            return -1
        if self.strs.fresh:
            _hold(&slot.obj, &slot.count, &slot.extra, v)
            return 160 + _frozen_size(k, 0)
        return 16 if _hold(&slot.obj, &slot.count, &slot.extra, v) else 0

    cdef bint add_other(self, k, kv) except -1:
        """Hold the record ``kv`` of the frozen key ``k``; true when it took memory."""
        cdef _Values values
        cdef PyObject *found = PyDict_GetItemWithError(self.others, k)
        if found == NULL:
            values = _Values.__new__(_Values)
            self.others[k] = values
        else:
            values = <_Values>found
        return _hold(&values.last, &values.count, &values.earlier, kv)

    cdef write(self):
        """Write the held records ordered by key (keys that do not compare: grouped, in the order
        they came) and let go of them."""
        cdef object adder = self.adder
        cdef list groups = []
        cdef _Values values
        cdef _Slot *slot
        cdef Py_ssize_t j
        cdef _Ref *refs
        if not self.others and self.strs.n:
            refs = <_Ref *>PyMem_Malloc(2 * self.strs.n * sizeof(_Ref))
            if refs == NULL:
                raise MemoryError()
            try:
                if _key_order(self.strs, refs, 0):
                    for j in range(self.strs.n):
                        if j + 8 < self.strs.n:
                            prefetch(refs[j + 8].slot)
                        slot = refs[j].slot
                        _write_held(adder, <object>slot.key, slot.obj, slot.count, slot.extra)
                    self.strs.clear()
                    return
            finally:
                PyMem_Free(refs)
        for j in range(self.strs.n):
            groups.append((<object>self.strs.slot(j).key, j))
        others, self.others = self.others, {}
        for k, values in others.items():
            groups.append((k, values))
        if others:
            _sort_by_key(groups)
        else:
            groups.sort(key=_first)  # exact strs: they compare
        for group in groups:
            if len(<tuple>group) == 2 and type((<tuple>group)[1]) is int:
                slot = self.strs.slot((<tuple>group)[1])
                _write_held(adder, (<tuple>group)[0], slot.obj, slot.count, slot.extra)
            else:
                values = (<tuple>group)[1]
                _write_held(adder, None, values.last, values.count, values.earlier)
        self.strs.clear()


cdef _sort_by_key(list records):
    """Sort ``records`` by their first item when those compare; else leave them as they are
    (their keys are frozen builtin values, whose comparisons only fail with TypeError)."""
    try:
        records.sort(key=_first)
    except TypeError:
        pass


cdef class _SortedOutput:
    """Map output held in memory and written as runs sorted by key (``map_output``'s
    ``sort_output``): at most ``max_bytes`` (estimated) are held; then every label's records are
    written sorted and holding starts again, so an output is a sequence of sorted runs. The first
    record that cannot be held (its key or value is not frozen) writes what is held and ends
    holding: that record and all later ones are written as they come."""
    cdef dict held
    cdef object add_for
    cdef dict adders
    cdef Py_ssize_t size, max_bytes
    cdef public bint holding
    cdef object last_label
    cdef _Held last

    def __cinit__(self, add_for, dict adders, Py_ssize_t max_bytes):
        self.held = {}
        self.add_for = add_for
        self.adders = adders
        self.max_bytes = max_bytes
        self.holding = True
        self.last_label = self  # no label is this object

    cdef int add(self, label, k, v, kv) except -1:
        """Hold the record ``kv`` (``(k, v)``) of ``label``; 0, or 1 when it cannot be held (then
        nothing is held any more: the caller writes it)."""
        cdef _Held held
        cdef PyObject *values
        cdef Py_ssize_t vsize, ksize
        vsize = _frozen_size(v, 0)
        if vsize < 0:
            self.stop()
            return 1
        if label is self.last_label:
            held = self.last
        else:
            held = self.held.get(label)
            if held is None:
                held = self.held[label] = _Held(_adder(self.adders, self.add_for, label))
            self.last_label, self.last = label, held
        ksize = held.add_str(k, v) if PyUnicode_CheckExact(k) else -1
        if ksize >= 0:
            self.size += ksize + (vsize if ksize else 0)
        else:
            ksize = _frozen_size(k, 0)
            if ksize < 0:
                self.stop()
                return 1
            if not (PyTuple_CheckExact(kv) and PyTuple_GET_SIZE(kv) == 2):
                kv = (k, v)
            if held.add_other(k, kv):
                self.size += 160 + 72 + vsize + ksize
        if self.size >= self.max_bytes:
            self.write()
        return 0

    cdef write(self):
        """Write every label's held records, sorted."""
        cdef _Held held
        for held in self.held.values():
            held.write()
        self.size = 0

    cdef stop(self):
        self.write()
        self.holding = False


# -- sum_combiner ---------------------------------------------------------------------------------

@cython.final
cdef class _Sums:
    """``sum_combiner``'s buffer, one lookup per record: exact-str keys in a ``_StrTable`` (the
    sum in ``count``, or in ``obj`` once it is not a long long), other keys in a dict of slot
    numbers. A sum is a C ``long long`` while every value added is an exact int (or bool) and
    the sum fits, else the Python object that ``0 + v1 + v2 ...`` gives (from the first value
    that is not, with Python's ``+``, so every sum equals ``sum_combiner``'s; errors too). A str
    subclass key is not an exact str: its sum is kept apart from an equal str's (reduces add
    partial sums anyway). ``n``: keys held."""
    cdef _StrTable strs
    cdef dict index             # other key -> slot number in counts/objects
    cdef long long *counts
    cdef list objects           # per other key: None while the sum is in counts
    cdef Py_ssize_t nother, capacity
    cdef object next_slot       # the slot number a new other key gets (identity tells)
    cdef public Py_ssize_t n

    def __cinit__(self):
        self.strs = _StrTable()
        self.index = {}
        self.objects = []
        self.next_slot = 0

    def __dealloc__(self):
        PyMem_Free(self.counts)

    cdef int add(self, k, v) except -1:
        cdef _Slot *slot
        cdef long long x, total
        cdef int overflow = 0
        if not PyUnicode_CheckExact(k):
            return self._add_other(k, v)
        slot = self.strs.find(k)
        if slot == NULL:
            return self._add_other(k, v)
        if self.strs.fresh:
            self.n += 1
        if slot.obj == NULL and (PyLong_CheckExact(v) or PyBool_Check(v)):
            x = PyLong_AsLongLongAndOverflow(v, &overflow)
            if overflow == 0 and not add_overflow(slot.count, x, &total):
                slot.count = total
                return 0
        _set(&slot.obj, (slot.count if slot.obj == NULL else <object>slot.obj) + v)
        return 0

    cdef int _add_other(self, k, v) except -1:
        cdef PyObject *slot = PyDict_SetDefault(self.index, k, self.next_slot)
        cdef Py_ssize_t i
        cdef long long x, total
        cdef int overflow = 0
        cdef long long *grown
        if slot == <PyObject *>self.next_slot:
            i = self.nother
            if i == self.capacity:
                self.capacity = max(1024, 2 * self.capacity)
                grown = <long long *>PyMem_Realloc(self.counts, self.capacity * sizeof(long long))
                if grown == NULL:
                    raise MemoryError()
                self.counts = grown
            self.counts[i] = 0
            self.objects.append(None)
            self.nother = i + 1
            self.n += 1
            self.next_slot = self.nother
        else:
            i = PyLong_AsSsize_t(<object>slot)
        if (PyLong_CheckExact(v) or PyBool_Check(v)) and PyList_GET_ITEM(self.objects, i) == <PyObject *>None:
            x = PyLong_AsLongLongAndOverflow(v, &overflow)
            if overflow == 0 and not add_overflow(self.counts[i], x, &total):
                self.counts[i] = total
                return 0
        old = self.objects[i]
        self.objects[i] = (self.counts[i] if old is None else old) + v
        return 0

    cdef bint write_sorted(self, Py_ssize_t nparts, dict adders, add_for) except -1:
        """Write every sum, sorted by key, to its label's adder (``_write_sums``) and empty the
        buffer -- when all keys are exact strs of one byte a character (sorted in C, no tuples);
        else False, nothing written."""
        cdef Py_ssize_t j, last = -2
        cdef _Ref *refs
        cdef _Slot *slot
        cdef object adder = None
        if self.nother:
            return False
        refs = <_Ref *>PyMem_Malloc(2 * max(self.strs.n, 1) * sizeof(_Ref))
        if refs == NULL:
            raise MemoryError()
        try:
            if not _key_order(self.strs, refs, nparts):
                return False
            for j in range(self.strs.n):
                if j + 8 < self.strs.n:
                    prefetch(refs[j + 8].slot)
                    if j + 4 < self.strs.n:
                        prefetch(refs[j + 4].slot.key)
                if refs[j].label != last:
                    last = refs[j].label
                    adder = _adder(adders, add_for, None if last == -1 else last)
                slot = refs[j].slot
                adder(<object>slot.key, slot.count if slot.obj == NULL else <object>slot.obj)
        finally:
            PyMem_Free(refs)
        self.strs.clear()
        self.n = 0
        return True

    cdef list take(self):
        """The ``(key, sum)`` records (str keys in the order they came, then the others in
        theirs); empties the buffer."""
        cdef list records = []
        cdef Py_ssize_t i, j
        cdef _Slot *slot
        for j in range(self.strs.n):
            slot = self.strs.slot(j)
            PyList_Append(records, (<object>slot.key, slot.count if slot.obj == NULL else <object>slot.obj))
        self.strs.clear()
        for k, slot_number in self.index.items():
            i = slot_number
            old = self.objects[i]
            PyList_Append(records, (k, self.counts[i] if old is None else old))
        self.index = {}
        self.objects = []
        self.nother = self.n = 0
        self.next_slot = 0
        return records


cdef object _adder(dict adders, add_for, label):
    adder = adders.get(label)
    if adder is None:
        adder = adders[label] = add_for(label)
    return adder


def map_output(entries, fn, params, partitions, partition, combiner, add_for, bint fast_partition,
               bint fast_combiner, progress=None, Py_ssize_t interval=0,
               Py_ssize_t max_keys=MAX_COMBINER_KEYS, bint sort_output=False,
               Py_ssize_t max_bytes=SORT_BUFFER):
    """Map every entry and route what the map yields to its partition; returns the entry count.

    For each ``entry``, each ``(k, v)`` of ``fn(entry, params)`` gets ``label =
    partition(k, partitions, params)`` (``None`` when ``partitions`` is falsy) and goes to
    ``add_for(label)(k, v)`` -- or, with a ``combiner``, through the per-label buffer dict as
    ``combiner(k, v, buffer, False, params)``, whose returned records are added, and a final
    ``combiner(None, None, buffer, True, params)`` per label. ``progress(n)`` is called every
    ``interval`` entries. ``add_for`` is called once per label, when its first record is written.

    ``fast_partition``: ``partition`` is ``default_partition``, computed here (``hash_key(k) %
    partitions``). ``fast_combiner``: ``combiner`` is ``sum_combiner``, done here as
    ``buffer[k] = buffer.get(k, 0) + v``; a buffer holding ``max_keys`` keys is written out (its
    partial sums) and emptied, so memory stays bounded -- reduces sum them again. With both, one
    buffer serves every label and a key's label is computed once, when its sum is written.

    ``sort_output`` (the job has a reduce, which gets its input in no particular order): each
    label's records are written sorted by key where that is cheap and safe, so that a reduce's
    ``sorted(iter)`` finds long sorted runs (Timsort then merges them in near-linear time):
    without a combiner records whose key and value are frozen builtin values are held (at most
    ``max_bytes``, estimated) and written as runs sorted by key (see ``_SortedOutput``); the sums
    of ``sum_combiner`` are written sorted by key when the keys are frozen and compare. Records
    with equal keys keep their order. Keys that do not compare are written grouped, unsorted.
    """
    cdef Py_ssize_t nparts = partitions or 0
    cdef Py_ssize_t n = 0
    cdef dict adders = {}
    cdef dict buffers = {}
    cdef dict buf
    cdef _Sums one = None
    cdef PyObject *old
    cdef object k, v, label, adder
    cdef _SortedOutput held = None
    cdef bint hold = sort_output and combiner is None
    if hold:
        held = _SortedOutput(add_for, adders, max_bytes)
    if fast_combiner and (fast_partition or nparts == 0):
        one = _Sums()
    for entry in entries:
        n += 1
        if interval and n % interval == 0:
            progress(n)
        for kv in fn(entry, params):
            if PyTuple_CheckExact(kv) and PyTuple_GET_SIZE(kv) == 2:
                k = <object>PyTuple_GET_ITEM(kv, 0)
                v = <object>PyTuple_GET_ITEM(kv, 1)
            else:
                k, v = kv
            if one is not None:
                one.add(k, v)
                if one.n >= max_keys:
                    _write_sums(one, nparts, adders, add_for, sort_output)
                continue
            if nparts == 0:
                label = None
            elif fast_partition:
                label = 0 if nparts == 1 else <Py_ssize_t>(_hash(k, 0) % <uint64_t>nparts)
            else:
                label = partition(k, nparts, params)
            if combiner is None:
                if hold:
                    if held.add(label, k, v, kv) == 0:
                        continue
                    hold = False
                _adder(adders, add_for, label)(k, v)
                continue
            buf = buffers.get(label)
            if buf is None:
                buf = buffers[label] = {}
            if fast_combiner:
                old = PyDict_GetItemWithError(buf, k)
                buf[k] = (0 if old == NULL else <object>old) + v
                if len(buf) >= max_keys:
                    _emit(adders, add_for, label, _sorted_items(buf, sort_output))
                    buf.clear()
            else:
                out = combiner(k, v, buf, False, params)
                if out:
                    _emit(adders, add_for, label, out)
    if hold:
        held.write()
    if one is not None:
        _write_sums(one, nparts, adders, add_for, sort_output)
    for label, buf in buffers.items():
        if fast_combiner:
            out = _sorted_items(buf, sort_output)
        else:
            out = combiner(None, None, buf, True, params)
        if out:
            _emit(adders, add_for, label, out)
    return n


cdef _write_sums(_Sums sums, Py_ssize_t nparts, dict adders, add_for, bint sort_output):
    """Write the sums of the one buffer of every label (``sum_combiner`` with the default
    partition, or no partitions), each key to its label, and empty it."""
    cdef dict by_label = {}
    cdef list records
    cdef object label = None
    if sort_output and sums.write_sorted(nparts, adders, add_for):
        return
    if nparts == 0:
        by_label[None] = sums.take()
    elif nparts == 1:
        by_label[0] = sums.take()
    else:
        for kv in sums.take():
            label = <Py_ssize_t>(_hash(<object>PyTuple_GET_ITEM(kv, 0), 0) % <uint64_t>nparts)
            records = by_label.get(label)
            if records is None:
                by_label[label] = [kv]
            else:
                PyList_Append(records, kv)
    for label, records in by_label.items():
        if sort_output:
            _sort_frozen(records)
        _emit(adders, add_for, label, records)


cdef _sorted_items(dict buf, bint sort_output):
    """The items of ``buf``: sorted by key when ``sort_output`` (see ``_sort_frozen``)."""
    if not sort_output:
        return buf.items()
    cdef list records = list(buf.items())
    _sort_frozen(records)
    return records


cdef _sort_frozen(list records):
    """Sort the ``(k, v)`` ``records`` by key when every key is frozen (``_frozen_size``): only
    then is comparing them known to be harmless."""
    for kv in records:
        k = <object>PyTuple_GET_ITEM(kv, 0)
        if not PyUnicode_CheckExact(k) and _frozen_size(k, 0) < 0:
            return
    _sort_by_key(records)


cdef _emit(dict adders, add_for, label, records):
    adder = _adder(adders, add_for, label)
    for record in records:
        adder(*record)


# ------------------------------------------------------------------------------------------------
# counting what a stage reads

cdef extern from "Python.h":
    PyObject* PyIter_Next(object o) except? NULL


@cython.final
cdef class Progress:
    """The items of ``iterable``, counted: ``report(n)`` after every ``interval``-th item (none
    when ``interval`` is 0) and ``done(n)`` once, when the items run out (n: items so far) --
    the classic worker's ``status_iter`` without a Python frame per item."""
    cdef object it, report, done
    cdef Py_ssize_t n, interval
    cdef bint finished

    def __init__(self, iterable, report, done, Py_ssize_t interval=0):
        self.it = iter(iterable)
        self.report, self.done = report, done
        self.interval = interval

    def __iter__(self):
        return self

    def __next__(self):
        cdef PyObject *item
        if self.n and self.interval and self.n % self.interval == 0 and not self.finished:
            self.report(self.n)
        item = PyIter_Next(self.it)
        if item == NULL:
            if not self.finished:
                self.finished = True
                self.done(self.n)
            raise StopIteration
        self.n += 1
        result = <object>item  # a new reference: the cast took one more
        Py_DECREF(result)
        return result
