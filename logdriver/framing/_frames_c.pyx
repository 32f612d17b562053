# cython: boundscheck=False, wraparound=False, initializedcheck=False
"""The frame kernel, compiled twin of ``_frames.py`` (same functions, byte-identical results).

Every read from ``data`` is preceded by a check that the bytes are there: a crafted length
prefix, a truncated frame or a block that ends mid-header makes a function stop or decline,
never read past the buffer.

Each function takes ``bytes`` by its pointer and length (``_borrow``: a Cython typed memoryview
costs a few microseconds per call, as much as the walk of a small block); any other buffer is
borrowed with ``PyObject_GetBuffer`` for the call.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize
from cpython.bytes cimport PyBytes_GET_SIZE
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memchr, memcmp, memset

# The limits of _frames.py, as C constants (tests/unit/test_frames_kernel.py checks they agree).
cdef enum:
    HEADER_BYTES = 4
    MIN_ENTRY_BYTES = 8
    MAX_FRAME_BYTES = 1000000
    MARKER_BYTES = 5  # "\x0a\x06std"
    MIN_FRAME = HEADER_BYTES + MARKER_BYTES
    HEAD_BYTES = 18  # source field, time tag and its 9-byte varint
    MAX_PLAIN_LINE = 32767

LIMITS = {
    "HEADER_BYTES": HEADER_BYTES,
    "MIN_ENTRY_BYTES": MIN_ENTRY_BYTES,
    "MAX_FRAME_BYTES": MAX_FRAME_BYTES,
    "MIN_FRAME": MIN_FRAME,
    "MAX_PLAIN_LINE": MAX_PLAIN_LINE,
    "ENTRY_MARKER": b"\x0a\x06std",
}

cdef const char *MARKER = b"\x0a\x06std"
cdef str STDOUT = "stdout"
cdef str STDERR = "stderr"


cdef inline uint32_t _length(const unsigned char *p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef const unsigned char *_borrow(object data, Py_buffer *view) except? NULL:
    """``data``'s bytes, ``view.len`` of them, until ``PyBuffer_Release(view)``: ``bytes`` by
    its pointer (``view.obj`` NULL, nothing to release), any other buffer borrowed (on an
    error ``view.obj`` is NULL too: the caller's release is then a no-op)."""
    memset(view, 0, sizeof(Py_buffer))
    if PyBytes_CheckExact(data):
        view.buf = PyBytes_AS_STRING(data)
        view.len = PyBytes_GET_SIZE(data)
    else:
        PyObject_GetBuffer(data, view, PyBUF_SIMPLE)
    return <const unsigned char *>view.buf


def scan_frames(data, Py_ssize_t pos, list ends not None):
    """See ``_frames.scan_frames``."""
    cdef Py_buffer view
    if pos < 0:
        raise ValueError(f"negative offset {pos}")
    try:
        return _scan(_borrow(data, &view), view.len, pos, ends)
    finally:
        PyBuffer_Release(&view)


cdef Py_ssize_t _scan(const unsigned char *p, Py_ssize_t n, Py_ssize_t pos,
                      list ends) except -1:
    cdef Py_ssize_t end
    cdef uint32_t length
    while pos <= n - MIN_FRAME:  # the length and the marker are there
        length = _length(p + pos)
        if length < MIN_ENTRY_BYTES or length > MAX_FRAME_BYTES:
            break
        end = pos + HEADER_BYTES + length
        if end > n or memcmp(p + pos + HEADER_BYTES, MARKER, MARKER_BYTES) != 0:
            break
        ends.append(end)
        pos = end
    return pos


def whole_frames(data):
    """See ``_frames.whole_frames``."""
    cdef Py_buffer view
    try:
        return _whole(_borrow(data, &view), view.len)
    finally:
        PyBuffer_Release(&view)


cdef inline Py_ssize_t _whole(const unsigned char *p, Py_ssize_t n) noexcept:
    cdef Py_ssize_t pos = 0, end
    while pos + HEADER_BYTES <= n:
        end = pos + HEADER_BYTES + <Py_ssize_t>_length(p + pos)
        if end > n:
            break
        pos = end
    return pos


cdef inline bint _is_header(const unsigned char *b) noexcept nogil:
    """Whether the 18 bytes at ``b`` (the caller checked they are there) are a plain entry's
    header as ``_frames._PLAIN_HEADER`` matches it: source field, time tag, 9-byte varint."""
    cdef int k
    if b[0] != 0x0a or b[1] != 0x06 or memcmp(b + 2, b"std", 3) != 0:
        return False
    if memcmp(b + 5, b"out", 3) != 0 and memcmp(b + 5, b"err", 3) != 0:
        return False
    if b[8] != 0x10:
        return False
    for k in range(8):
        if b[9 + k] < 0x80:
            return False
    return b[17] < 0x80


cdef inline bint _header_inside(const unsigned char *p, Py_ssize_t start, Py_ssize_t stop,
                                Py_ssize_t n) noexcept nogil:
    """Whether a plain header (whole within ``p[:n]``) starts anywhere in ``p[start:stop]``:
    the pure twin's regex split would cut a line there, and decline the block."""
    cdef const unsigned char *hit
    while start < stop and start + HEAD_BYTES <= n:
        hit = <const unsigned char *>memchr(p + start, 0x0a, stop - start)
        if hit == NULL:
            return False
        start = hit - p
        if start + HEAD_BYTES <= n and _is_header(hit):
            return True
        start += 1
    return False


def plain_entries(data, base, Py_ssize_t max_line):
    """See ``_frames.plain_entries``."""
    cdef Py_buffer view
    try:
        return _plain(_borrow(data, &view), view.len, base, max_line)
    finally:
        PyBuffer_Release(&view)


cdef object _plain(const unsigned char *p, Py_ssize_t n, object base, Py_ssize_t max_line):
    cdef Py_ssize_t pos = 0, body, end, line_at, line_len, field, i = 0, count = 0
    cdef uint32_t length
    cdef uint64_t t
    cdef int k
    cdef const unsigned char *b
    cdef long long first = 0
    cdef bint small_base
    cdef tuple times
    cdef list sources, lines, ends
    cdef object item
    if n == 0:
        return None
    # Count the frames first, so the results are made at their size (no list growing): a
    # block that is not whole frames of at least a header each declines below all the same.
    while pos < n:
        if n - pos < HEADER_BYTES:
            return None
        length = _length(p + pos)
        if length < HEAD_BYTES or length > n - pos - HEADER_BYTES:
            return None
        pos += HEADER_BYTES + length
        count += 1
    pos = 0
    try:
        first = base
        small_base = 0 <= first <= (1 << 62)
    except OverflowError:
        small_base = False
    # (a declined block leaves slots unset: a tuple or list frees its NULL slots as empty)
    times = PyTuple_New(count)
    sources = PyList_New(count)
    lines = PyList_New(count)
    ends = PyList_New(count)
    while pos < n:
        length = _length(p + pos)  # whole and at least HEAD_BYTES: counted above
        body = pos + HEADER_BYTES
        end = body + length
        b = p + body
        if not _is_header(b):
            return None
        t = 0
        for k in range(9):
            t |= <uint64_t>(b[9 + k] & 0x7f) << (7 * k)
        line_at = body + HEAD_BYTES
        line_len = 0
        if length > HEAD_BYTES:
            # field 3 (line): tag 0x1a, then a minimal varint of 1 to 3 bytes, under 32 KiB
            if b[HEAD_BYTES] != 0x1a:
                return None
            field = HEAD_BYTES + 1
            k = 0
            while True:
                if field + k >= length or k == 3:
                    return None
                line_len |= <Py_ssize_t>(b[field + k] & 0x7f) << (7 * k)
                if b[field + k] < 0x80:
                    break
                k += 1
            if (k > 0 and b[field + k] == 0) or line_len > MAX_PLAIN_LINE:
                return None
            line_at = body + field + k + 1
            if line_at + line_len != end:
                return None
        if line_len > max_line or _header_inside(p, line_at, end, n):
            return None
        item = t
        Py_INCREF(item)
        PyTuple_SET_ITEM(times, i, item)
        item = STDOUT if b[5] == 0x6f else STDERR  # b[5]: "o" of "stdout"
        Py_INCREF(item)
        PyList_SET_ITEM(sources, i, item)
        item = PyBytes_FromStringAndSize(<const char *>p + line_at, line_len)
        Py_INCREF(item)
        PyList_SET_ITEM(lines, i, item)
        item = first + end if small_base else base + end
        Py_INCREF(item)
        PyList_SET_ITEM(ends, i, item)
        i += 1
        pos = end
    return times, sources, lines, ends
