# cython: language_level=3, boundscheck=False, wraparound=False
"""Loki push events, compiled (twin of ``_push.py``, same results byte for byte): the blank
check and the protobuf or JSON framing of each record, and the grouping of a request's events
into streams, in C. A record it does not handle (a line over ``max_line_size`` to cut, a time
outside 0 to 2**64-1, a source that is not ASCII text) goes to the pure ``_push.event``; a
request ``streams`` does not handle goes to the pure ``_push.streams``."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint64_t
from libc.string cimport memchr, memcmp, memcpy

from ..util cimport _wire

from sinks.loki import _push

cdef Py_ssize_t MAX_LINE = _push.MAX_LINE_SIZE
cdef Py_ssize_t BLANK_CHECK = _push.BLANK_CHECK_BYTES
cdef uint64_t NS = 1_000_000_000
_event = _push.event


cdef inline bint _ascii_space(unsigned char b) noexcept nogil:
    return b == 32 or (9 <= b <= 13)  # " \t\n\v\f\r"


cdef inline bint _go_space(unsigned int c) noexcept nogil:
    """Go's unicode.IsSpace beyond ASCII (``_push._GO_SPACE``)."""
    return (c == 0x85 or c == 0xA0 or c == 0x1680 or 0x2000 <= c <= 0x200A or c == 0x2028
            or c == 0x2029 or c == 0x202F or c == 0x205F or c == 0x3000)


cdef bint _blank(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    """``_push.blank``: only ASCII white space, or (up to BLANK_CHECK bytes) only Go's
    Unicode spaces in valid UTF-8."""
    cdef Py_ssize_t i = 0, k
    cdef unsigned int c
    while i < n and _ascii_space(p[i]):
        i += 1
    if i == n:
        return True
    if p[i] < 0x80 or n > BLANK_CHECK:
        return False
    while i < n:
        if p[i] < 0x80:
            if not _ascii_space(p[i]):
                return False
            i += 1
            continue
        k = _wire.utf8_sequence(p, i, n)  # 0: invalid, which .decode() refuses: not blank
        if k == 2:
            c = (p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F)
        elif k == 3:
            c = (p[i] & 0x0F) << 12 | (p[i + 1] & 0x3F) << 6 | (p[i + 2] & 0x3F)
        else:
            return False  # invalid, or a 4-byte character: no space is one
        if not _go_space(c):
            return False
        i += k
    return True


cdef inline unsigned char* _write_head(unsigned char* w, bytes head, uint64_t t):
    """The event's source, separator and big-endian time."""
    cdef Py_ssize_t h = PyBytes_GET_SIZE(head)
    memcpy(w, PyBytes_AS_STRING(head), h)
    return _wire.write_fixed64_be(w + h, t)


cdef object _protobuf_event(bytes head, uint64_t t, const unsigned char* p, Py_ssize_t n):
    cdef uint64_t seconds = t // NS, nanos = t % NS
    cdef Py_ssize_t ts = (1 + _wire.varint_size(seconds) if seconds else 0) + \
        (1 + _wire.varint_size(nanos) if nanos else 0)
    cdef Py_ssize_t inner = 2 + ts + 1 + _wire.varint_size(<uint64_t>n) + n
    cdef Py_ssize_t h = PyBytes_GET_SIZE(head)
    cdef Py_ssize_t total = h + 8 + 1 + _wire.varint_size(<uint64_t>inner) + inner
    cdef bytes out = PyBytes_FromStringAndSize(NULL, total)
    cdef unsigned char* w = _write_head(<unsigned char*>PyBytes_AS_STRING(out), head, t)
    w[0] = 0x12  # StreamAdapter.entries = 2
    w = _wire.write_varint(w + 1, <uint64_t>inner)
    w[0] = 0x0A  # EntryAdapter.timestamp = 1
    w[1] = <unsigned char>ts
    w += 2
    if seconds:
        w[0] = 0x08  # Timestamp.seconds = 1
        w = _wire.write_varint(w + 1, seconds)
    if nanos:
        w[0] = 0x10  # Timestamp.nanos = 2
        w = _wire.write_varint(w + 1, nanos)
    w[0] = 0x12  # EntryAdapter.line = 2
    w = _wire.write_varint(w + 1, <uint64_t>n)
    memcpy(w, p, n)
    return out


cdef object _json_event(bytes head, uint64_t t, const unsigned char* p, Py_ssize_t n):
    cdef Py_ssize_t invalid = 0
    cdef Py_ssize_t literal = _wire.json_string_size(p, n, &invalid)
    if n + 2 * invalid > MAX_LINE:  # to cut after U+FFFD replaced the invalid bytes
        return None
    cdef Py_ssize_t h = PyBytes_GET_SIZE(head)
    cdef Py_ssize_t total = h + 8 + 2 + _wire.decimal_size(t) + 2 + literal + 1
    cdef bytes out = PyBytes_FromStringAndSize(NULL, total)
    cdef unsigned char* w = _write_head(<unsigned char*>PyBytes_AS_STRING(out), head, t)
    w[0] = 91  # ["
    w[1] = 34
    w = _wire.write_decimal(w + 2, t)
    w[0] = 34  # ",
    w[1] = 44
    w = _wire.write_json_string(w + 2, p, n, literal)
    w[0] = 93  # ]
    return out


def events(times, sources, lines, bint protobuf):
    """``[_push.event(t, s, l, protobuf) for t, s, l in zip(times, sources, lines)]``."""
    if not (type(times) is list and type(sources) is list and type(lines) is list) or \
            not len(times) == len(sources) == len(lines):
        return _push.events(times, sources, lines, protobuf)
    cdef list ts = times, ss = sources, ls = lines
    cdef list out = []
    cdef dict heads = {}
    cdef Py_ssize_t i, n
    cdef uint64_t t
    cdef const unsigned char* p
    cdef object line, source, head, result, time_ns
    for i in range(len(ls)):
        line, source, time_ns = ls[i], ss[i], ts[i]
        result = None
        if type(line) is bytes and type(time_ns) is int and 0 <= time_ns < 2 ** 64:
            p = <const unsigned char*>PyBytes_AS_STRING(line)
            n = PyBytes_GET_SIZE(line)
            if _blank(p, n):
                result = b""
            else:
                head = heads.get(source)
                if head is None and type(source) is str and (<str>source).isascii():
                    head = heads[source] = (<str>source).encode() + b"\0"
                if head is not None:
                    t = time_ns
                    if not protobuf:
                        result = _json_event(head, t, p, n)
                    elif n <= MAX_LINE:
                        result = _protobuf_event(head, t, p, n)
        if result is None:
            result = _event(time_ns, source, line, protobuf)
        out.append(result)
    return out


cdef enum:
    MAX_STREAMS = 16  # sources in one request handled here; more go to the pure twin


def streams(events, bint protobuf):
    """``_push.streams``: events grouped by source, in time order, their entries joined. A
    request it does not handle (over MAX_STREAMS sources, a stream out of time order, an
    event that is not ``source NUL time entry``) goes to the pure twin, which sorts or
    raises."""
    if type(events) is not list:
        return _push.streams(events, protobuf)
    cdef list evs = events
    cdef Py_ssize_t n = len(evs), i, s, count = 0, sep, size
    cdef const unsigned char* p
    cdef const unsigned char* hit
    cdef uint64_t ts
    cdef uint64_t last[MAX_STREAMS]
    cdef Py_ssize_t total[MAX_STREAMS]
    cdef Py_ssize_t glue = 0 if protobuf else 1
    cdef list keys = []  # each stream's source as it is in the events (bytes)
    cdef list names = []
    cdef list indices = []
    cdef object one, key
    cdef unsigned char[:] stream_of
    if n == 0:
        return []
    stream_of = bytearray(n)
    for i in range(n):
        one = evs[i]
        if type(one) is not bytes:
            return _push.streams(events, protobuf)
        p = <const unsigned char*>PyBytes_AS_STRING(one)
        size = PyBytes_GET_SIZE(one)
        hit = <const unsigned char*>memchr(p, 0, size)
        if hit == NULL or size - (hit - p) - 1 < 8:
            return _push.streams(events, protobuf)
        sep = hit - p
        for s in range(count):
            key = keys[s]
            if PyBytes_GET_SIZE(key) == sep and memcmp(PyBytes_AS_STRING(key), p, sep) == 0:
                break
        else:
            if count == MAX_STREAMS:
                return _push.streams(events, protobuf)
            try:
                names.append(PyUnicode_DecodeUTF8(<const char*>p, sep, NULL))
            except UnicodeDecodeError:
                return _push.streams(events, protobuf)
            keys.append(PyBytes_FromStringAndSize(<const char*>p, sep))
            indices.append([])
            s = count
            count += 1
            last[s] = 0
            total[s] = -glue
        ts = _wire.read_fixed64_be(p + sep + 1)
        if ts < last[s]:
            return _push.streams(events, protobuf)  # to sort: the pure twin's
        last[s] = ts
        total[s] += size - sep - 9 + glue
        stream_of[i] = <unsigned char>s
        (<list>indices[s]).append(i)
    cdef list joined = []
    cdef bytes buffer
    cdef unsigned char* w
    cdef unsigned char* out[MAX_STREAMS]
    cdef bint started[MAX_STREAMS]
    for s in range(count):
        buffer = PyBytes_FromStringAndSize(NULL, total[s])
        joined.append(buffer)
        out[s] = <unsigned char*>PyBytes_AS_STRING(buffer)
        started[s] = False
    for i in range(n):
        one = evs[i]
        s = stream_of[i]
        p = <const unsigned char*>PyBytes_AS_STRING(one)
        size = PyBytes_GET_SIZE(one)
        sep = <const unsigned char*>memchr(p, 0, size) - p
        w = out[s]
        if glue and started[s]:
            w[0] = 44  # ,
            w += 1
        started[s] = True
        memcpy(w, p + sep + 9, size - sep - 9)
        out[s] = w + size - sep - 9
    return [(names[s], tuple(indices[s]), joined[s]) for s in range(count)]
