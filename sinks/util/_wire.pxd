# cython: language_level=3
"""Inline C helpers of the compiled encoders (``sinks/*/_*_c.pyx``): protobuf varints, fixed64,
decimals, UTF-8 validation as Python's strict decoder does it, and JSON string literals as
Python's ``json`` module writes them with ``ensure_ascii=False``. Every reader takes the
buffer's length and never reads past it; every writer writes what its ``*_size`` measured."""

from libc.stdint cimport uint64_t
from libc.string cimport memcpy


cdef inline Py_ssize_t varint_size(uint64_t n) noexcept nogil:
    """Bytes of the protobuf varint of ``n``."""
    cdef Py_ssize_t size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


cdef inline unsigned char* write_varint(unsigned char* out, uint64_t n) noexcept nogil:
    while n >= 0x80:
        out[0] = <unsigned char>((n & 0x7F) | 0x80)
        out += 1
        n >>= 7
    out[0] = <unsigned char>n
    return out + 1


cdef inline unsigned char* write_fixed64_le(unsigned char* out, uint64_t n) noexcept nogil:
    cdef int k
    for k in range(8):
        out[k] = <unsigned char>(n >> (8 * k))
    return out + 8


cdef inline unsigned char* write_fixed64_be(unsigned char* out, uint64_t n) noexcept nogil:
    cdef int k
    for k in range(8):
        out[k] = <unsigned char>(n >> (8 * (7 - k)))
    return out + 8


cdef inline uint64_t read_fixed64_be(const unsigned char* p) noexcept nogil:
    """The 8 bytes at ``p`` (the caller checked there are 8) as a big-endian uint64."""
    cdef uint64_t n = 0
    cdef int k
    for k in range(8):
        n = n << 8 | p[k]
    return n


cdef inline Py_ssize_t decimal_size(uint64_t n) noexcept nogil:
    """Digits of ``str(n)``."""
    cdef Py_ssize_t size = 1
    while n >= 10:
        n //= 10
        size += 1
    return size


cdef inline unsigned char* write_decimal(unsigned char* out, uint64_t n) noexcept nogil:
    cdef Py_ssize_t size = decimal_size(n), k
    for k in range(size - 1, -1, -1):
        out[k] = <unsigned char>(48 + n % 10)
        n //= 10
    return out + size


cdef inline Py_ssize_t utf8_sequence(const unsigned char* p, Py_ssize_t i,
                                     Py_ssize_t n) noexcept nogil:
    """Length (1 to 4) of the valid UTF-8 character starting at ``p[i]`` (``i < n``), or 0 if
    none starts there: the well-formed sequences of Unicode's Table 3-7, which are what
    Python's strict UTF-8 decoder accepts (no overlongs, no surrogates, nothing over
    U+10FFFF)."""
    cdef unsigned char b = p[i]
    cdef unsigned char lo = 0x80, hi = 0xBF  # the second byte's range
    cdef Py_ssize_t need, k
    if b < 0x80:
        return 1
    if b < 0xC2:
        return 0
    if b < 0xE0:
        need = 1
    elif b < 0xF0:  # E0: no overlong; ED: no surrogate
        need = 2
        lo = 0xA0 if b == 0xE0 else 0x80
        hi = 0x9F if b == 0xED else 0xBF
    elif b < 0xF5:  # F0: no overlong; F4: nothing over U+10FFFF
        need = 3
        lo = 0x90 if b == 0xF0 else 0x80
        hi = 0x8F if b == 0xF4 else 0xBF
    else:
        return 0
    if n - i <= need:
        return 0
    if p[i + 1] < lo or p[i + 1] > hi:
        return 0
    for k in range(2, need + 1):
        if p[i + k] < 0x80 or p[i + k] > 0xBF:
            return 0
    return need + 1


cdef inline bint utf8_valid(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    """Whether ``p[:n]`` is valid UTF-8 (``bytes.decode()`` would not raise)."""
    cdef Py_ssize_t i = 0, k
    while i < n:
        if p[i] < 0x80:
            i += 1
            continue
        k = utf8_sequence(p, i, n)
        if k == 0:
            return False
        i += k
    return True


cdef inline Py_ssize_t _escaped_ascii_size(unsigned char b) noexcept nogil:
    """Bytes of ASCII ``b`` (< 0x80) in a JSON string: 1, or 2 for '"' '\\' and \\b \\t \\n \\f
    \\r, or 6 for another control character (\\u00XX)."""
    cdef const char* sizes = (b"6666666622262266666666666666666611211111111111111111111111111111"
                              b"1111111111111111111111111111211111111111111111111111111111111111")
    return sizes[b] - 48


cdef inline Py_ssize_t json_string_size(const unsigned char* p, Py_ssize_t n,
                                        Py_ssize_t* invalid) noexcept nogil:
    """Bytes of the JSON string literal (quotes included) that ``json.dumps(text,
    ensure_ascii=False)`` writes, UTF-8 encoded, for ``text`` = ``p[:n]`` decoded with one
    U+FFFD per byte that starts no valid character (``gojson.decode_line``); ``invalid[0]`` is
    set to the number of such bytes."""
    cdef Py_ssize_t i = 0, size = 2, bad = 0, k
    cdef unsigned char b
    while i < n:
        b = p[i]
        if b < 0x80:
            size += _escaped_ascii_size(b)
            i += 1
            continue
        k = utf8_sequence(p, i, n)
        if k == 0:
            size += 3
            bad += 1
            i += 1
        else:
            size += k
            i += k
    invalid[0] = bad
    return size


cdef inline unsigned char* write_json_string(unsigned char* out, const unsigned char* p,
                                             Py_ssize_t n, Py_ssize_t literal) noexcept nogil:
    """Write what ``json_string_size`` measured (``literal`` bytes)."""
    cdef const char* hexdigits = b"0123456789abcdef"
    cdef Py_ssize_t i = 0, k, j
    cdef unsigned char b
    out[0] = 34
    out += 1
    if literal == n + 2:  # nothing escaped, nothing replaced: the bytes as they are
        memcpy(out, p, n)
        out[n] = 34
        return out + n + 1
    while i < n:
        b = p[i]
        if b < 0x80:
            i += 1
            if b >= 0x20 and b != 34 and b != 92:
                out[0] = b
                out += 1
                continue
            out[0] = 92
            if b == 34 or b == 92:
                out[1] = b
            elif b == 8:
                out[1] = 98  # b
            elif b == 9:
                out[1] = 116  # t
            elif b == 10:
                out[1] = 110  # n
            elif b == 12:
                out[1] = 102  # f
            elif b == 13:
                out[1] = 114  # r
            else:
                out[1] = 117  # u00XX
                out[2] = 48
                out[3] = 48
                out[4] = <unsigned char>hexdigits[b >> 4]
                out[5] = <unsigned char>hexdigits[b & 15]
                out += 4
            out += 2
            continue
        k = utf8_sequence(p, i, n)
        if k == 0:
            out[0] = 0xEF  # U+FFFD
            out[1] = 0xBF
            out[2] = 0xBD
            out += 3
            i += 1
        else:
            for j in range(k):
                out[j] = p[i + j]
            out += k
            i += k
    out[0] = 34
    return out + 1
