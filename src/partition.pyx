# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Partitioning map output: the stable key hash of ``default_partition`` and the compiled loop
that routes what a map yields to its partitions (``map_output``, used by the classic worker).

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

cdef extern from "Python.h":
    bint PyTuple_CheckExact(object o)
    Py_ssize_t PyTuple_GET_SIZE(object o)
    PyObject* PyTuple_GET_ITEM(object o, Py_ssize_t i)
    PyObject* PyDict_GetItemWithError(object d, object k) except? NULL
    ctypedef struct PyObject

MAX_COMBINER_KEYS = 1000000


def map_output(entries, fn, params, partitions, partition, combiner, add_for, bint fast_partition,
               bint fast_combiner, progress=None, Py_ssize_t interval=0,
               Py_ssize_t max_keys=MAX_COMBINER_KEYS):
    """Map every entry and route what the map yields to its partition; returns the entry count.

    For each ``entry``, each ``(k, v)`` of ``fn(entry, params)`` gets ``label =
    partition(k, partitions, params)`` (``None`` when ``partitions`` is falsy) and goes to
    ``add_for(label)(k, v)`` -- or, with a ``combiner``, through the per-label buffer dict as
    ``combiner(k, v, buffer, False, params)``, whose returned records are added, and a final
    ``combiner(None, None, buffer, True, params)`` per label. ``progress(n)`` is called every
    ``interval`` entries.

    ``fast_partition``: ``partition`` is ``default_partition``, computed here (``hash_key(k) %
    partitions``). ``fast_combiner``: ``combiner`` is ``sum_combiner``, done here as
    ``buffer[k] = buffer.get(k, 0) + v``; a buffer holding ``max_keys`` keys is written out (its
    partial sums) and emptied, so memory stays bounded -- reduces sum them again.
    """
    cdef Py_ssize_t nparts = partitions or 0
    cdef Py_ssize_t n = 0
    cdef dict adders = {}
    cdef dict buffers = {}
    cdef dict buf
    cdef PyObject *old
    cdef object k, v, label, adder
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
            if nparts == 0:
                label = None
            elif fast_partition:
                label = <Py_ssize_t>(_hash(k, 0) % <uint64_t>nparts)
            else:
                label = partition(k, nparts, params)
            if combiner is None:
                adder = adders.get(label)
                if adder is None:
                    adder = adders[label] = add_for(label)
                adder(k, v)
                continue
            buf = buffers.get(label)
            if buf is None:
                buf = buffers[label] = {}
            if fast_combiner:
                old = PyDict_GetItemWithError(buf, k)
                buf[k] = (0 if old == NULL else <object>old) + v
                if len(buf) >= max_keys:
                    _emit(adders, add_for, label, buf.items())
                    buf.clear()
            else:
                out = combiner(k, v, buf, False, params)
                if out:
                    _emit(adders, add_for, label, out)
    for label, buf in buffers.items():
        out = combiner(None, None, buf, True, params)
        if out:
            _emit(adders, add_for, label, out)
    return n


cdef _emit(dict adders, add_for, label, records):
    adder = adders.get(label)
    if adder is None:
        adder = adders[label] = add_for(label)
    for record in records:
        adder(*record)
