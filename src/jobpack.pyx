# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled core of :class:`disco.job.JobPack`: the job pack wire format (docs/formats/jobpack.md).

Header packing/parsing and validation, section slicing and assembly in one allocation. The JSON
sections go through :mod:`json` (``json.dumps(obj).encode('utf-8')`` as the original writes them):
a pack is encoded and decoded once per job, so a JSON codec of our own would buy nothing.

Every decoding failure raises :class:`JobPackError` naming the field and its offset.
"""
from libc.string cimport memcpy, memset

import json

from disco.error import DiscoError

cdef extern from "Python.h":
    object PyUnicode_DecodeUTF8(const char *s, Py_ssize_t size, const char *errors)
    object PyBytes_FromStringAndSize(const char *v, Py_ssize_t size)
    char *PyBytes_AS_STRING(object o)


class JobPackError(DiscoError):
    """A job pack (or a field of one) is malformed."""


MAGIC = 0xd5c0 << 16
MAGIC_MASK = 0xffff << 16
HEADER_SIZE = 128
VERSIONS = (1, 2)
FIELDS = ("jobdict", "jobenvs", "jobhome", "jobdata")

cdef enum:
    C_HEADER_SIZE = 128

cdef unsigned long long MAX_OFFSET = 0xffffffff

# ---------------------------------------------------------------------------------------------
# header

cdef inline unsigned long long be32(const unsigned char *p):
    return (<unsigned long long>p[0] << 24) | (<unsigned long long>p[1] << 16) | \
           (<unsigned long long>p[2] << 8) | <unsigned long long>p[3]


cdef inline void put_be32(unsigned char *p, unsigned long long v):
    p[0] = (v >> 24) & 0xff
    p[1] = (v >> 16) & 0xff
    p[2] = (v >> 8) & 0xff
    p[3] = v & 0xff


cdef int check_header(const unsigned char *h, Py_ssize_t hlen, Py_ssize_t size,
                      unsigned long long offs[4]) except -1:
    """Validate a header (``hlen`` bytes available at ``h``) of a pack of ``size`` bytes."""
    cdef unsigned long long word
    cdef int i
    if hlen < C_HEADER_SIZE or size < C_HEADER_SIZE:
        raise JobPackError("job pack too short: %d bytes, the header alone is %d"
                           % (min(hlen, size), C_HEADER_SIZE))
    word = be32(h)
    if (word & MAGIC_MASK) != MAGIC:
        raise JobPackError("bad job pack magic 0x%04x at offset 0 (expected 0xd5c0)" % (word >> 16))
    if (word & 0xffff) not in VERSIONS:
        raise JobPackError("unsupported job pack version %d at offset 2 (supported: 1, 2)"
                           % (word & 0xffff))
    for i in range(4):
        offs[i] = be32(h + 4 + 4 * i)
    if offs[0] != C_HEADER_SIZE:
        raise JobPackError("jobdict offset %d (header offset 4) must be %d" % (offs[0], C_HEADER_SIZE))
    if offs[1] <= offs[0]:
        raise JobPackError("jobenvs offset %d (header offset 8) must be greater than jobdict offset %d"
                           % (offs[1], offs[0]))
    if offs[2] < offs[1]:
        raise JobPackError("jobhome offset %d (header offset 12) must not be less than jobenvs offset %d"
                           % (offs[2], offs[1]))
    if offs[3] < offs[2]:
        raise JobPackError("jobdata offset %d (header offset 16) must not be less than jobhome offset %d"
                           % (offs[3], offs[2]))
    for i in range(4):
        if offs[i] > <unsigned long long>size:
            raise JobPackError("job pack truncated: %s offset %d is past the end (%d bytes)"
                               % (FIELDS[i], offs[i], size))
    return <int>(word & 0xffff)


def parse_header(header, size=None):
    """Validate the header at the start of ``header`` (bytes-like) for a pack of ``size`` bytes
    (default ``len(header)``); return ``(version, (dict, envs, home, data offsets))``."""
    cdef const unsigned char[::1] h = _view(header, "header")
    cdef unsigned long long offs[4]
    cdef Py_ssize_t n = h.shape[0]
    cdef Py_ssize_t total = n if size is None else size
    version = check_header(&h[0] if n else NULL, n, total, offs)
    return version, (offs[0], offs[1], offs[2], offs[3])


def pack_header(magic_version, offsets, Py_ssize_t header_size=C_HEADER_SIZE):
    """``struct.pack("!IIIII", magic_version, *offsets)`` zero-padded to ``header_size`` bytes."""
    cdef Py_ssize_t i
    cdef unsigned char *p
    values = (magic_version,) + tuple(offsets)
    if len(values) != 5:
        raise JobPackError("a job pack header takes 4 offsets, not %d" % (len(values) - 1))
    if header_size < 20:
        raise JobPackError("header size %d is smaller than its 20 bytes of fields" % header_size)
    out = PyBytes_FromStringAndSize(NULL, header_size)
    p = <unsigned char *>PyBytes_AS_STRING(out)
    memset(p, 0, header_size)
    for i, v in enumerate(values):
        if not 0 <= v <= MAX_OFFSET:
            raise JobPackError("header field %d out of range for an unsigned 32-bit int: %r" % (i, v))
        put_be32(p + 4 * i, v)
    return out


# ---------------------------------------------------------------------------------------------
# helpers

cdef const unsigned char[::1] _view(obj, name):
    if obj is None:
        raise JobPackError("%s must be a bytes-like object, not NoneType" % name)
    try:
        return obj
    except (TypeError, ValueError, BufferError):
        raise JobPackError("%s must be a bytes-like object, not %s" % (name, type(obj).__name__)) from None


def check_version(version):
    """Raise :class:`JobPackError` unless ``version`` is a supported job pack version (1 or 2)."""
    if isinstance(version, bool) or not isinstance(version, int) or version not in VERSIONS:
        raise JobPackError("unsupported job pack version %r (supported: 1, 2)" % (version,))


cdef check_jobenvs(jobenvs, where):
    if not isinstance(jobenvs, dict):
        raise JobPackError("jobenvs%s must be a JSON object of strings, not %s"
                           % (where, type(jobenvs).__name__))
    for k, v in (<dict>jobenvs).items():
        if not isinstance(k, str):
            raise JobPackError("jobenvs%s keys must be strings, not %s (%r)" % (where, type(k).__name__, k))
        if not isinstance(v, str):
            raise JobPackError("jobenvs%s value for %r must be a string, not %s"
                               % (where, k, type(v).__name__))


def check_fields(version, jobdict, jobenvs):
    """Validate what ``dumps`` would encode: version 1 or 2, a dict jobdict, str -> str jobenvs."""
    check_version(version)
    if not isinstance(jobdict, dict):
        raise JobPackError("jobdict must be a dict, not %s" % type(jobdict).__name__)
    check_jobenvs(jobenvs, "")


# ---------------------------------------------------------------------------------------------
# JSON sections: the json module (C-accelerated); a pack is encoded and decoded once per job

def encode_json(obj):
    """``json.dumps(obj).encode('utf-8')``: what the original Disco writes."""
    return json.dumps(obj).encode("utf-8")


def dumps(version, jobdict, jobenvs, jobhome, jobdata):
    """Validate the fields and return the encoded job pack (header + the four sections)."""
    check_fields(version, jobdict, jobenvs)
    cdef const unsigned char[::1] home = _view(jobhome, "jobhome")
    cdef const unsigned char[::1] data = _view(jobdata, "jobdata")
    cdef Py_ssize_t nhome = home.shape[0], ndata = data.shape[0], ndict
    cdef unsigned long long offs[4]
    cdef unsigned char *p
    cdef int i
    cdef bytes dict_json = encode_json(jobdict), envs_json = encode_json(jobenvs)
    offs[0] = C_HEADER_SIZE
    offs[1] = offs[0] + len(dict_json)
    offs[2] = offs[1] + len(envs_json)
    offs[3] = offs[2] + nhome
    if offs[3] > MAX_OFFSET:
        raise JobPackError("job pack too large: jobdata offset %d does not fit in 32 bits" % offs[3])
    out = PyBytes_FromStringAndSize(NULL, offs[3] + ndata)
    p = <unsigned char *>PyBytes_AS_STRING(out)
    memset(p, 0, C_HEADER_SIZE)
    put_be32(p, MAGIC | version)
    for i in range(4):
        put_be32(p + 4 + 4 * i, offs[i])
    memcpy(p + offs[0], PyBytes_AS_STRING(dict_json), len(dict_json))
    memcpy(p + offs[1], PyBytes_AS_STRING(envs_json), len(envs_json))
    if nhome:
        memcpy(p + offs[2], &home[0], nhome)
    if ndata:
        memcpy(p + offs[3], &data[0], ndata)
    return out


cdef object dec_json(const unsigned char *s, Py_ssize_t n, name, Py_ssize_t offset):
    """``json.loads(s[:n].decode('utf-8'))``, errors as JobPackError naming ``name`` at ``offset``."""
    try:
        text = PyUnicode_DecodeUTF8(<const char *>s, n, NULL)
    except UnicodeDecodeError as e:
        raise JobPackError("%s at offset %d is not valid UTF-8: %s" % (name, offset, e)) from e
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise JobPackError("%s at offset %d is not valid JSON: %s" % (name, offset, e)) from e


def decode_json(data, name="json", Py_ssize_t offset=0):
    """``json.loads(bytes(data).decode('utf-8'))``; failures raise :class:`JobPackError`."""
    cdef const unsigned char[::1] v = _view(data, name)
    return dec_json(&v[0] if v.shape[0] else NULL, v.shape[0], name, offset)


cdef tuple dec_meta(const unsigned char *s, Py_ssize_t ndict, Py_ssize_t nenvs, Py_ssize_t offset):
    jobdict = dec_json(s, ndict, "jobdict", offset)
    if type(jobdict) is not dict:
        raise JobPackError("jobdict at offset %d must be a JSON object, not %s"
                           % (offset, type(jobdict).__name__))
    jobenvs = dec_json(s + ndict, nenvs, "jobenvs", offset + ndict)
    check_jobenvs(jobenvs, " at offset %d" % (offset + ndict))
    return jobdict, jobenvs


def decode_meta(data, Py_ssize_t ndict, Py_ssize_t offset=C_HEADER_SIZE):
    """Decode and validate adjacent jobdict (``ndict`` bytes) and jobenvs sections that start at
    pack offset ``offset``; return ``(jobdict, jobenvs)``."""
    cdef const unsigned char[::1] v = _view(data, "job pack")
    if not 0 < ndict <= v.shape[0]:
        raise JobPackError("jobdict length %d out of range" % ndict)
    return dec_meta(&v[0], ndict, v.shape[0] - ndict, offset)


def loads(data):
    """Decode and validate a whole job pack; return ``(version, jobdict, jobenvs, jobhome, jobdata)``."""
    cdef const unsigned char[::1] v = _view(data, "job pack")
    cdef Py_ssize_t n = v.shape[0]
    cdef unsigned long long o[4]
    cdef const unsigned char *s = &v[0] if n else NULL
    version = check_header(s, n, n, o)
    jobdict, jobenvs = dec_meta(s + o[0], o[1] - o[0], o[2] - o[1], o[0])
    return (version, jobdict, jobenvs,
            PyBytes_FromStringAndSize(<const char *>(s + o[2]), o[3] - o[2]),
            PyBytes_FromStringAndSize(<const char *>(s + o[3]), n - o[3]))
