# Included by _envelope_c.pyx (one extension): the time formats of sinks/util/timefmt.py in C,
# each writing at most TIME_ROOM bytes at ``o`` and returning the end.

from libc.math cimport ldexp
from libc.stdint cimport int64_t, uint64_t
from libc.stdio cimport snprintf


cdef const char* DIGIT_PAIRS = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"


cdef inline char* put_digits(char* o, uint64_t v, int width) noexcept nogil:
    """``v`` in decimal, zero-padded to ``width`` (at least 1) digits, more if it needs them;
    two digits a step (one division by 100 instead of two by 10)."""
    cdef char tmp[24]
    cdef int n = 24
    cdef uint64_t r
    while v >= 100:
        r = v % 100
        v //= 100
        n -= 2
        tmp[n] = DIGIT_PAIRS[2 * r]
        tmp[n + 1] = DIGIT_PAIRS[2 * r + 1]
    if v >= 10:
        n -= 2
        tmp[n] = DIGIT_PAIRS[2 * v]
        tmp[n + 1] = DIGIT_PAIRS[2 * v + 1]
    else:
        n -= 1
        tmp[n] = <char>(c'0' + v)
    while 24 - n < width:
        n -= 1
        tmp[n] = c'0'
    memcpy(o, tmp + n, 24 - n)
    return o + 24 - n


cdef char* put_hec_time(char* o, int64_t t) noexcept nogil:
    """timefmt.hec_time: "%f" of float64(t) / 1e9, rounded half-even from the exact double, as
    Go's and Python's formatting do. Exact integer steps for q >= 256 (the double's fraction is
    a multiple of 2**-44 there); snprintf for the rest."""
    cdef double q = <double>t / 1e9
    cdef uint64_t s, fraction, num, micros, rem
    cdef uint64_t half = (<uint64_t>1) << (FRACTION_BITS - 1)
    if q < 256.0:
        return o + snprintf(o, TIME_ROOM, b"%f", q)
    s = <uint64_t>q
    fraction = <uint64_t>ldexp(q - <double>s, FRACTION_BITS)
    num = fraction * 1000000
    micros = num >> FRACTION_BITS
    rem = num & ((half << 1) - 1)
    if rem > half or (rem == half and (micros & 1)):
        micros += 1
        if micros == 1000000:
            micros = 0
            s += 1
    o = put_digits(o, s, 1)
    o[0] = c'.'
    return put_digits(o + 1, micros, 6)


cdef char* put_epoch_ms(char* o, int64_t t) noexcept nogil:
    """timefmt.epoch_ms: t // 1_000_000 (floor, as Python divides), in decimal."""
    cdef int64_t ms = t // 1000000  # C truncates toward zero
    if t % 1000000 < 0:
        ms -= 1
    if ms < 0:
        o[0] = c'-'
        return put_digits(o + 1, <uint64_t>(-ms), 1)
    return put_digits(o, <uint64_t>ms, 1)


cdef char* put_rfc3339nano(char* o, int64_t t) noexcept nogil:
    """timefmt.rfc3339nano: "YYYY-MM-DDTHH:MM:SS[.fraction]Z" in UTC, the fraction's trailing
    zeros dropped. Days to a civil date: H. Hinnant's ``civil_from_days``. An int64 of ns is
    always within the years 1677-2262."""
    cdef int64_t secs = t // 1000000000, nanos, days, sod, z, era, doe, yoe, y, doy, mp, d, m
    if t % 1000000000 < 0:
        secs -= 1
    nanos = t - secs * 1000000000
    days = secs // 86400
    if secs % 86400 < 0:
        days -= 1
    sod = secs - days * 86400
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    o = put_digits(o, <uint64_t>y, 4)
    o[0] = c'-'
    o = put_digits(o + 1, <uint64_t>m, 2)
    o[0] = c'-'
    o = put_digits(o + 1, <uint64_t>d, 2)
    o[0] = c'T'
    o = put_digits(o + 1, <uint64_t>(sod // 3600), 2)
    o[0] = c':'
    o = put_digits(o + 1, <uint64_t>(sod // 60 % 60), 2)
    o[0] = c':'
    o = put_digits(o + 1, <uint64_t>(sod % 60), 2)
    if nanos:
        o[0] = c'.'
        o = put_digits(o + 1, <uint64_t>nanos, 9)
        while (o - 1)[0] == c'0':
            o -= 1
    o[0] = c'Z'
    return o + 1


cdef inline char* put_time(char* o, int64_t t, int kind) noexcept nogil:
    if kind == TIME_HEC:
        return put_hec_time(o, t)
    if kind == TIME_MS:
        return put_epoch_ms(o, t)
    return put_rfc3339nano(o, t)
