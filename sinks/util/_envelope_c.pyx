# cython: boundscheck=False, wraparound=False, cdivision=True
"""Envelope kernel, compiled twin of ``_envelope.py`` (see ``envelope.py``): the line escaping
(Go's encoding/json or Python's json) and the time formatting in C, one scratch buffer per batch.

Bounds: each record's output is written after reserving its worst case (every line byte as a
6-byte escape, plus the pieces and 48 bytes of time), list indexes are checked against the lists'
current sizes, and a line is read only below ``PyBytes_GET_SIZE``. A record it does not handle
(not exact bytes/str/int/bool columns, a time outside int64, a source without pieces, a line for
``json_lines``, a line over ``max_line // 3`` bytes) comes back as None for the per-record encoder.
"""

from cpython cimport array
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_CheckExact
from cpython.pyport cimport PY_SSIZE_T_MAX
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memcmp, memcpy


cdef extern from "Python.h":
    long long PyLong_AsLongLongAndOverflow(object obj, int* overflow) except? -1


# Same values as _envelope.py (the pure twin's constants).
cdef enum:
    ESCAPE_GO = 0
    TIME_HEC = 0
    TIME_MS = 1
    TIME_RFC3339 = 2
    TIME_ROOM = 48  # bytes reserved for any time format
    EXPECTED_ENVELOPE = 160  # bytes per event beside its line, for the first reservation
    FRACTION_BITS = 44  # every double >= 256 is a multiple of 2**-44

cdef object NO_SOURCE = object()  # no source seen yet, or the last one had no pieces

from sinks.util import _envelope

include "_envelope_time.pxi"  # put_time: the three time formats

cdef const char* HEX = b"0123456789abcdef"
# 1 for an ASCII byte copied as it is: printable ASCII and DEL, but for '"' and '\'; Go also
# escapes '<', '>' and '&'.
cdef uint8_t SAFE_JSON[128]
cdef uint8_t SAFE_GO[128]
# 1 for what can open a JSON value in gojson.raw_json (it declines the rest at once).
cdef uint8_t JSON_START[128]
# Go's unicode.IsSpace below 0x80.
cdef uint8_t ASCII_SPACE[128]

cdef int _c
for _c in range(128):
    SAFE_JSON[_c] = 0x20 <= _c and _c != 0x22 and _c != 0x5c
    SAFE_GO[_c] = SAFE_JSON[_c] and _c not in (0x3c, 0x3e, 0x26)
    JSON_START[_c] = _c in b' \t\n\r{["-0123456789tfn'
    ASCII_SPACE[_c] = _c in b"\t\n\v\f\r "


cdef inline Py_ssize_t utf8_length(const uint8_t* s, Py_ssize_t avail) noexcept nogil:
    """Bytes of the well-formed UTF-8 sequence (Unicode table 3-7) at s[0] (>= 0x80), 0 if none:
    what Python's strict decoder accepts, and Go's utf8.DecodeRune."""
    cdef uint8_t c = s[0], lo = 0x80, hi = 0xBF
    cdef Py_ssize_t k, j
    if c < 0xC2 or c > 0xF4:
        return 0
    k = 2 if c < 0xE0 else 3 if c < 0xF0 else 4
    if avail < k:
        return 0
    if c == 0xE0:
        lo = 0xA0  # no overlong 3-byte form
    elif c == 0xED:
        hi = 0x9F  # no surrogate
    elif c == 0xF0:
        lo = 0x90  # no overlong 4-byte form
    elif c == 0xF4:
        hi = 0x8F  # nothing past U+10FFFF
    if s[1] < lo or s[1] > hi:
        return 0
    for j in range(2, k):
        if (s[j] & 0xC0) != 0x80:
            return 0
    return k


cdef inline char* put_ascii_escape(char* o, uint8_t c) noexcept nogil:
    """The JSON escape of one ASCII byte, as Python's json writes it (lower-case hex)."""
    o[0] = c'\\'
    if c == 0x22 or c == 0x5c:
        o[1] = c
    elif c == 0x0a:
        o[1] = c'n'
    elif c == 0x0d:
        o[1] = c'r'
    elif c == 0x09:
        o[1] = c't'
    elif c == 0x08:
        o[1] = c'b'
    elif c == 0x0c:
        o[1] = c'f'
    else:
        o[1] = c'u'
        o[2] = c'0'
        o[3] = c'0'
        o[4] = HEX[c >> 4]
        o[5] = HEX[c & 15]
        return o + 6
    return o + 2


cdef extern from *:
    """
    #define LD_ONES ((uint64_t)0x0101010101010101ULL)
    #define LD_HIGHS ((uint64_t)0x8080808080808080ULL)
    """
    const uint64_t ONES "LD_ONES"  # 0x01 in every byte
    const uint64_t HIGHS "LD_HIGHS"  # 0x80 in every byte


cdef inline uint64_t has_byte(uint64_t x, uint64_t c) noexcept nogil:
    """Non-zero iff one of the 8 bytes of x is c (the "haszero" bit trick: exact for any)."""
    x ^= ONES * c
    return (x - ONES) & ~x & HIGHS


cdef inline bint plain8(uint64_t x, bint go) noexcept nogil:
    """Whether all 8 bytes of x are copied as they are (printable ASCII or DEL, no escape)."""
    cdef uint64_t bad = (x & HIGHS) | ((x - ONES * 0x20) & ~x & HIGHS)
    bad |= has_byte(x, 0x22) | has_byte(x, 0x5c)
    if go:
        bad |= has_byte(x, 0x3c) | has_byte(x, 0x3e) | has_byte(x, 0x26)
    return bad == 0


cdef char* put_escaped(char* o, const uint8_t* s, Py_ssize_t n, bint go) noexcept nogil:
    """The body of the JSON string of line ``s[:n]`` (at most 6 bytes out per byte in). Eight
    plain bytes at a time are copied whole; any other byte goes one at a time."""
    cdef const uint8_t* safe = SAFE_JSON
    if go:
        safe = SAFE_GO
    cdef Py_ssize_t i = 0, k
    cdef uint8_t c
    cdef uint64_t x
    while i < n:
        while i + 8 <= n:
            memcpy(&x, s + i, 8)
            if not plain8(x, go):
                break
            memcpy(o, &x, 8)
            o += 8
            i += 8
        if i >= n:
            break
        c = s[i]
        if c < 0x80:
            if safe[c]:
                o[0] = <char>c
                o += 1
            else:
                o = put_ascii_escape(o, c)
            i += 1
            continue
        k = utf8_length(s + i, n - i)
        if k == 0:  # one byte of invalid UTF-8
            if go:
                memcpy(o, b"\\ufffd", 6)
                o += 6
            else:  # decode_line's U+FFFD, raw
                memcpy(o, b"\xef\xbf\xbd", 3)
                o += 3
            i += 1
        elif go and k == 3 and c == 0xE2 and s[i + 1] == 0x80 and (s[i + 2] & 0xFE) == 0xA8:
            memcpy(o, b"\\u2028", 6)  # U+2028 or U+2029, escaped by Go
            if s[i + 2] == 0xA9:
                o[5] = c'9'
            o += 6
            i += 3
        else:
            memcpy(o, s + i, k)
            o += k
            i += k
    return o


cdef inline char* put_piece(char* o, bytes piece) noexcept:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(piece)
    memcpy(o, PyBytes_AS_STRING(piece), n)
    return o + n


cdef bint go_space(const uint8_t* s, Py_ssize_t k) noexcept nogil:
    """Whether the k-byte UTF-8 sequence at s (k >= 2) is a white space to Go's unicode.IsSpace:
    U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000."""
    if k == 2:
        return s[0] == 0xC2 and (s[1] == 0x85 or s[1] == 0xA0)
    if k != 3:
        return False
    if s[0] == 0xE2 and s[1] == 0x80:
        return s[2] <= 0x8A or s[2] == 0xA8 or s[2] == 0xA9 or s[2] == 0xAF
    return ((s[0] == 0xE1 and s[1] == 0x9A and s[2] == 0x80)
            or (s[0] == 0xE2 and s[1] == 0x81 and s[2] == 0x9F)
            or (s[0] == 0xE3 and s[1] == 0x80 and s[2] == 0x80))


cdef bint blank_line(const uint8_t* s, Py_ssize_t n) noexcept nogil:
    """Whether ``go_text(line).strip(GO_SPACE)`` is empty (an invalid byte is not a space)."""
    cdef Py_ssize_t i = 0, k
    while i < n:
        if s[i] < 0x80:
            if not ASCII_SPACE[s[i]]:
                return False
            i += 1
            continue
        k = utf8_length(s + i, n - i)
        if k == 0 or not go_space(s + i, k):
            return False
        i += k
    return True


cdef inline bint ascii_digit(uint8_t c) noexcept nogil:
    return 0x30 <= c <= 0x39


cdef bint may_be_json(const uint8_t* s, Py_ssize_t n) noexcept nogil:
    """False if ``gojson.raw_json`` surely answers None for this line (it then stays a string);
    True if it may embed it as JSON (the line is declined, Python decides). Sure cases: a first
    byte that opens no JSON value; "t"/"f"/"n" not opening true/false/null; "-" or a digit
    whose longest JSON number (json's NUMBER_RE) is followed by an ASCII byte that is not white
    space ("Extra data"). A "-Infinity" is refused by raw_json's parse_constant, so a string."""
    cdef Py_ssize_t i = 0, j
    cdef uint8_t c
    if n == 0:
        return False
    c = s[0]
    if c >= 0x80 or not JSON_START[c]:
        return False
    if c == c't':
        return n >= 4 and memcmp(s, b"true", 4) == 0
    if c == c'f':
        return n >= 5 and memcmp(s, b"false", 5) == 0
    if c == c'n':
        return n >= 4 and memcmp(s, b"null", 4) == 0
    if c != c'-' and not ascii_digit(c):
        return True  # an object, array, string or white space first: parse it in Python
    if c == c'-':
        i = 1
    if i < n and s[i] == c'0':
        i += 1
    elif i < n and ascii_digit(s[i]):
        while i < n and ascii_digit(s[i]):
            i += 1
    else:
        return False  # no number: "-" then something else
    if i + 1 < n and s[i] == c'.' and ascii_digit(s[i + 1]):
        i += 2
        while i < n and ascii_digit(s[i]):
            i += 1
    if i < n and (s[i] == c'e' or s[i] == c'E'):
        j = i + 1
        if j < n and (s[j] == c'+' or s[j] == c'-'):
            j += 1
        if j < n and ascii_digit(s[j]):
            i = j + 1
            while i < n and ascii_digit(s[i]):
                i += 1
    while i < n and (s[i] == 0x20 or s[i] == 0x09 or s[i] == 0x0a or s[i] == 0x0d):
        i += 1
    return i == n or s[i] >= 0x80  # all of it a number, or a code point Python might read on


cdef class _Out:
    """Where ``write_envelopes`` puts events: ``buf`` (a bytearray) from ``used`` on, each
    event's end offset at ``ends[k]`` (a PyMem array, one per record)."""
    cdef bytearray buf
    cdef Py_ssize_t used, size
    cdef uint64_t* ends

    cdef char* reserve(self, Py_ssize_t need) except NULL:
        """Room for ``need`` more bytes after ``used``; the write position."""
        cdef Py_ssize_t want
        if need > PY_SSIZE_T_MAX - self.used - (self.used >> 1):
            raise MemoryError()
        if self.used + need > self.size:
            want = self.used + need + (self.used >> 1)  # half more: few reallocs
            PyByteArray_Resize(self.buf, want)
            self.size = want
        return PyByteArray_AS_STRING(self.buf) + self.used

    cdef int append(self, bytes piece) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(piece)
        cdef char* o = self.reserve(n)
        memcpy(o, PyBytes_AS_STRING(piece), n)
        self.used += n
        return 0


cdef Py_ssize_t write_envelopes(layout, list times, list sources, list lines, list partial,
                                _Out out, bytes sep, object fallback, list declined) except -1:
    """Each record's event then ``sep`` (none after an empty event) into ``out``; a record it
    does not handle: ``fallback(i)``'s bytes, or (``fallback`` None) an empty event with ``i``
    appended to ``declined``. Returns how many events are empty."""
    cdef Py_ssize_t n = len(lines), i, size, need, fixed, empty = 0, nsep = PyBytes_GET_SIZE(sep)
    cdef Py_ssize_t max_line = layout.max_line
    cdef int escape = layout.escape, time_kind = layout.time, overflow
    cdef bint time_first = layout.time_first, json_lines = layout.json_lines
    cdef bint skip_blank = layout.skip_blank, go = escape == ESCAPE_GO
    cdef dict heads = layout.heads
    cdef tuple tails = layout.tails
    cdef bytes whole = tails[0], cut = tails[1], head = None, middle = None, tail, event
    cdef object line, src, last_src = NO_SOURCE, pair, flag, t_obj
    cdef const uint8_t* s
    cdef int64_t t
    cdef char* o
    if len(times) != n or len(sources) != n or len(partial) != n:
        raise ValueError("envelopes: the record columns differ in length")
    if not PyBytes_CheckExact(whole) or not PyBytes_CheckExact(cut):
        raise TypeError("envelopes: a layout's pieces must be bytes")
    fixed = max(PyBytes_GET_SIZE(whole), PyBytes_GET_SIZE(cut)) + TIME_ROOM + nsep
    for i in range(n):
        # The lists are only read; still, check each index against their sizes now.
        if i >= len(lines) or i >= len(times) or i >= len(sources) or i >= len(partial):
            raise ValueError("envelopes: a record column changed during the call")
        line = lines[i]
        src = sources[i]
        t_obj = times[i]
        flag = partial[i]
        if not PyBytes_CheckExact(line) or not PyLong_CheckExact(t_obj):
            out.ends[i] = declined_event(out, i, sep, fallback, declined, &empty)
            continue
        if flag is True:
            tail = cut
        elif flag is False:
            tail = whole
        else:
            out.ends[i] = declined_event(out, i, sep, fallback, declined, &empty)
            continue
        t = PyLong_AsLongLongAndOverflow(t_obj, &overflow)
        if overflow:
            out.ends[i] = declined_event(out, i, sep, fallback, declined, &empty)
            continue
        if src is not last_src:
            pair = heads.get(src) if type(src) is str else None
            if pair is None:
                last_src = NO_SOURCE
                out.ends[i] = declined_event(out, i, sep, fallback, declined, &empty)
                continue
            head, middle = pair
            if not PyBytes_CheckExact(head) or not PyBytes_CheckExact(middle):
                raise TypeError("envelopes: a layout's pieces must be bytes")
            last_src = src
        size = PyBytes_GET_SIZE(line)
        s = <const uint8_t*>PyBytes_AS_STRING(line)
        if (max_line and size > max_line // 3) or (json_lines and may_be_json(s, size)):
            out.ends[i] = declined_event(out, i, sep, fallback, declined, &empty)
            continue
        if skip_blank and blank_line(s, size):
            empty += 1
            out.ends[i] = out.used
            continue
        if size > (PY_SSIZE_T_MAX - fixed) // 8:
            out.ends[i] = declined_event(out, i, sep, fallback, declined, &empty)
            continue  # no room to reserve (not a line that fits in memory anyway)
        need = PyBytes_GET_SIZE(head) + PyBytes_GET_SIZE(middle) + fixed + 6 * size
        o = out.reserve(need)
        s = <const uint8_t*>PyBytes_AS_STRING(line)
        o = put_piece(o, head)
        if time_first:
            o = put_time(o, t, time_kind)
            o = put_piece(o, middle)
            o = put_escaped(o, s, size, go)
        else:
            o = put_escaped(o, s, size, go)
            o = put_piece(o, middle)
            o = put_time(o, t, time_kind)
        o = put_piece(o, tail)
        memcpy(o, PyBytes_AS_STRING(sep), nsep)
        out.used = o + nsep - PyByteArray_AS_STRING(out.buf)
        out.ends[i] = out.used
    return empty


cdef Py_ssize_t declined_event(_Out out, Py_ssize_t i, bytes sep, object fallback,
                               list declined, Py_ssize_t* empty) except -1:
    """The per-record encoder's event for record ``i`` (see ``write_envelopes``); its end."""
    cdef object event
    if fallback is None:
        declined.append(i)
        empty[0] += 1
        return out.used
    event = fallback(i)
    if not PyBytes_CheckExact(event):
        raise TypeError("envelopes_into: the fallback must answer bytes")
    out.size = PyByteArray_GET_SIZE(out.buf)  # Python ran: trust nothing kept about the buffer
    if out.size < out.used:
        raise RuntimeError("envelopes_into: the buffer shrank during the call")
    if PyBytes_GET_SIZE(event):
        out.append(event)
        out.append(sep)
    else:
        empty[0] += 1
    return out.used


cdef Py_ssize_t expected_size(list lines, Py_ssize_t n) except -1:
    """Room for the usual batch at once (its lines, plus some envelope each): few reallocs."""
    cdef Py_ssize_t i, total = 0
    cdef object line
    for i in range(min(n, len(lines))):
        line = lines[i]
        if PyBytes_CheckExact(line) and PyBytes_GET_SIZE(line) < PY_SSIZE_T_MAX // 4 - total:
            total += PyBytes_GET_SIZE(line)
    return total + min(n, PY_SSIZE_T_MAX // 4 // EXPECTED_ENVELOPE) * EXPECTED_ENVELOPE


cdef _Out open_out(bytearray buf, Py_ssize_t n):
    cdef _Out out = _Out.__new__(_Out)
    out.buf = buf
    out.used = out.size = PyByteArray_GET_SIZE(buf)
    out.ends = <uint64_t*>PyMem_Malloc(max(n, 1) * sizeof(uint64_t))
    if out.ends == NULL:
        raise MemoryError()
    return out


cdef int close_out(_Out out, Py_ssize_t keep) except -1:
    """Give the bytearray its written size (``keep`` on failure: as it was) and free ``ends``."""
    PyMem_Free(out.ends)
    out.ends = NULL
    if PyByteArray_GET_SIZE(out.buf) != keep:
        PyByteArray_Resize(out.buf, keep)
    return 0


cdef uint64_t check_out(str name, bytearray out, array.array ends, object base) except? 0:
    """The same refusals as the pure twin's ``_check_out``; ``base`` as a C integer."""
    if type(out) is not bytearray or ends.ob_descr.typecode != c'Q':
        raise TypeError(f"{name}: a bytearray and an array('Q') are needed")
    if base < 0:
        raise ValueError(f"{name}: a negative base")
    return base


cdef int put_ends(_Out o, array.array ends, Py_ssize_t n, uint64_t base) except -1:
    """The ``n`` end offsets written, plus ``base``, onto ``ends``."""
    cdef Py_ssize_t i
    if base:
        for i in range(n):
            o.ends[i] += base
    array.extend_buffer(ends, <char*>o.ends, n)
    return 0


def envelopes_into(layout, list times, list sources, list lines, list partial,
                   bytearray out not None, array.array ends not None, base,
                   bytes sep not None, fallback):
    """See ``envelope.EnvelopeKernel.envelopes_into``."""
    cdef Py_ssize_t n = len(lines), start = PyByteArray_GET_SIZE(out), empty
    cdef uint64_t offset = check_out("envelopes_into", out, ends, base)
    cdef _Out o = open_out(out, n)
    try:
        o.reserve(expected_size(lines, n))
        empty = write_envelopes(layout, times, sources, lines, partial, o, sep, fallback, None)
        put_ends(o, ends, n, offset)
    except BaseException:
        close_out(o, start)
        raise
    close_out(o, o.used)
    return empty


def envelopes(layout, list times, list sources, list lines, list partial):
    """See ``envelope.EnvelopeKernel.envelopes``; never answers None for the whole batch."""
    cdef Py_ssize_t n = len(lines), i, j = 0, a = 0, b
    cdef list declined = [], events
    cdef bytearray buf = bytearray()
    cdef _Out o = open_out(buf, n)
    cdef const char* base
    try:
        write_envelopes(layout, times, sources, lines, partial, o, b"", None, declined)
        events = [None] * n
        base = PyByteArray_AS_STRING(buf)
        for i in range(n):
            b = o.ends[i]
            if j < len(declined) and declined[j] == i:
                j += 1
            else:
                events[i] = PyBytes_FromStringAndSize(base + a, b - a)
            a = b
    finally:
        close_out(o, 0)
    return events, len(declined)


def text_lines(list lines):
    """See ``envelope.EnvelopeKernel.text_lines``."""
    cdef Py_ssize_t n = len(lines), i, size
    cdef list out = [None] * n
    cdef object line
    cdef bytes event
    cdef char* o
    for i in range(n):
        if i >= len(lines):
            raise ValueError("text_lines: the list changed during the call")
        line = lines[i]
        if not PyBytes_CheckExact(line):
            out[i] = line + b"\n"
            continue
        size = PyBytes_GET_SIZE(line)
        event = PyBytes_FromStringAndSize(NULL, size + 1)
        o = PyBytes_AS_STRING(event)
        memcpy(o, PyBytes_AS_STRING(line), size)
        o[size] = b'\n'
        out[i] = event
    return out


def text_lines_into(list lines, bytearray out not None, array.array ends not None, base):
    """See ``envelope.EnvelopeKernel.text_lines_into``."""
    cdef Py_ssize_t n = len(lines), i, size, start = PyByteArray_GET_SIZE(out)
    cdef object line
    cdef char* o
    cdef uint64_t offset = check_out("text_lines_into", out, ends, base)
    for line in lines:
        if not PyBytes_CheckExact(line):  # the pure twin says what is wrong with it
            return _envelope.text_lines_into(lines, out, ends, base)
    cdef _Out w = open_out(out, n)
    try:
        w.reserve(expected_size(lines, n))
        for i in range(n):
            if i >= len(lines):
                raise ValueError("text_lines_into: the list changed during the call")
            line = lines[i]
            if not PyBytes_CheckExact(line):
                raise ValueError("text_lines_into: the list changed during the call")
            size = PyBytes_GET_SIZE(line)
            o = w.reserve(size + 1)
            memcpy(o, PyBytes_AS_STRING(line), size)
            o[size] = b'\n'
            w.used += size + 1
            w.ends[i] = w.used
        put_ends(w, ends, n, offset)
    except BaseException:
        close_out(w, start)
        raise
    close_out(w, w.used)
    return 0
