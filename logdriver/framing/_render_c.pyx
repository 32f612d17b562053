# cython: boundscheck=False, wraparound=False, cdivision=True
"""ReadLogs rendering kernel, compiled twin of ``_render.py`` (same function, same bytes).

A stored frame in the shape Docker's encoder writes (fields in number order, each at most once,
shortest varints, no field holding its default value; what protobuf itself would serialize) is
rewritten in place of a decode and re-encode: the line field's length grows by one and the
newline goes after the line; a partial piece that is not the last is copied as it is. Any other
frame (a source or id that is not ASCII, a time of 0 or below, a negative ordinal, fields out of
order or repeated, unknown fields, a body that does not decode) is left to the pure twin: the
call returns ``DECLINED`` with ``pos`` at that frame. Every read is checked against the frame's
end, itself checked against the buffer.
"""

from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_FromStringAndSize

cdef enum:
    HEADER_BYTES = 4

cdef enum:
    END = 0
    UNTIL = 1
    DECLINED = 2


cdef inline Py_ssize_t _varint(const unsigned char* p, Py_ssize_t i, Py_ssize_t e,
                               int most, uint64_t* value) noexcept nogil:
    """The shortest-form varint of at most ``most`` bytes at ``p[i]`` (below ``e``): the
    offset after it and ``value``, or -1."""
    cdef uint64_t v = 0
    cdef int shift = 0
    cdef Py_ssize_t start = i
    cdef unsigned char b
    while True:
        if i >= e or i - start >= most:
            return -1
        b = p[i]
        i += 1
        v |= (<uint64_t>(b & 0x7F)) << shift
        shift += 7
        if b < 0x80:
            break
    if b == 0 and i - start > 1:
        return -1  # a trailing zero byte: not the shortest form
    value[0] = v
    return i


cdef inline Py_ssize_t _short_ascii(const unsigned char* p, Py_ssize_t i,
                                    Py_ssize_t e) noexcept nogil:
    """A string field's length byte at ``p[i]`` and its value (below ``e``): not empty, under
    128 bytes, ASCII (valid UTF-8, as protobuf requires of a string). The offset after it, or
    -1."""
    cdef Py_ssize_t n, end
    if i >= e:
        return -1
    n = p[i]
    end = i + 1 + n
    if n == 0 or n >= 0x80 or end > e:
        return -1
    i += 1
    while i < end:
        if p[i] >= 0x80:
            return -1
        i += 1
    return end


cdef inline Py_ssize_t _true_field(const unsigned char* p, Py_ssize_t i, Py_ssize_t e,
                                   unsigned char tag) noexcept nogil:
    """A bool field ``tag`` at ``p[i]`` (below ``e``), which protobuf writes only when true: the
    offset after it (``i`` when absent), or -1 when it holds anything but 1."""
    if i >= e or p[i] != tag:
        return i
    if i + 1 >= e or p[i + 1] != 0x01:
        return -1
    return i + 2


cdef inline Py_ssize_t _put_varint(unsigned char* o, Py_ssize_t k, uint64_t v) noexcept nogil:
    while v >= 0x80:
        o[k] = <unsigned char>((v & 0x7F) | 0x80)
        v >>= 7
        k += 1
    o[k] = <unsigned char>v
    return k + 1


cdef Py_ssize_t _render_one(const unsigned char* p, Py_ssize_t b, Py_ssize_t e,
                            unsigned char* o, Py_ssize_t k, long long since, long long until,
                            int* stop) noexcept nogil:
    """Render the entry in ``p[b:e]`` at ``o[k]``: the new output offset, or -1 (declined).
    Sets ``stop`` to UNTIL for an entry after ``until``."""
    cdef Py_ssize_t i = b, j, line_at, line_end, me
    cdef uint64_t v, t, llen = 0
    cdef bint partial = False, last = False
    cdef Py_ssize_t nlen, size
    # 1: source, a non-empty ASCII string of under 128 bytes
    if i >= e or p[i] != 0x0A:
        return -1
    i = _short_ascii(p, i + 1, e)
    if i < 0:
        return -1
    # 2: time_nano, 1 .. 2**63-1 (nine bytes at most)
    if i >= e or p[i] != 0x10:
        return -1
    i = _varint(p, i + 1, e, 9, &t)
    if i < 0 or t == 0 or t >> 63:
        return -1
    # 3: line, optional, not empty when present
    line_at = i
    if i < e and p[i] == 0x1A:
        i = _varint(p, i + 1, e, 5, &llen)
        if i < 0 or llen == 0 or <uint64_t>(e - i) < llen:
            return -1
        i += <Py_ssize_t>llen
    line_end = i
    # 4: partial, true when present
    j = _true_field(p, i, e, 0x20)
    if j < 0:
        return -1
    partial, i = j != i, j
    # 5: partial_log_metadata {1: last, 2: id, 3: ordinal}, may be empty
    if i < e and p[i] == 0x2A:
        i = _varint(p, i + 1, e, 5, &v)
        if i < 0 or <uint64_t>(e - i) < v:
            return -1
        me = i + <Py_ssize_t>v
        j = _true_field(p, i, me, 0x08)
        if j < 0:
            return -1
        last, i = j != i, j
        if i < me and p[i] == 0x12:
            i = _short_ascii(p, i + 1, me)
            if i < 0:
                return -1
        if i < me and p[i] == 0x18:
            i = _varint(p, i + 1, me, 5, &v)
            if i < 0 or v == 0 or v >> 31:
                return -1
        if i != me:
            return -1
    if i != e:
        return -1
    if <long long>t < since:
        return k
    if until and <long long>t > until:
        stop[0] = UNTIL
        return k
    size = e - b
    if partial and not last:
        j = k + HEADER_BYTES
        memcpy(o + j, p + b, size)
        j += size
    else:
        j = k + HEADER_BYTES
        memcpy(o + j, p + b, line_at - b)
        j += line_at - b
        o[j] = 0x1A
        j = _put_varint(o, j + 1, llen + 1)
        if llen:
            nlen = line_end - <Py_ssize_t>llen
            memcpy(o + j, p + nlen, <Py_ssize_t>llen)
            j += <Py_ssize_t>llen
        o[j] = 0x0A
        j += 1
        memcpy(o + j, p + line_end, e - line_end)
        j += e - line_end
    size = j - k - HEADER_BYTES
    o[k] = <unsigned char>(size >> 24)
    o[k + 1] = <unsigned char>(size >> 16)
    o[k + 2] = <unsigned char>(size >> 8)
    o[k + 3] = <unsigned char>size
    return j


def render_frames(bytes data, Py_ssize_t pos, Py_ssize_t skip, long long since,
                  long long until, Py_ssize_t limit, /):
    """See ``_render.render_frames``; declines the frames described in the module docstring."""
    cdef const unsigned char* p = <const unsigned char*>data
    cdef Py_ssize_t n = len(data), end, k = 0, r
    cdef uint64_t length
    cdef int stop = END
    cdef unsigned char* o
    if pos < 0 or pos > n:
        raise ValueError("pos outside the data")
    # An entry grows by 3 bytes at most (a line field added: tag, length, newline) and takes 4
    # bytes of input at least (its length prefix).
    cdef Py_ssize_t cap = (n - pos) + 3 * ((n - pos) // HEADER_BYTES + 1)
    o = <unsigned char*>malloc(cap)
    if o == NULL:
        raise MemoryError()
    try:
        with nogil:
            while limit and pos + HEADER_BYTES <= n:
                length = (<uint64_t>p[pos] << 24) | (<uint64_t>p[pos + 1] << 16) \
                    | (<uint64_t>p[pos + 2] << 8) | p[pos + 3]
                if <uint64_t>(n - pos - HEADER_BYTES) < length:
                    break
                end = pos + HEADER_BYTES + <Py_ssize_t>length
                if skip:
                    skip -= 1
                    limit -= 1
                    pos = end
                    continue
                r = _render_one(p, pos + HEADER_BYTES, end, o, k, since, until, &stop)
                if r < 0:
                    stop = DECLINED
                    break
                limit -= 1
                pos = end
                k = r
                if stop == UNTIL:
                    break
        return PyBytes_FromStringAndSize(<char*>o, k), pos, skip, 0, stop
    finally:
        free(o)
