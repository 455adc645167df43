# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Disco record streams, compiled: hunk framing, record codecs, readers and writers.

A record stream is a sequence of *hunks*. Each hunk starts with a 14-byte little-endian header
``<BBIQ``: ``marker`` (128 + version), ``flags``, ``checksum`` (uint32), ``length`` (uint64, bytes
of payload as stored). A hunk of length 0 ends a stream; a reader goes on if more hunks follow
(streams concatenated byte-wise, as a shuffle does, read as one). A first byte below 128 means the rest
of the stream is the version 0 netstring text format (read by ``disco.worker.task_io``).

Version 1 (Disco 0.5's ``DiscoOutputStream_v1``; readable by the original)
    flags: 1 = payload is zlib-compressed, 0 = raw. checksum: ``crc32`` of the *uncompressed*
    payload. Payload: concatenated pickles, one per record (protocol 1 written; any protocol read).
    A compressed stream ends with a compressed empty hunk (8 bytes of zlib), so readers also stop
    at end of file. Records are decoded by a compiled pickle machine for the opcodes common types
    use; any other opcode makes that one record go through ``pickle.Unpickler`` (encoding utf-8,
    errors surrogateescape, so Python 2 ``str`` reads losslessly), so results always equal
    ``pickle``'s. The writer encodes str, bytes, int, float, bool, None, tuple, list and dict
    itself (protocol 1 opcodes, no memo) and hands any other record to ``pickle.dumps(r, 1)``.

Version 2 (ours; only this implementation reads it)
    marker 0x82. flags: 1 = payload is an lz4 block (``lz4.block``, 4-byte LE uncompressed size
    prefix), 0 = raw. checksum: ``crc32`` of the payload *as stored*. Terminator: an empty raw hunk.
    The writer stores a hunk raw when lz4 would not save an eighth of it (see ``LZ4_MIN_GAIN``).
    Payload: concatenated records, each one self-delimiting value in a compact typed encoding::

        0x00 None        0x01 False       0x02 True
        0x03 int   zigzag varint (fits in int64)
        0x04 int   varint n, then n bytes little-endian two's complement (any size)
        0x05 float 8 bytes little-endian IEEE 754
        0x06 str   varint n, then n bytes UTF-8 (surrogates kept: 'surrogatepass')
        0x07 bytes varint n, then n bytes
        0x08 tuple varint n, then n values      0x09 list  (same)
        0x0a dict  varint n, then n key, value pairs
        0x0b pickle varint n, then n bytes of ``pickle.dumps(obj, 5)``: any other object
        0x0e str   varint n, then n bytes UTF-8, and the str becomes the next entry of the
                   hunk's string table (entries are numbered from 0 in each hunk)
        0x0f str   varint i: entry i of the hunk's string table (i < entries so far)
        0x10-0x1f  tuple of (tag - 0x10) values
        0x40-0x7f  str of (tag - 0x40) UTF-8 bytes
        0x80-0xff  int (tag - 0x80)
        others     reserved (a reader fails on them)

    varint = unsigned LEB128. The string table lets a reader hand out one str object per
    distinct string of a hunk; streams without tags 0x0e/0x0f (all written before the table
    existed) read as before. Only exact builtin types use the typed forms (a subclass, e.g. a
    namedtuple, goes through pickle and keeps its type). Records nested deeper than
    ``MAX_DEPTH`` are pickled whole.

Errors: a hunk that is truncated, fails its checksum, does not decompress or holds undecodable
records raises ``disco.error.DataError`` naming the URL and the hunk's byte range. With
``ignore_corrupt`` a hunk failing its checksum or decompression is skipped whole, and a hunk whose
record N cannot be decoded is skipped from record N on (records decode lazily, one by one).
Truncation is always an error: data is missing, and another replica may have it.
Memory: a reader holds one hunk and its records, a writer one hunk.
"""
import builtins
import codecs
import io
import pickle
import zlib

import lz4.block
from isal import isal_zlib  # zlib-compatible streams, several times faster than zlib

from cpython.buffer cimport PyBuffer_FillInfo
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Next, PyDict_SetItem
from cpython.list cimport PyList_Append, PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_FromLongLong, PyLong_FromUnsignedLongLong
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy
cimport cython

from disco.error import DataError

cdef extern from "Python.h":
    object PyUnicode_DecodeUTF8(const char *s, Py_ssize_t size, const char *errors)
    const char* PyUnicode_AsUTF8AndSize(object o, Py_ssize_t *size) except NULL
    bint PyUnicode_CheckExact(object o)
    bytes PyUnicode_AsASCIIString(object o)
    bytes PyUnicode_AsLatin1String(object o)
    bint PyBytes_CheckExact(object o)
    bint PyLong_CheckExact(object o)
    bint PyFloat_CheckExact(object o)
    bint PyTuple_CheckExact(object o)
    bint PyList_CheckExact(object o)
    bint PyDict_CheckExact(object o)
    long long PyLong_AsLongLongAndOverflow(object o, int *overflow) except? -1
    unsigned long long PyLong_AsUnsignedLongLongMask(object o) except? <unsigned long long>-1
    double PyFloat_AS_DOUBLE(object o)
    object PyFloat_FromDouble(double v)
    object PyTuple_New(Py_ssize_t n)
    object PyList_New(Py_ssize_t n)
    object PyDict_New()
    void PyTuple_SET_ITEM_STEAL "PyTuple_SET_ITEM" (object t, Py_ssize_t i, PyObject *o)
    void PyList_SET_ITEM_STEAL "PyList_SET_ITEM" (object l, Py_ssize_t i, PyObject *o)
    int PyDict_SetItem_ptr "PyDict_SetItem" (object d, PyObject *k, PyObject *v) except -1
    int PyList_Append_ptr "PyList_Append" (object l, PyObject *o) except -1
    PyObject *PyDict_GetItemWithError(object d, object k) except? NULL
    Py_ssize_t PyDict_GET_SIZE(object d)
    Py_ssize_t PyLong_AsSsize_t(object o) except? -1
    object PyLong_FromSsize_t(Py_ssize_t v)

DEF HEADER_SIZE = 14


cdef extern from "Python.h":
    int PyObject_GC_IsTracked(object o)
    ctypedef struct PyTypeObject
    PyTypeObject *Py_TYPE(object o)
    bint PyType_IS_GC(PyTypeObject *t)
    void PyObject_GC_UnTrack(void *o)
    object PyUnicode_New(Py_ssize_t size, uint32_t maxchar)
    void *PyUnicode_DATA(object o)
    bint PyUnicode_IS_COMPACT_ASCII(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)


cdef list _SMALL_INTS = list(range(256))


cdef inline object small_int(unsigned int v):
    """The cached int ``v`` (< 256), without a call into CPython."""
    return <object>PyList_GET_ITEM(_SMALL_INTS, v)


cdef inline object utf8_view(object obj, const char **s, Py_ssize_t *n):
    """Point ``s[0]``, ``n[0]`` at the UTF-8 bytes of str ``obj`` (lone surrogates kept, as
    'surrogatepass' does) and return the object that owns them: keep it while they are used."""
    cdef object enc
    if PyUnicode_IS_COMPACT_ASCII(obj):  # its characters are its UTF-8 bytes
        s[0] = <const char *>PyUnicode_DATA(obj)
        n[0] = PyUnicode_GET_LENGTH(obj)
        return obj
    try:
        s[0] = PyUnicode_AsUTF8AndSize(obj, n)
        return obj
    except UnicodeEncodeError:
        enc = (<str>obj).encode('utf-8', 'surrogatepass')
        s[0] = PyBytes_AS_STRING(enc)
        n[0] = PyBytes_GET_SIZE(enc)
        return enc


cdef inline object utf8_str(const unsigned char *s, Py_ssize_t m, const char *errors):
    """``s[:m].decode('utf-8', errors)``; ASCII is copied straight into a new str (the common
    case for keys; CPython's decoder costs several calls more)."""
    cdef Py_ssize_t i = 0
    cdef uint64_t word
    cdef object u
    if m < 2 or m > 256:  # 0 and 1 chars: CPython hands out its cached singletons
        return PyUnicode_DecodeUTF8(<const char *>s, m, errors)
    while i + 8 <= m:
        memcpy(&word, s + i, 8)
        if word & 0x8080808080808080ULL:
            return PyUnicode_DecodeUTF8(<const char *>s, m, errors)
        i += 8
    while i < m:
        if s[i] >= 0x80:
            return PyUnicode_DecodeUTF8(<const char *>s, m, errors)
        i += 1
    u = PyUnicode_New(m, 127)
    memcpy(PyUnicode_DATA(u), s, m)
    return u


cdef inline void untrack_atomic_tuple(object t):
    """Take a tuple of atoms (str, int, ... or untracked tuples of them) off the garbage
    collector's lists right away, as CPython's own collector does on its first pass over it
    (the same test as _PyTuple_MaybeUntrack: any other GC type, e.g. an empty dict that may later
    hold containers, keeps the tuple tracked). Records held by the million, as in
    ``sorted(reduce_input)``, then cost the collector nothing."""
    cdef Py_ssize_t i
    cdef object item
    for i in range(PyTuple_GET_SIZE(t)):
        item = <object>PyTuple_GET_ITEM(t, i)
        # PyObject_IS_GC, inlined; types whose instances may or may not be GC (tp_is_gc) count as GC
        if PyType_IS_GC(Py_TYPE(item)) and (not PyTuple_CheckExact(item) or PyObject_GC_IsTracked(item)):
            return
    PyObject_GC_UnTrack(<void *>t)

HUNK_SIZE = 1024 * 1024
cdef enum:
    C_MAX_DEPTH = 200  # a C constant: the encoders compare every value's depth with it
MAX_DEPTH = C_MAX_DEPTH
# reads of a hunk payload go in pieces of at most this size, so a corrupt length cannot make us
# allocate more than the stream really holds
cdef Py_ssize_t READ_PIECE = 1 << 20
cdef Py_ssize_t DECODE_DEPTH = 1000

cdef inline uint32_t crc32_of(bytes data):
    return isal_zlib.crc32(data) & 0xffffffff


cdef bytes zlib_compress(bytes data, int level):
    """zlib format (what Disco's readers expect). ISA-L has levels 0-3; zlib's 1-9 map onto them."""
    return isal_zlib.compress(data, min(level, 3))


class _Fallback(Exception):
    """Raised inside the compiled codecs: this value needs the pickle path."""


# ------------------------------------------------------------------------------------------------
# growable output buffer

@cython.final
cdef class _Buffer:
    """Bytes being built. Its contents can be read in place through the buffer protocol
    (``memoryview(buf)``); while such a view exists the buffer does not grow (BufferError)."""
    cdef unsigned char *data
    cdef Py_ssize_t length, capacity
    cdef Py_ssize_t exports

    def __cinit__(self, Py_ssize_t capacity=65536):
        self.data = <unsigned char *>PyMem_Malloc(capacity)  # PyMem: visible to tracemalloc
        if self.data == NULL:
            raise MemoryError()
        self.capacity = capacity
        self.length = 0

    def __dealloc__(self):
        PyMem_Free(self.data)

    def __getbuffer__(self, Py_buffer *view, int flags):
        PyBuffer_FillInfo(view, self, self.data, self.length, 1, flags)
        self.exports += 1

    def __releasebuffer__(self, Py_buffer *view):
        self.exports -= 1

    cdef inline int reserve(self, Py_ssize_t extra) except -1:
        if self.length + extra <= self.capacity:
            return 0
        return self.grow(self.length + extra)

    cdef int grow(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t cap
        cdef unsigned char *p
        if self.exports:
            raise BufferError("a record buffer cannot grow while a view of it exists")
        cap = self.capacity * 2
        while cap < need:
            cap *= 2
        p = <unsigned char *>PyMem_Realloc(self.data, cap)
        if p == NULL:
            raise MemoryError()
        self.data = p
        self.capacity = cap
        return 0

    cdef inline int put_byte(self, unsigned char b) except -1:
        if self.length == self.capacity:
            self.reserve(1)
        self.data[self.length] = b
        self.length += 1
        return 0

    cdef inline int put(self, const void *src, Py_ssize_t n) except -1:
        self.reserve(n)
        memcpy(self.data + self.length, src, n)
        self.length += n
        return 0

    cdef inline int put_u32(self, uint32_t v) except -1:
        cdef unsigned char b[4]
        b[0] = v & 0xff
        b[1] = (v >> 8) & 0xff
        b[2] = (v >> 16) & 0xff
        b[3] = (v >> 24) & 0xff
        return self.put(b, 4)

    cdef inline int put_varint(self, uint64_t v) except -1:
        self.reserve(10)
        while v >= 0x80:
            self.data[self.length] = <unsigned char>((v & 0x7f) | 0x80)
            self.length += 1
            v >>= 7
        self.data[self.length] = <unsigned char>v
        self.length += 1
        return 0

    cdef bytes take(self):
        cdef bytes out = PyBytes_FromStringAndSize(<char *>self.data, self.length)
        self.length = 0
        return out


# ------------------------------------------------------------------------------------------------
# version 1 records: pickle protocol 1

cdef bytes P_BOOL_TRUE = b'I01\n'
cdef bytes P_BOOL_FALSE = b'I00\n'
cdef bytes P_EMPTY_BYTES = b'c__builtin__\nbytes\n)R'
cdef bytes P_BYTES_HEAD = b'c_codecs\nencode\n(X'
cdef bytes P_BYTES_TAIL = b'X\x06\x00\x00\x00latin1tR'


cdef int _p1_encode(_Buffer buf, object obj, int depth) except -1:
    """Append the protocol-1 pickle opcodes of ``obj`` (no memo) or raise _Fallback."""
    cdef int overflow = 0
    cdef long long v
    cdef double d
    cdef uint64_t bits
    cdef unsigned char b[9]
    cdef const char *s
    cdef const unsigned char *raw
    cdef Py_ssize_t n, i, high
    cdef PyObject *key
    cdef PyObject *val
    cdef Py_ssize_t pos = 0
    if depth > C_MAX_DEPTH:
        raise _Fallback()
    if obj is None:
        buf.put_byte(b'N')
    elif obj is True:
        buf.put(PyBytes_AS_STRING(P_BOOL_TRUE), 4)
    elif obj is False:
        buf.put(PyBytes_AS_STRING(P_BOOL_FALSE), 4)
    elif PyUnicode_CheckExact(obj):
        owner = utf8_view(obj, &s, &n)
        if n > 0xffffffff:
            raise _Fallback()
        buf.put_byte(b'X')
        buf.put_u32(<uint32_t>n)
        buf.put(s, n)
    elif PyLong_CheckExact(obj):
        v = PyLong_AsLongLongAndOverflow(obj, &overflow)
        if overflow == 0 and 0 <= v < 256:
            b[0] = b'K'
            b[1] = <unsigned char>v
            buf.put(b, 2)
        elif overflow == 0 and 0 <= v < 65536:
            b[0] = b'M'
            b[1] = v & 0xff
            b[2] = (v >> 8) & 0xff
            buf.put(b, 3)
        elif overflow == 0 and -2147483648 <= v <= 2147483647:
            buf.put_byte(b'J')
            buf.put_u32(<uint32_t><int32_t>v)
        else:
            try:
                text = PyUnicode_AsASCIIString(repr(obj))
            except ValueError:
                raise _Fallback()  # more digits than int's str limit: pickle decides
            buf.put_byte(b'L')
            buf.put(PyBytes_AS_STRING(text), PyBytes_GET_SIZE(text))
            buf.put(b'L\n', 2)
    elif PyFloat_CheckExact(obj):
        d = PyFloat_AS_DOUBLE(obj)
        memcpy(&bits, &d, 8)
        b[0] = b'G'
        for i in range(8):
            b[1 + i] = (bits >> (56 - 8 * i)) & 0xff
        buf.put(b, 9)
    elif PyTuple_CheckExact(obj):
        n = PyTuple_GET_SIZE(obj)
        if n == 0:
            buf.put_byte(b')')
        else:
            buf.put_byte(b'(')
            for i in range(n):
                _p1_encode(buf, <object>PyTuple_GET_ITEM(obj, i), depth + 1)
            buf.put_byte(b't')
    elif PyList_CheckExact(obj):
        buf.put_byte(b']')
        n = PyList_GET_SIZE(obj)
        if n:
            buf.put_byte(b'(')
            i = 0
            while i < PyList_GET_SIZE(obj):
                _p1_encode(buf, <object>PyList_GET_ITEM(obj, i), depth + 1)
                i += 1
            buf.put_byte(b'e')
    elif PyDict_CheckExact(obj):
        buf.put_byte(b'}')
        if len(<dict>obj):
            buf.put_byte(b'(')
            while PyDict_Next(obj, &pos, &key, &val):
                _p1_encode(buf, <object>key, depth + 1)
                _p1_encode(buf, <object>val, depth + 1)
            buf.put_byte(b'u')
    elif PyBytes_CheckExact(obj):
        # what pickle protocol 1 writes for Python 3 bytes: _codecs.encode(latin-1 text, 'latin1')
        n = PyBytes_GET_SIZE(obj)
        if n == 0:
            buf.put(PyBytes_AS_STRING(P_EMPTY_BYTES), PyBytes_GET_SIZE(P_EMPTY_BYTES))
            return 0
        raw = <const unsigned char *>PyBytes_AS_STRING(obj)
        high = 0
        for i in range(n):
            if raw[i] >= 0x80:
                high += 1
        if n + high > 0xffffffff:
            raise _Fallback()
        buf.put(PyBytes_AS_STRING(P_BYTES_HEAD), PyBytes_GET_SIZE(P_BYTES_HEAD))
        buf.put_u32(<uint32_t>(n + high))
        buf.reserve(n + high)
        for i in range(n):
            if raw[i] < 0x80:
                buf.data[buf.length] = raw[i]
                buf.length += 1
            else:
                buf.data[buf.length] = 0xc0 | (raw[i] >> 6)
                buf.data[buf.length + 1] = 0x80 | (raw[i] & 0x3f)
                buf.length += 2
        buf.put(PyBytes_AS_STRING(P_BYTES_TAIL), PyBytes_GET_SIZE(P_BYTES_TAIL))
    else:
        raise _Fallback()
    return 0


cdef int p1_encode_record(_Buffer buf, object record) except -1:
    cdef Py_ssize_t start = buf.length
    try:
        _p1_encode(buf, record, 0)
    except _Fallback:
        buf.length = start
        data = pickle.dumps(record, 1)
        buf.put(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
        return 0
    buf.put_byte(b'.')
    return 0


# the globals the compiled unpickler resolves itself, as pickle.Unpickler.find_class does (with
# fix_imports); any other global sends the record to pickle
cdef object _codecs_encode = codecs.encode


cdef inline bint _is(const unsigned char *buf, Py_ssize_t start, Py_ssize_t end, const char *name,
                     Py_ssize_t length):
    return end - start == length and memcmp(buf + start, name, length) == 0


@cython.final
cdef class _Unpickler:
    """A stack machine for the pickle opcodes of common types; raises _Fallback otherwise.

    The stack is one flat array; ``marks`` hold the stack heights where MARK opcodes were seen, so
    pickle's "current stack" is ``stack[marks[-1]:sp]``. Every pop is bounds-checked against it.
    """
    cdef PyObject **stack
    cdef Py_ssize_t sp, cap
    cdef Py_ssize_t *marks
    cdef Py_ssize_t nmarks, mcap
    cdef PyObject **memo
    cdef Py_ssize_t memo_cap, memo_count, memo_hi

    def __cinit__(self):
        self.cap = 64
        self.stack = <PyObject **>malloc(self.cap * sizeof(PyObject *))
        self.mcap = 16
        self.marks = <Py_ssize_t *>malloc(self.mcap * sizeof(Py_ssize_t))
        self.memo_cap = 64
        self.memo = <PyObject **>malloc(self.memo_cap * sizeof(PyObject *))
        if self.stack == NULL or self.marks == NULL or self.memo == NULL:
            raise MemoryError()
        for i in range(self.memo_cap):
            self.memo[i] = NULL
        self.sp = self.nmarks = self.memo_count = self.memo_hi = 0

    def __dealloc__(self):
        self.reset()
        free(self.stack)
        free(self.marks)
        free(self.memo)

    cdef void reset(self):
        cdef Py_ssize_t i
        while self.sp > 0:
            self.sp -= 1
            Py_DECREF(<object>self.stack[self.sp])
        self.nmarks = 0
        for i in range(self.memo_hi):
            Py_XDECREF(self.memo[i])
            self.memo[i] = NULL
        self.memo_hi = self.memo_count = 0

    cdef inline Py_ssize_t base(self):
        return self.marks[self.nmarks - 1] if self.nmarks else 0

    cdef inline int push(self, object o) except -1:
        cdef PyObject **p
        if self.sp == self.cap:
            if self.cap >= (1 << 24):
                raise _Fallback()
            p = <PyObject **>realloc(self.stack, 2 * self.cap * sizeof(PyObject *))
            if p == NULL:
                raise MemoryError()
            self.stack = p
            self.cap *= 2
        Py_INCREF(o)
        self.stack[self.sp] = <PyObject *>o
        self.sp += 1
        return 0

    cdef inline int push_mark(self) except -1:
        cdef Py_ssize_t *p
        if self.nmarks == self.mcap:
            if self.mcap >= (1 << 20):
                raise _Fallback()
            p = <Py_ssize_t *>realloc(self.marks, 2 * self.mcap * sizeof(Py_ssize_t))
            if p == NULL:
                raise MemoryError()
            self.marks = p
            self.mcap *= 2
        self.marks[self.nmarks] = self.sp
        self.nmarks += 1
        return 0

    cdef inline Py_ssize_t pop_mark(self) except -1:
        if self.nmarks == 0:
            raise _Fallback()
        self.nmarks -= 1
        return self.marks[self.nmarks]

    cdef inline int memo_put(self, Py_ssize_t idx) except -1:
        cdef PyObject **p
        cdef Py_ssize_t i, cap
        if self.sp <= self.base():
            raise _Fallback()
        if idx >= self.memo_cap:
            if idx >= (1 << 20):
                raise _Fallback()
            cap = self.memo_cap
            while cap <= idx:
                cap *= 2
            p = <PyObject **>realloc(self.memo, cap * sizeof(PyObject *))
            if p == NULL:
                raise MemoryError()
            for i in range(self.memo_cap, cap):
                p[i] = NULL
            self.memo = p
            self.memo_cap = cap
        if self.memo[idx] == NULL:
            self.memo_count += 1
        else:
            Py_DECREF(<object>self.memo[idx])
        Py_INCREF(<object>self.stack[self.sp - 1])
        self.memo[idx] = self.stack[self.sp - 1]
        if idx >= self.memo_hi:
            self.memo_hi = idx + 1
        return 0

    cdef inline int memo_get(self, Py_ssize_t idx) except -1:
        if idx >= self.memo_hi or self.memo[idx] == NULL:
            raise _Fallback()
        self.push(<object>self.memo[idx])
        return 0

    cdef object take_tuple(self, Py_ssize_t start):
        """Pop stack[start:] into a new tuple (the references move)."""
        cdef Py_ssize_t i, n = self.sp - start
        cdef object t = PyTuple_New(n)
        for i in range(n):
            PyTuple_SET_ITEM_STEAL(t, i, self.stack[start + i])
        self.sp = start
        untrack_atomic_tuple(t)
        return t

    cdef object take_list(self, Py_ssize_t start):
        cdef Py_ssize_t i, n = self.sp - start
        cdef object lst = PyList_New(n)
        for i in range(n):
            PyList_SET_ITEM_STEAL(lst, i, self.stack[start + i])
        self.sp = start
        return lst

    cdef int set_items(self, object d, Py_ssize_t start) except -1:
        """dict d gets stack[start:] as key, value pairs, which are popped."""
        cdef Py_ssize_t i
        if not PyDict_CheckExact(d) or (self.sp - start) % 2:
            raise _Fallback()
        i = start
        while i < self.sp:
            PyDict_SetItem_ptr(d, self.stack[i], self.stack[i + 1])
            i += 2
        self.drop_to(start)
        return 0

    cdef void drop_to(self, Py_ssize_t start):
        while self.sp > start:
            self.sp -= 1
            Py_DECREF(<object>self.stack[self.sp])

    cdef object load(self, const unsigned char *buf, Py_ssize_t n, Py_ssize_t *pos):
        """Decode one pickle starting at buf[pos[0]]; advance pos past its STOP."""
        cdef Py_ssize_t p = pos[0]
        cdef Py_ssize_t m, start, k
        cdef unsigned char op
        cdef uint64_t u
        cdef double d
        cdef object top, obj
        cdef int proto = 0
        try:
            while True:
                if p >= n:
                    raise _Fallback()
                op = buf[p]
                p += 1
                if op == b'(':                                        # MARK
                    self.push_mark()
                elif op == b'X' or op == 0x8c or op == 0x8d:          # BINUNICODE(8), SHORT_
                    if op == b'X':
                        if p + 4 > n:
                            raise _Fallback()
                        m = (<uint32_t>buf[p] | (<uint32_t>buf[p + 1] << 8) |
                             (<uint32_t>buf[p + 2] << 16) | (<uint32_t>buf[p + 3] << 24))
                        p += 4
                    elif op == 0x8c:
                        if p + 1 > n:
                            raise _Fallback()
                        m = buf[p]
                        p += 1
                    else:
                        if p + 8 > n:
                            raise _Fallback()
                        u = 0
                        for k in range(8):
                            u |= (<uint64_t>buf[p + k]) << (8 * k)
                        if u > <uint64_t>(n - p - 8):
                            raise _Fallback()
                        m = <Py_ssize_t>u
                        p += 8
                    if m > n - p:
                        raise _Fallback()
                    self.push(utf8_str(buf + p, m, 'surrogatepass'))
                    p += m
                elif op == b'q':                                      # BINPUT
                    if p + 1 > n:
                        raise _Fallback()
                    self.memo_put(buf[p])
                    p += 1
                elif op == b'r':                                      # LONG_BINPUT
                    if p + 4 > n:
                        raise _Fallback()
                    self.memo_put(<uint32_t>buf[p] | (<uint32_t>buf[p + 1] << 8) |
                                  (<uint32_t>buf[p + 2] << 16) | (<uint32_t>buf[p + 3] << 24))
                    p += 4
                elif op == 0x94:                                      # MEMOIZE
                    self.memo_put(self.memo_count)
                elif op == b'K':                                      # BININT1
                    if p + 1 > n:
                        raise _Fallback()
                    self.push(small_int(buf[p]))
                    p += 1
                elif op == b'M':                                      # BININT2
                    if p + 2 > n:
                        raise _Fallback()
                    self.push(PyLong_FromLongLong(buf[p] | (buf[p + 1] << 8)))
                    p += 2
                elif op == b'J':                                      # BININT
                    if p + 4 > n:
                        raise _Fallback()
                    self.push(PyLong_FromLongLong(<int32_t>(
                        <uint32_t>buf[p] | (<uint32_t>buf[p + 1] << 8) |
                        (<uint32_t>buf[p + 2] << 16) | (<uint32_t>buf[p + 3] << 24))))
                    p += 4
                elif op == b't':                                      # TUPLE
                    start = self.pop_mark()
                    self.push(self.take_tuple(start))
                elif op == b'.':                                      # STOP
                    if self.sp <= self.base():
                        raise _Fallback()
                    top = <object>self.stack[self.sp - 1]
                    pos[0] = p
                    return top
                elif op == 0x85 or op == 0x86 or op == 0x87:          # TUPLE1/2/3
                    m = op - 0x84
                    if self.sp - self.base() < m:
                        raise _Fallback()
                    self.push(self.take_tuple(self.sp - m))
                elif op == b')':                                      # EMPTY_TUPLE
                    self.push(())
                elif op == b']':                                      # EMPTY_LIST
                    self.push([])
                elif op == b'}':                                      # EMPTY_DICT
                    self.push({})
                elif op == b'N':
                    self.push(None)
                elif op == 0x88:
                    self.push(True)
                elif op == 0x89:
                    self.push(False)
                elif op == b'G':                                      # BINFLOAT (big-endian)
                    if p + 8 > n:
                        raise _Fallback()
                    u = 0
                    for k in range(8):
                        u = (u << 8) | buf[p + k]
                    memcpy(&d, &u, 8)
                    self.push(PyFloat_FromDouble(d))
                    p += 8
                elif op == b'a':                                      # APPEND
                    if self.sp - self.base() < 2:
                        raise _Fallback()
                    obj = <object>self.stack[self.sp - 2]
                    if not PyList_CheckExact(obj):
                        raise _Fallback()
                    PyList_Append_ptr(obj, self.stack[self.sp - 1])
                    self.drop_to(self.sp - 1)
                elif op == b'e':                                      # APPENDS
                    start = self.pop_mark()
                    if start - 1 < self.base():
                        raise _Fallback()
                    obj = <object>self.stack[start - 1]
                    if not PyList_CheckExact(obj):
                        raise _Fallback()
                    for k in range(start, self.sp):
                        PyList_Append_ptr(obj, self.stack[k])
                    self.drop_to(start)
                elif op == b's':                                      # SETITEM
                    if self.sp - self.base() < 3:
                        raise _Fallback()
                    self.set_items(<object>self.stack[self.sp - 3], self.sp - 2)
                elif op == b'u':                                      # SETITEMS
                    start = self.pop_mark()
                    if start - 1 < self.base():
                        raise _Fallback()
                    self.set_items(<object>self.stack[start - 1], start)
                elif op == b'l':                                      # LIST
                    start = self.pop_mark()
                    self.push(self.take_list(start))
                elif op == b'd':                                      # DICT
                    start = self.pop_mark()
                    obj = {}
                    self.set_items(obj, start)
                    self.push(obj)
                elif op == b'h':                                      # BINGET
                    if p + 1 > n:
                        raise _Fallback()
                    self.memo_get(buf[p])
                    p += 1
                elif op == b'j':                                      # LONG_BINGET
                    if p + 4 > n:
                        raise _Fallback()
                    self.memo_get(<uint32_t>buf[p] | (<uint32_t>buf[p + 1] << 8) |
                                  (<uint32_t>buf[p + 2] << 16) | (<uint32_t>buf[p + 3] << 24))
                    p += 4
                elif op == b'U' or op == b'T':                        # (SHORT_)BINSTRING: py2 str
                    if op == b'U':
                        if p + 1 > n:
                            raise _Fallback()
                        m = buf[p]
                        p += 1
                    else:
                        if p + 4 > n:
                            raise _Fallback()
                        m = <int32_t>(<uint32_t>buf[p] | (<uint32_t>buf[p + 1] << 8) |
                                      (<uint32_t>buf[p + 2] << 16) | (<uint32_t>buf[p + 3] << 24))
                        p += 4
                    if m < 0 or m > n - p:
                        raise _Fallback()
                    self.push(utf8_str(buf + p, m, 'surrogateescape'))
                    p += m
                elif op == b'B' or op == b'C':                        # (SHORT_)BINBYTES
                    if op == b'C':
                        if p + 1 > n:
                            raise _Fallback()
                        m = buf[p]
                        p += 1
                    else:
                        if p + 4 > n:
                            raise _Fallback()
                        m = (<uint32_t>buf[p] | (<uint32_t>buf[p + 1] << 8) |
                             (<uint32_t>buf[p + 2] << 16) | (<uint32_t>buf[p + 3] << 24))
                        p += 4
                    if m > n - p:
                        raise _Fallback()
                    self.push(PyBytes_FromStringAndSize(<const char *>buf + p, m))
                    p += m
                elif op == b'L' or op == b'I':                        # LONG / INT (text)
                    start = p
                    while p < n and buf[p] != b'\n':
                        p += 1
                    if p >= n:
                        raise _Fallback()
                    m = p
                    p += 1
                    if op == b'L' and m > start and buf[m - 1] == b'L':
                        m -= 1
                    if op == b'I' and m - start == 2 and buf[start] == b'0' and buf[start + 1] <= b'1':
                        self.push(buf[start + 1] == b'1')
                    elif _plain_decimal(buf, start, m):
                        self.push(_decimal(buf, start, m))
                    else:
                        raise _Fallback()  # leave odd spellings to pickle's own parser
                elif op == 0x8a:                                      # LONG1
                    if p + 1 > n or buf[p] > n - p - 1:
                        raise _Fallback()
                    m = buf[p]
                    self.push(int.from_bytes(
                        PyBytes_FromStringAndSize(<const char *>buf + p + 1, m), 'little', signed=True))
                    p += 1 + m
                elif op == 0x80:                                      # PROTO
                    if p + 1 > n or buf[p] > 5:
                        raise _Fallback()
                    proto = buf[p]
                    p += 1
                elif op == b'c':                                      # GLOBAL
                    start = p
                    k = 0
                    m = 0
                    while p < n and k < 2:
                        if buf[p] == b'\n':
                            k += 1
                            if k == 1:
                                m = p
                        p += 1
                    if k < 2:
                        raise _Fallback()
                    if _is(buf, start, p, b'_codecs\nencode\n', 15):
                        self.push(_codecs_encode)
                    elif proto < 3 and (_is(buf, start, p, b'__builtin__\nbytes\n', 18)
                                        or _is(buf, start, p, b'__builtin__\nset\n', 16)
                                        or _is(buf, start, p, b'__builtin__\nfrozenset\n', 22)):
                        # pickle maps Python 2's __builtin__ to builtins below protocol 3
                        self.push(getattr(builtins, (buf + m + 1)[:p - m - 2].decode('ascii')))
                    elif (_is(buf, start, p, b'builtins\nbytes\n', 15)
                          or _is(buf, start, p, b'builtins\nset\n', 13)
                          or _is(buf, start, p, b'builtins\nfrozenset\n', 19)):
                        self.push(getattr(builtins, (buf + m + 1)[:p - m - 2].decode('ascii')))
                    else:
                        raise _Fallback()
                elif op == b'R':                                      # REDUCE
                    if self.sp - self.base() < 2:
                        raise _Fallback()
                    obj = <object>self.stack[self.sp - 1]
                    if not PyTuple_CheckExact(obj):
                        raise _Fallback()
                    top = <object>self.stack[self.sp - 2]
                    if (top is _codecs_encode and PyTuple_GET_SIZE(obj) == 2
                            and PyUnicode_CheckExact(<object>PyTuple_GET_ITEM(obj, 0))
                            and <object>PyTuple_GET_ITEM(obj, 1) == 'latin1'):
                        top = PyUnicode_AsLatin1String(<object>PyTuple_GET_ITEM(obj, 0))
                    else:
                        top = top(*obj)
                    self.drop_to(self.sp - 2)
                    self.push(top)
                else:
                    raise _Fallback()
        finally:
            self.reset()


cdef inline bint _plain_decimal(const unsigned char *buf, Py_ssize_t start, Py_ssize_t end):
    """buf[start:end] is -?(0|[1-9][0-9]*): spelled the same way for every int parser."""
    if start < end and buf[start] == b'-':
        start += 1
    if start >= end or (buf[start] == b'0' and end - start > 1):
        return False
    while start < end:
        if not (b'0' <= buf[start] <= b'9'):
            return False
        start += 1
    return True


cdef object _decimal(const unsigned char *buf, Py_ssize_t start, Py_ssize_t end):
    """The int spelled -?[0-9]+ in buf[start:end]."""
    cdef bint negative = buf[start] == b'-'
    cdef unsigned long long hi = 0, lo = 0
    cdef Py_ssize_t i, digits = end - start - negative, split
    if digits > 36:
        return int(PyBytes_FromStringAndSize(<const char *>buf + start, end - start))
    split = end - 18 if digits > 18 else start + negative
    for i in range(start + negative, split):
        hi = hi * 10 + (buf[i] - 48)
    for i in range(split, end):
        lo = lo * 10 + (buf[i] - 48)
    if hi == 0:
        value = PyLong_FromUnsignedLongLong(lo)
    else:
        value = PyLong_FromUnsignedLongLong(hi) * _TEN18 + PyLong_FromUnsignedLongLong(lo)
    return -value if negative else value


cdef object _TEN18 = 10 ** 18


DEF FLAT_MAX = 16


cdef inline uint32_t _u32(const unsigned char *b):
    return <uint32_t>b[0] | (<uint32_t>b[1] << 8) | (<uint32_t>b[2] << 16) | (<uint32_t>b[3] << 24)


cdef object _p1_flat_tuple(const unsigned char *buf, Py_ssize_t n, Py_ssize_t *pos):
    """The commonest v1 record, decoded without the stack machine: a tuple of up to FLAT_MAX
    ints, strs, None and booleans (``(`` ... ``t`` or TUPLE1-3), with memo puts that are never
    read (a BINGET, like any other opcode, makes this return None). Returns the tuple and
    advances pos[0], or None with pos[0] untouched: then the machine decodes the record."""
    cdef PyObject *items[FLAT_MAX]
    cdef Py_ssize_t p = pos[0], m, count = 0, i
    cdef unsigned char op
    cdef bint marked = False, done = False
    cdef object v, t
    if p + 1 < n and buf[p] == 0x80:                   # PROTO
        if buf[p + 1] > 5:
            return None
        p += 2
    if p < n and buf[p] == b'(':
        marked = True
        p += 1
    try:
        while True:
            if p >= n:
                break
            op = buf[p]
            p += 1
            if op == b'q' or op == b'r' or op == 0x94:       # BINPUT, LONG_BINPUT, MEMOIZE
                if count == 0 and not done:
                    break                                  # nothing to memoize: pickle's error
                p += 1 if op == b'q' else 4 if op == b'r' else 0
                continue
            if done:
                if op == b'.':                             # STOP
                    t = PyTuple_New(count)
                    for i in range(count):
                        PyTuple_SET_ITEM_STEAL(t, i, items[i])
                    count = 0
                    PyObject_GC_UnTrack(<void *>t)         # only atoms inside
                    pos[0] = p
                    return t
                break
            if op == b'X' or op == 0x8c or op == b'U':      # BINUNICODE, SHORT_BINUNICODE, py2 str
                if op == b'X':
                    if p + 4 > n:
                        break
                    m = _u32(buf + p)
                    p += 4
                else:
                    if p + 1 > n:
                        break
                    m = buf[p]
                    p += 1
                if m > n - p:
                    break
                v = utf8_str(buf + p, m, 'surrogateescape' if op == b'U' else 'surrogatepass')
                p += m
            elif op == b'K':
                if p + 1 > n:
                    break
                v = small_int(buf[p])
                p += 1
            elif op == b'M':
                if p + 2 > n:
                    break
                v = PyLong_FromLongLong(buf[p] | (buf[p + 1] << 8))
                p += 2
            elif op == b'J':
                if p + 4 > n:
                    break
                v = PyLong_FromLongLong(<int32_t>_u32(buf + p))
                p += 4
            elif op == b'N':
                v = None
            elif op == 0x88:
                v = True
            elif op == 0x89:
                v = False
            elif op == b't' and marked:
                done = True
                continue
            elif (op == 0x85 or op == 0x86 or op == 0x87) and not marked and count == op - 0x84:
                done = True
                continue
            else:
                break
            if count == FLAT_MAX:
                break
            Py_INCREF(v)
            items[count] = <PyObject *>v
            count += 1
    except Exception:
        pass  # e.g. undecodable text: the machine and pickle decide what it is
    for i in range(count):
        Py_DECREF(<object>items[i])
    return None


cdef object p1_decode_one(_Unpickler machine, bytes payload, Py_ssize_t *pos):
    """The record of a v1 payload at pos[0] (one pickle); advances pos past it.

    The compiled machine decodes it, or, for anything it does not handle, ``pickle.Unpickler``
    (encoding utf-8, errors surrogateescape: Python 2 str reads losslessly); its errors propagate.
    """
    cdef Py_ssize_t start = pos[0]
    record = _p1_flat_tuple(<const unsigned char *>PyBytes_AS_STRING(payload),
                            PyBytes_GET_SIZE(payload), pos)
    if record is not None:
        return record
    try:
        return machine.load(<const unsigned char *>PyBytes_AS_STRING(payload),
                            PyBytes_GET_SIZE(payload), pos)
    except Exception:  # _Fallback, or an error pickle may answer differently: let it decide
        f = io.BytesIO(payload)
        f.seek(start)
        record = pickle.Unpickler(f, encoding='utf-8', errors='surrogateescape').load()
        pos[0] = f.tell()
        return record


# ------------------------------------------------------------------------------------------------
# version 2 records: compact typed encoding

# the per-hunk string table (tags 0x0e, 0x0f). A writer gives each hunk a table of at most
# STR_TABLE_MAX strings (of at least STR_TABLE_MIN_LEN UTF-8 bytes) of record keys: the strs of a
# record's first item when it is a tuple, else of the whole record (values seldom repeat). When
# fewer than half of STR_TABLE_PROBE such strings in a row (counted from the start of the hunk)
# repeat one already in it, the table is not worth its lookups (keys drawn evenly from a large
# vocabulary, unique keys) and the rest of the hunk is written without it.
DEF STR_TABLE_MAX = 65536
DEF STR_TABLE_PROBE = 4096
DEF STR_TABLE_MIN_LEN = 2


@cython.final
cdef class _StrIndex:
    """The writer's side of a hunk's string table: str -> entry number (``ids``, in entry order)."""
    cdef dict ids
    cdef Py_ssize_t seen, refs
    cdef bint on

    def __cinit__(self):
        self.ids = {}
        self.clear()

    cdef void clear(self):
        self.ids.clear()
        self.seen = self.refs = 0
        self.on = True

    cdef void rollback(self, Py_ssize_t entries):
        """Forget the entries numbered ``entries`` and up (their definitions were not kept)."""
        while len(self.ids) > entries:
            self.ids.popitem()

    cdef inline int encode(self, _Buffer buf, object s, const char *data, Py_ssize_t n) except -1:
        """Write str ``s`` (UTF-8 ``data[:n]``) as a table reference or a new entry -> 1, or
        leave it to the plain encodings -> 0."""
        cdef PyObject *entry
        cdef Py_ssize_t count
        if not self.on:
            return 0
        self.seen += 1
        if self.seen == STR_TABLE_PROBE:  # the end of a window: did half of its strings repeat?
            self.on = 2 * self.refs >= STR_TABLE_PROBE
            self.seen = self.refs = 0
        entry = PyDict_GetItemWithError(self.ids, s)
        if entry != NULL:
            self.refs += 1
            buf.put_byte(0x0f)
            buf.put_varint(PyLong_AsSsize_t(<object>entry))
            return 1
        count = PyDict_GET_SIZE(self.ids)
        if count >= STR_TABLE_MAX:
            return 0
        PyDict_SetItem(self.ids, s, PyLong_FromSsize_t(count))
        buf.put_byte(0x0e)
        buf.put_varint(n)
        buf.put(data, n)
        return 1


cdef extern from *:
    """
    /* A copy of n <= 16 bytes (a record's short strs) without a call into libc: two overlapping
       loads and stores that read and write exactly n bytes. */
    static inline void disco_copy_small(unsigned char *d, const unsigned char *s, Py_ssize_t n) {
        if (n >= 8) {
            uint64_t a, b;
            memcpy(&a, s, 8); memcpy(&b, s + n - 8, 8);
            memcpy(d, &a, 8); memcpy(d + n - 8, &b, 8);
        } else if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, s, 4); memcpy(&b, s + n - 4, 4);
            memcpy(d, &a, 4); memcpy(d + n - 4, &b, 4);
        } else if (n > 0) {
            d[0] = s[0]; d[n >> 1] = s[n >> 1]; d[n - 1] = s[n - 1];
        }
    }
    /* The value of an exact int held in one internal digit (|v| < 2**30) -> 1; else 0. */
    static inline int disco_small_long(PyObject *o, long long *v) {
    #if PY_VERSION_HEX >= 0x030C0000
        if (!PyUnstable_Long_IsCompact((PyLongObject *)o)) return 0;
        *v = PyUnstable_Long_CompactValue((PyLongObject *)o);
        return 1;
    #else
        Py_ssize_t size = Py_SIZE(o);
        if (size == 0) { *v = 0; return 1; }
        if (size == 1) { *v = ((PyLongObject *)o)->ob_digit[0]; return 1; }
        if (size == -1) { *v = -(long long)((PyLongObject *)o)->ob_digit[0]; return 1; }
        return 0;
    #endif
    }
    """
    void disco_copy_small(unsigned char *d, const unsigned char *s, Py_ssize_t n)
    bint disco_small_long(PyObject *o, long long *v)


cdef extern from "Python.h":
    # forms on borrowed pointers for the v2 encoder: it writes no reference counts on the values
    # of a record (often cold in cache: only the first read of each should miss)
    bint str_exact "PyUnicode_CheckExact" (PyObject *o)
    bint int_exact "PyLong_CheckExact" (PyObject *o)
    bint tuple_exact "PyTuple_CheckExact" (PyObject *o)
    bint compact_ascii "PyUnicode_IS_COMPACT_ASCII" (PyObject *o)
    void *str_data "PyUnicode_DATA" (PyObject *o)
    Py_ssize_t str_length "PyUnicode_GET_LENGTH" (PyObject *o)
    Py_ssize_t tuple_size "PyTuple_GET_SIZE" (PyObject *o)
    PyObject *tuple_item "PyTuple_GET_ITEM" (PyObject *o, Py_ssize_t i)


cdef inline int _v2_atom(_Buffer buf, PyObject *obj, bint table) except -1:
    """Write the common atoms (borrowed ``obj``) with one bounds check each: a compact-ASCII str
    of < 64 characters (unless it may go in the string table: ``table``), an int of one internal
    digit -> 1; anything else -> 0, nothing written."""
    cdef long long v
    cdef uint64_t z
    cdef Py_ssize_t n
    cdef unsigned char *out
    if str_exact(obj):
        if table or not compact_ascii(obj):
            return 0
        n = str_length(obj)  # compact ASCII: its characters are its UTF-8 bytes
        if n >= 64:
            return 0
        buf.reserve(1 + n)
        out = buf.data + buf.length
        out[0] = 0x40 + n
        if n <= 16:
            disco_copy_small(out + 1, <const unsigned char *>str_data(obj), n)
        else:
            memcpy(out + 1, str_data(obj), n)
        buf.length += 1 + n
        return 1
    if int_exact(obj) and disco_small_long(obj, &v):
        buf.reserve(1 + 10)
        if 0 <= v < 128:
            buf.data[buf.length] = 0x80 + v
            buf.length += 1
        else:
            buf.data[buf.length] = 0x03
            buf.length += 1
            z = (<uint64_t>v << 1) ^ <uint64_t>(v >> 63)
            buf.put_varint(z)
        return 1
    return 0


cdef int _v2_encode(_Buffer buf, PyObject *obj, int depth, _StrIndex strings) except -1:
    """Append the typed encoding of ``obj`` (borrowed) -> 0, or 1 when it needs pickle (the caller
    rewinds; a status, not an exception: no exception state to save per record). Typed encoding
    runs no Python code, so the values of a record cannot change under it. Atoms, strs and tuples
    are written here, the other types by ``_v2_encode_other``."""
    if depth > C_MAX_DEPTH:
        return 1
    if _v2_atom(buf, obj, strings is not None):
        return 0
    if str_exact(obj):
        return _v2_encode_str(buf, <object>obj, strings)
    if tuple_exact(obj):
        return _v2_tuple(buf, obj, depth, strings)
    return _v2_encode_other(buf, <object>obj, depth, strings)


cdef inline int _v2_tuple(_Buffer buf, PyObject *obj, int depth, _StrIndex strings) except -1:
    """``_v2_encode`` of a tuple (exact type, ``depth`` <= MAX_DEPTH)."""
    cdef Py_ssize_t n = tuple_size(obj), i
    cdef PyObject *item
    cdef bint table
    buf.reserve(1 + 10)
    if n < 16:
        buf.data[buf.length] = 0x10 + n
        buf.length += 1
    else:
        buf.data[buf.length] = 0x08
        buf.length += 1
        buf.put_varint(n)
    if n and depth == C_MAX_DEPTH:
        return 1  # its values are too deep
    for i in range(n):
        item = tuple_item(obj, i)
        # the table is for keys: of a (key, value, ...) record only the key's strs go in it
        table = strings is not None and (i == 0 or depth > 0)
        if not _v2_atom(buf, item, table) and \
                _v2_encode(buf, item, depth + 1, strings if table else None):
            return 1
    return 0


cdef int _v2_encode_str(_Buffer buf, str obj, _StrIndex strings) except -1:
    cdef const char *s
    cdef Py_ssize_t n
    owner = utf8_view(obj, &s, &n)
    if strings is not None and n >= STR_TABLE_MIN_LEN and strings.encode(buf, obj, s, n):
        return 0
    if n < 64:
        buf.put_byte(0x40 + n)
    else:
        buf.put_byte(0x06)
        buf.put_varint(n)
    buf.put(s, n)
    return 0


cdef int _v2_encode_other(_Buffer buf, object obj, int depth, _StrIndex strings) except -1:
    """``_v2_encode`` of the values its fast paths leave."""
    cdef int overflow = 0
    cdef long long v
    cdef uint64_t z
    cdef double d
    cdef Py_ssize_t n, i
    cdef PyObject *key
    cdef PyObject *val
    cdef Py_ssize_t pos = 0
    if PyLong_CheckExact(obj):  # more than one internal digit
        v = PyLong_AsLongLongAndOverflow(obj, &overflow)
        if overflow == 0:
            buf.put_byte(0x03)
            z = (<uint64_t>v << 1) ^ <uint64_t>(v >> 63)
            buf.put_varint(z)
        else:
            high = obj >> 64
            v = PyLong_AsLongLongAndOverflow(high, &overflow)
            buf.put_byte(0x04)
            if overflow == 0:  # fits in 128 bits: two words, without a Python call
                z = PyLong_AsUnsignedLongLongMask(obj)
                buf.put_varint(16)
                buf.put(&z, 8)  # little-endian hosts only; checked at import
                buf.put(&v, 8)
            else:
                n = ((<object>obj).bit_length() + 8) // 8
                data = (<object>obj).to_bytes(n, 'little', signed=True)
                buf.put_varint(n)
                buf.put(PyBytes_AS_STRING(data), n)
    elif obj is None:
        buf.put_byte(0x00)
    elif obj is False:
        buf.put_byte(0x01)
    elif obj is True:
        buf.put_byte(0x02)
    elif PyFloat_CheckExact(obj):
        d = PyFloat_AS_DOUBLE(obj)
        buf.put_byte(0x05)
        buf.put(&d, 8)  # little-endian hosts only; checked at import
    elif PyBytes_CheckExact(obj):
        n = PyBytes_GET_SIZE(obj)
        buf.put_byte(0x07)
        buf.put_varint(n)
        buf.put(PyBytes_AS_STRING(obj), n)
    elif PyList_CheckExact(obj):
        n = PyList_GET_SIZE(obj)
        buf.put_byte(0x09)
        buf.put_varint(n)
        for i in range(n):
            if i >= PyList_GET_SIZE(obj):
                return 1
            # a list's or dict's values are held while encoded (tuples are immutable): should a
            # garbage collection run a finalizer that empties the container, they stay valid
            item = <object>PyList_GET_ITEM(obj, i)
            if _v2_encode(buf, <PyObject *>item, depth + 1, strings):
                return 1
    elif PyDict_CheckExact(obj):
        buf.put_byte(0x0a)
        buf.put_varint(len(<dict>obj))
        while PyDict_Next(obj, &pos, &key, &val):
            item, value = <object>key, <object>val
            if _v2_encode(buf, <PyObject *>item, depth + 1, strings):
                return 1
            if _v2_encode(buf, <PyObject *>value, depth + 1, strings):
                return 1
    else:
        return 1
    return 0


cdef inline int v2_encode_record(_Buffer buf, PyObject *record, PyObject *value, _StrIndex strings) except -1:
    """Append one record: ``record``, or, with ``value`` set, the pair ``(record, value)`` without
    building it (the bytes ``_v2_encode`` writes for that tuple); pickled whole when a value of it
    has no typed form."""
    cdef Py_ssize_t start = buf.length
    cdef Py_ssize_t entries = PyDict_GET_SIZE(strings.ids) if strings is not None else 0
    cdef int status
    if value == NULL:
        status = (_v2_tuple(buf, record, 0, strings) if tuple_exact(record)
                  else _v2_encode(buf, record, 0, strings))
    else:
        buf.put_byte(0x12)
        status = _v2_encode(buf, record, 1, strings) or _v2_encode(buf, value, 1, None)
    if status:
        buf.length = start
        if strings is not None:
            strings.rollback(entries)
        data = pickle.dumps(<object>record if value == NULL else (<object>record, <object>value), 5)
        buf.put_byte(0x0b)
        buf.put_varint(PyBytes_GET_SIZE(data))
        buf.put(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    return 0


class _BadRecord(Exception):
    pass


cdef inline uint64_t _varint(const unsigned char *buf, Py_ssize_t n, Py_ssize_t *pos) except? 0xffffffffffffffff:
    cdef uint64_t v = 0
    cdef int shift = 0
    cdef Py_ssize_t p = pos[0]
    cdef unsigned char b
    while True:
        if p >= n:
            raise _BadRecord("truncated varint")
        b = buf[p]
        p += 1
        if shift == 63 and b > 1:
            raise _BadRecord("varint overflow")
        v |= (<uint64_t>(b & 0x7f)) << shift
        if b < 0x80:
            break
        shift += 7
        if shift > 63:
            raise _BadRecord("varint overflow")
    pos[0] = p
    return v


cdef inline Py_ssize_t _length(const unsigned char *buf, Py_ssize_t n, Py_ssize_t *pos) except -1:
    """A varint length that must fit in what is left of the buffer."""
    cdef uint64_t v = _varint(buf, n, pos)
    if v > <uint64_t>(n - pos[0]):
        raise _BadRecord("length %d past the end" % v)
    return <Py_ssize_t>v


@cython.final
cdef class _StrTable:
    """The reader's side of a hunk's string table: the entries (new references), in order."""
    cdef PyObject **items
    cdef Py_ssize_t n, cap

    def __cinit__(self):
        self.items = NULL
        self.n = self.cap = 0

    def __dealloc__(self):
        self.clear()
        PyMem_Free(self.items)

    cdef void clear(self):
        cdef Py_ssize_t i
        for i in range(self.n):
            Py_DECREF(<object>self.items[i])
        self.n = 0

    cdef int add(self, object s) except -1:
        cdef PyObject **p
        if self.n == self.cap:
            p = <PyObject **>PyMem_Realloc(self.items, max(1024, 2 * self.cap) * sizeof(PyObject *))
            if p == NULL:
                raise MemoryError()
            self.items = p
            self.cap = max(1024, 2 * self.cap)
        Py_INCREF(s)
        self.items[self.n] = <PyObject *>s
        self.n += 1
        return 0


cdef object _v2_decode(const unsigned char *buf, Py_ssize_t n, Py_ssize_t *pos, int depth,
                       _StrTable strings):
    cdef Py_ssize_t p = pos[0]
    cdef Py_ssize_t m, i
    cdef unsigned char tag
    cdef uint64_t z
    cdef int64_t hi
    cdef double d
    cdef bint atoms
    cdef object obj, k, v
    if depth > DECODE_DEPTH:
        raise _BadRecord("nested too deep")
    if p >= n:
        raise _BadRecord("truncated record")
    tag = buf[p]
    p += 1
    if tag >= 0x80:
        pos[0] = p
        return small_int(tag - 0x80)
    if tag >= 0x40:
        m = tag - 0x40
        if m > n - p:
            raise _BadRecord("string past the end")
        pos[0] = p + m
        return utf8_str(buf + p, m, 'surrogatepass')
    if 0x10 <= tag < 0x20 or tag == 0x08:
        if tag == 0x08:
            pos[0] = p
            m = _length(buf, n, pos)   # each item takes at least one byte
        else:
            m = tag - 0x10
            pos[0] = p
        obj = PyTuple_New(m)
        atoms = True
        for i in range(m):
            p = pos[0]
            tag = buf[p] if p < n else 0
            if tag >= 0x80:    # small ints and short strs inline: the usual items of records
                pos[0] = p + 1
                v = small_int(tag - 0x80)
            elif tag >= 0x40 and tag - 0x40 < n - p:
                pos[0] = p + 1 + (tag - 0x40)
                v = utf8_str(buf + p + 1, tag - 0x40, 'surrogatepass')
            else:
                v = _v2_decode(buf, n, pos, depth + 1, strings)
                atoms = False
            Py_INCREF(v)
            PyTuple_SET_ITEM_STEAL(obj, i, <PyObject *>v)
        if atoms:
            PyObject_GC_UnTrack(<void *>obj)  # only ints and strs: nothing to collect
        else:
            untrack_atomic_tuple(obj)
        return obj
    if tag == 0x0f:
        pos[0] = p
        z = _varint(buf, n, pos)
        if z >= <uint64_t>strings.n:
            raise _BadRecord("string table reference %d, the table has %d entries" % (z, strings.n))
        return <object>strings.items[z]
    if tag == 0x0e:
        pos[0] = p
        m = _length(buf, n, pos)
        p = pos[0]
        pos[0] = p + m
        obj = utf8_str(buf + p, m, 'surrogatepass')
        strings.add(obj)
        return obj
    if tag == 0x03:
        pos[0] = p
        z = _varint(buf, n, pos)
        return PyLong_FromLongLong(<long long>((z >> 1) ^ (-(z & 1))))
    if tag == 0x06 or tag == 0x07:
        pos[0] = p
        m = _length(buf, n, pos)
        p = pos[0]
        pos[0] = p + m
        if tag == 0x06:
            return utf8_str(buf + p, m, 'surrogatepass')
        return PyBytes_FromStringAndSize(<const char *>buf + p, m)
    if tag == 0x00:
        pos[0] = p
        return None
    if tag == 0x01:
        pos[0] = p
        return False
    if tag == 0x02:
        pos[0] = p
        return True
    if tag == 0x05:
        if p + 8 > n:
            raise _BadRecord("truncated float")
        memcpy(&d, buf + p, 8)
        pos[0] = p + 8
        return PyFloat_FromDouble(d)
    if tag == 0x09:
        pos[0] = p
        m = _length(buf, n, pos)
        obj = PyList_New(m)
        for i in range(m):
            v = _v2_decode(buf, n, pos, depth + 1, strings)
            Py_INCREF(v)
            PyList_SET_ITEM_STEAL(obj, i, <PyObject *>v)
        return obj
    if tag == 0x0a:
        pos[0] = p
        m = _length(buf, n, pos)
        obj = PyDict_New()
        for i in range(m):
            k = _v2_decode(buf, n, pos, depth + 1, strings)
            v = _v2_decode(buf, n, pos, depth + 1, strings)
            PyDict_SetItem(obj, k, v)
        return obj
    if tag == 0x04:
        pos[0] = p
        m = _length(buf, n, pos)
        p = pos[0]
        pos[0] = p + m
        if m == 16:  # two little-endian words (what the writer emits up to 128 bits)
            memcpy(&z, buf + p, 8)
            memcpy(&hi, buf + p + 8, 8)
            return (PyLong_FromLongLong(hi) << 64) | PyLong_FromUnsignedLongLong(z)
        return int.from_bytes(PyBytes_FromStringAndSize(<const char *>buf + p, m), 'little', signed=True)
    if tag == 0x0b:
        pos[0] = p
        m = _length(buf, n, pos)
        p = pos[0]
        pos[0] = p + m
        return pickle.loads(PyBytes_FromStringAndSize(<const char *>buf + p, m))
    raise _BadRecord("unknown type tag 0x%02x" % tag)


def encode_records(records, int version=2, bint string_table=False):
    """Payload bytes of ``records`` in record format ``version`` (1 or 2), without framing (one
    hunk's payload; ``string_table``: v2 keys go through one string table)."""
    cdef _Buffer buf = _Buffer()
    cdef _StrIndex strings = _StrIndex() if string_table else None
    for r in records:
        if version == 1:
            p1_encode_record(buf, r)
        else:
            v2_encode_record(buf, <PyObject *>r, NULL, strings)
    return buf.take()


def decode_records(bytes payload, int version=2):
    """Records of a payload in record format ``version``; errors raise ValueError."""
    cdef Py_ssize_t pos = 0, start
    cdef _Unpickler machine = _Unpickler()
    cdef _StrTable strings = _StrTable()
    cdef const unsigned char *buf = <const unsigned char *>PyBytes_AS_STRING(payload)
    records = []
    while pos < PyBytes_GET_SIZE(payload):
        start = pos
        try:
            if version == 1:
                records.append(p1_decode_one(machine, payload, &pos))
            else:
                records.append(_v2_decode(buf, PyBytes_GET_SIZE(payload), &pos, 0, strings))
        except Exception as exc:
            raise ValueError("cannot decode record at payload offset %d: %s" % (start, exc)) from exc
    return records


# ------------------------------------------------------------------------------------------------
# readers

@cython.final
cdef class RecordReader:
    """Iterator over the records of a stream of v1/v2 hunks (see the module docstring).

    Records are decoded one at a time from the current hunk's payload. ``netstr_reader(stream,
    size, url, head)`` reads the rest of the stream when a hunk boundary starts with a byte below
    128 (version 0 text). ``offset`` is the stream position at start (for error messages).
    """
    cdef object stream, url, netstr_reader, tail
    cdef object size
    cdef bint ignore_corrupt, done
    cdef bytes payload
    cdef Py_ssize_t pos, length
    cdef bint v2
    cdef _Unpickler machine
    cdef _StrTable strings
    cdef long long hunk_start, hunk_end
    cdef readonly long long offset

    def __init__(self, stream, size=None, url=None, ignore_corrupt=False, netstr_reader=None,
                 long long offset=0):
        self.stream = stream
        self.size = size
        self.url = url
        self.ignore_corrupt = ignore_corrupt
        self.netstr_reader = netstr_reader
        self.offset = offset
        self.payload = b''
        self.pos = self.length = 0
        self.machine = _Unpickler()
        self.strings = _StrTable()
        self.done = False
        self.tail = None

    def __iter__(self):
        return self

    def __next__(self):
        cdef Py_ssize_t start
        while True:
            if self.pos < self.length:
                start = self.pos
                try:
                    if self.v2:
                        return _v2_decode(<const unsigned char *>PyBytes_AS_STRING(self.payload),
                                          self.length, &self.pos, 0, self.strings)
                    return p1_decode_one(self.machine, self.payload, &self.pos)
                except Exception as exc:
                    self.pos = self.length  # the rest of this hunk cannot be delimited
                    self.corrupt("record at payload offset %d: %s: %s" % (start, type(exc).__name__, exc))
                    continue
            if self.tail is not None:
                return next(self.tail)
            if self.done:
                raise StopIteration
            self.next_hunk()

    cdef bytes read_exact(self, Py_ssize_t n):
        """Up to n bytes (fewer only at end of stream), read in bounded pieces."""
        cdef list parts = []
        cdef Py_ssize_t got = 0
        cdef bytes chunk
        while got < n:
            chunk = self.stream.read(min(n - got, READ_PIECE))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        if len(parts) == 1:
            return parts[0]
        return b''.join(parts)

    cdef next_hunk(self):
        """Read the next hunk into payload/pos/length, or set done (or tail, for v0 text)."""
        cdef bytes header, stored, data
        cdef const unsigned char *h
        cdef unsigned char marker, flags
        cdef uint32_t checksum
        cdef uint64_t length
        cdef long long start = self.offset, end
        cdef int k
        self.payload = b''
        self.pos = self.length = 0
        self.strings.clear()
        header = self.read_exact(1)
        if not header:
            self.done = True
            return
        if header[0] < 128:
            self.done = True
            if self.netstr_reader is None:
                raise DataError("Corrupted data at byte %d: not a record stream" % start, self.url)
            self.tail = iter(self.netstr_reader(self.stream, self.size, self.url, header))
            return
        header += self.read_exact(HEADER_SIZE - 1)
        if len(header) < HEADER_SIZE:
            self.done = True
            raise DataError("Truncated data at byte %d: hunk header has %d of %d bytes"
                            % (start, len(header), HEADER_SIZE), self.url)
        h = <const unsigned char *>PyBytes_AS_STRING(header)
        marker = h[0]
        flags = h[1]
        checksum = h[2] | (h[3] << 8) | (h[4] << 16) | (<uint32_t>h[5] << 24)
        length = 0
        for k in range(8):
            length |= (<uint64_t>h[6 + k]) << (8 * k)
        if length == 0:
            return  # end of one stream; concatenated streams (shuffle output) go on
        if length > (1 << 40):
            self.done = True
            raise DataError("Corrupted data at byte %d: hunk length %d is not plausible"
                            % (start, length), self.url)
        stored = self.read_exact(length)
        end = start + HEADER_SIZE + length
        self.offset = end
        self.hunk_start = start
        self.hunk_end = end
        if <uint64_t>len(stored) < length:
            self.done = True
            raise DataError("Truncated data between bytes %d-%d: hunk payload has %d of %d bytes"
                            % (start, end, len(stored), length), self.url)
        try:
            if marker == 0x82:
                if crc32_of(stored) != checksum:
                    raise ValueError("checksum does not match")
                if flags & 1:
                    data = lz4.block.decompress(stored)
                elif flags == 0:
                    data = stored
                else:
                    raise ValueError("unknown flags 0x%02x" % flags)
            else:
                data = isal_zlib.decompress(stored) if flags else stored
                if crc32_of(data) != checksum:
                    raise ValueError("checksum does not match")
        except Exception as exc:
            self.corrupt(exc)
            return
        self.v2 = marker == 0x82
        self.payload = data
        self.length = len(data)

    cdef corrupt(self, reason):
        if not self.ignore_corrupt:
            raise DataError("Corrupted data between bytes %d-%d: %s"
                            % (self.hunk_start, self.hunk_end, reason), self.url)


# ------------------------------------------------------------------------------------------------
# writers

cdef class _HunkWriter:
    """Buffers encoded records and writes them as hunks of about ``min_hunk_size`` bytes."""
    cdef public object stream
    cdef public int version
    cdef public int compression_level
    cdef public Py_ssize_t min_hunk_size
    cdef public object max_record_size
    cdef Py_ssize_t max_record
    cdef public long long size
    cdef _Buffer hunk
    cdef _StrIndex strings
    cdef int codec
    cdef bint closed

    @property
    def hunk_size(self):
        return self.hunk.length

    cdef int setup(self, stream, int version, int codec, int compression_level,
                   Py_ssize_t min_hunk_size, max_record_size) except -1:
        self.stream = stream
        self.version = version
        self.codec = codec
        self.compression_level = compression_level
        self.min_hunk_size = min_hunk_size
        self.max_record_size = max_record_size
        self.max_record = max_record_size if max_record_size else -1
        self.size = 0
        self.hunk = _Buffer(min(min_hunk_size, 1 << 22) + 4096)
        self.strings = _StrIndex() if codec == 2 else None
        self.closed = False
        return 0

    cdef int put(self, object record, PyObject *value) except -1:
        """Encode ``record`` (with ``value`` set: the pair ``(record, value)``) into the hunk; a
        hunk is written once the buffer exceeds ``min_hunk_size``."""
        cdef Py_ssize_t start = self.hunk.length, n
        cdef Py_ssize_t entries = 0
        if self.codec == 1:
            p1_encode_record(self.hunk, record if value == NULL else (record, <object>value))
        else:
            entries = PyDict_GET_SIZE(self.strings.ids) if self.strings is not None else 0
            v2_encode_record(self.hunk, <PyObject *>record, value, self.strings)
        n = self.hunk.length - start
        if self.max_record >= 0 and n > self.max_record:
            self.hunk.length = start
            if self.strings is not None:
                self.strings.rollback(entries)
            raise ValueError("Record of size %d is larger than max_record_size: %d"
                             % (n, self.max_record))
        if self.hunk.length > self.min_hunk_size:
            self.flush()
        return 0

    # ``add`` and ``append`` are defined by each writer class itself, as plain method descriptors
    # (binding(False)): CPython then calls them directly from a loop's ``w.append(r)``, with no
    # function object in between (it does so only for methods of the instance's exact type)

    def extend(self, records):
        """Append every record of an iterable."""
        for r in records:
            self.put(r, NULL)

    def flush(self):
        """Write the buffered records as one hunk (an empty buffer writes the empty hunk)."""
        cdef bytes payload, stored = None
        cdef int flags
        cdef int marker = 128 + self.version
        cdef uint32_t checksum = 0
        if self.strings is not None:
            self.strings.clear()  # each hunk has its own table
        if self.codec == 1:
            payload = self.hunk.take()
            flags = 1 if self.compression_level > 0 else 0
            stored = zlib_compress(payload, self.compression_level) if flags else payload
            hunk = _hunk(marker, flags, crc32_of(payload), PyBytes_AS_STRING(stored), len(stored))
        else:
            if self.compression_level > 0 and self.hunk.length:
                stored = _lz4_if_worth(self.hunk)
            if stored is not None:
                self.hunk.length = 0
                hunk = _hunk(marker, 1, crc32_of(stored), PyBytes_AS_STRING(stored), len(stored))
            else:  # raw: the payload is copied once, from the buffer into the hunk
                with memoryview(self.hunk) as view:
                    checksum = isal_zlib.crc32(view) & 0xffffffff
                hunk = _hunk(marker, 0, checksum, self.hunk.data, self.hunk.length)
                self.hunk.length = 0
        self.stream.write(hunk)
        self.size += len(hunk)

    def close(self):
        """Write what is buffered and the terminating empty hunk. Does not close ``stream``."""
        if self.closed:
            return
        if self.hunk.length:
            self.flush()
        self.flush()
        self.closed = True


cdef bytes _hunk(int marker, int flags, uint32_t checksum, const void *payload, Py_ssize_t length):
    """A hunk: its header, then ``payload`` (``length`` bytes), as one bytes object."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, HEADER_SIZE + length)
    cdef unsigned char *h = <unsigned char *>PyBytes_AS_STRING(out)
    cdef int k
    h[0] = marker
    h[1] = flags
    for k in range(4):
        h[2 + k] = (checksum >> (8 * k)) & 0xff
    for k in range(8):
        h[6 + k] = (<uint64_t>length >> (8 * k)) & 0xff
    memcpy(h + HEADER_SIZE, payload, length)
    return out


# a v2 hunk is stored lz4-compressed only when that saves at least 1/LZ4_MIN_GAIN of it: lz4 costs
# about a millisecond a MiB, and on data it cannot shrink (random keys, numbers, compressed
# values) it saves nothing. A hunk larger than 2 * LZ4_SAMPLE is judged by its first LZ4_SAMPLE
# bytes first (about 1/16 of a hunk's compression time), then by the whole compressed hunk.
DEF LZ4_MIN_GAIN = 8
DEF LZ4_SAMPLE = 65536


cdef bytes _lz4_if_worth(_Buffer payload):
    """The lz4 block of ``payload`` (with its size prefix), or None when it would not save at least
    1/LZ4_MIN_GAIN of the payload."""
    cdef Py_ssize_t n = payload.length
    cdef bytes stored
    with memoryview(payload) as view:
        if n > 2 * LZ4_SAMPLE:
            with view[:LZ4_SAMPLE] as sample:
                stored = lz4.block.compress(sample, store_size=False)
            if len(stored) > LZ4_SAMPLE - LZ4_SAMPLE // LZ4_MIN_GAIN:
                return None
        stored = lz4.block.compress(view)
    if len(stored) > n - n // LZ4_MIN_GAIN:
        return None
    return stored


cdef class DiscoOutputStream_v1(_HunkWriter):
    """Disco 0.5's record stream: pickled records (protocol 1) in zlib hunks, readable by the
    original Disco. ``compression_level=0`` writes raw hunks."""

    def __init__(self, stream, version=1, compression_level=2, min_hunk_size=HUNK_SIZE,
                 max_record_size=None):
        self.setup(stream, version, 1, compression_level, min_hunk_size, max_record_size)

    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format("clinic")  # a signature inspect can read
    def add(self, k, v):
        """Append the record ``(k, v)``."""
        self.put(k, <PyObject *>v)

    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format("clinic")
    @cython.always_allow_keywords(False)  # METH_O: the cheapest call for one record at a time
    def append(self, record):
        """Append one record; a hunk is written once the buffer exceeds ``min_hunk_size``."""
        self.put(record, NULL)


cdef class DiscoOutputStream_v2(_HunkWriter):
    """Our record stream: compact typed records in lz4 hunks (only this implementation reads it);
    a hunk lz4 cannot shrink by an eighth is stored raw, and ``compression_level=0`` stores every
    hunk raw. ``string_table=True`` gives each hunk a table of its repeated key strings: smaller
    hunks, and one str object per distinct key for whoever keeps the records read, for about
    1.3-1.5x the writing time of keys that repeat (off by default).

    ``add`` and ``append`` repeat those of ``DiscoOutputStream_v1`` on purpose: CPython calls a
    method directly from ``w.append(r)`` only when it belongs to the object's exact class."""

    def __init__(self, stream, compression_level=1, min_hunk_size=HUNK_SIZE, max_record_size=None,
                 string_table=False):
        self.setup(stream, 2, 2, compression_level, min_hunk_size, max_record_size)
        if not string_table:
            self.strings = None

    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format("clinic")  # a signature inspect can read
    def add(self, k, v):
        """Append the record ``(k, v)``."""
        self.put(k, <PyObject *>v)

    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format("clinic")
    @cython.always_allow_keywords(False)  # METH_O: the cheapest call for one record at a time
    def append(self, record):
        """Append one record; a hunk is written once the buffer exceeds ``min_hunk_size``."""
        self.put(record, NULL)


import sys as _sys
if _sys.byteorder != 'little':
    raise ImportError("disco._streams: the v2 float encoding assumes a little-endian host")


@cython.final
cdef class Counted:
    """An iterator over ``iterable`` that counts what it yields: ``last`` is the index of the last
    item yielded, counting from ``start`` (``start - 1`` before the first). Readers use it to
    resume on another replica after the records already delivered, at C speed."""
    cdef object it
    cdef public long long last

    def __init__(self, iterable, long long start=0):
        self.it = iter(iterable)
        self.last = start - 1

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self.it)
        self.last += 1
        return item


@cython.final
cdef class Records:
    """The records of ``owner`` (a ``disco.worker.InputIter``) with its replica fail-over:
    ``owner.iter`` (a Counted) is read at C speed; when it raises DataError, ``owner.failover()``
    opens the next replica (positioned after the records delivered) and reading goes on there;
    at the end ``owner.close()``."""
    cdef object owner, it

    def __init__(self, owner):
        self.owner = owner
        self.it = owner.iter

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            try:
                return next(self.it)
            except DataError:
                self.owner.failover()
                self.it = self.owner.iter
            except StopIteration:
                self.owner.close()
                raise
