# cython: language_level=3, boundscheck=False, wraparound=False
"""OTLP LogRecords, compiled (twin of ``_records.py``, same results byte for byte): the
protobuf framing, or the OTLP/JSON object with its body's string literal, of each record in C.
A record it does not handle (a time outside 0 to 2**64-1, a JSON body of invalid UTF-8 to
base64, anything not bytes, int, bool) goes to the pure ``_records``."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from ..util cimport _wire

from sinks.otlp import _records

_log_record = _records.log_record
_log_record_json = _records.log_record_json

cdef bytes _JSON_TIME = b'{"timeUnixNano":"'
cdef bytes _JSON_OBSERVED = b'","observedTimeUnixNano":"'
cdef bytes _JSON_BODY = b'","body":{"stringValue":'
cdef bytes _JSON_ATTRIBUTES = b'},"attributes":['
cdef bytes _JSON_END = b"]}"


cdef inline unsigned char* _copy(unsigned char* w, bytes data):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    memcpy(w, PyBytes_AS_STRING(data), n)
    return w + n


cdef object _protobuf(uint64_t t, const unsigned char* p, Py_ssize_t n, bytes attrs,
                      uint64_t observed):
    cdef Py_ssize_t value = 1 + _wire.varint_size(<uint64_t>n) + n
    cdef Py_ssize_t a = PyBytes_GET_SIZE(attrs)
    cdef Py_ssize_t record = ((9 if t else 0) + 1 + _wire.varint_size(<uint64_t>value) + value
                              + a + (9 if observed else 0))
    cdef bytes out = PyBytes_FromStringAndSize(
        NULL, 1 + _wire.varint_size(<uint64_t>record) + record)
    cdef unsigned char* w = <unsigned char*>PyBytes_AS_STRING(out)
    w[0] = 0x12  # ScopeLogs.log_records = 2
    w = _wire.write_varint(w + 1, <uint64_t>record)
    if t:
        w[0] = 0x09  # LogRecord.time_unix_nano = 1, fixed64
        w = _wire.write_fixed64_le(w + 1, t)
    w[0] = 0x2A  # LogRecord.body = 5
    w = _wire.write_varint(w + 1, <uint64_t>value)
    # AnyValue.string_value = 1 (valid UTF-8), else bytes_value = 7
    w[0] = 0x0A if _wire.utf8_valid(p, n) else 0x3A
    w = _wire.write_varint(w + 1, <uint64_t>n)
    memcpy(w, p, n)
    w = _copy(w + n, attrs)
    if observed:
        w[0] = 0x59  # LogRecord.observed_time_unix_nano = 11, fixed64
        _wire.write_fixed64_le(w + 1, observed)
    return out


cdef object _json(uint64_t t, const unsigned char* p, Py_ssize_t n, bytes attrs,
                  uint64_t observed):
    cdef Py_ssize_t invalid = 0
    cdef Py_ssize_t literal = _wire.json_string_size(p, n, &invalid)
    if invalid:
        return None  # not UTF-8: a bytesValue in base64, the pure twin's
    cdef Py_ssize_t total = (len(_JSON_TIME) + _wire.decimal_size(t) + len(_JSON_OBSERVED)
                             + _wire.decimal_size(observed) + len(_JSON_BODY) + literal
                             + len(_JSON_ATTRIBUTES) + PyBytes_GET_SIZE(attrs) + len(_JSON_END))
    cdef bytes out = PyBytes_FromStringAndSize(NULL, total)
    cdef unsigned char* w = <unsigned char*>PyBytes_AS_STRING(out)
    w = _wire.write_decimal(_copy(w, _JSON_TIME), t)
    w = _wire.write_decimal(_copy(w, _JSON_OBSERVED), observed)
    w = _wire.write_json_string(_copy(w, _JSON_BODY), p, n, literal)
    w = _copy(_copy(w, _JSON_ATTRIBUTES), attrs)
    _copy(w, _JSON_END)
    return out


cdef list _encode(times, sources, lines, partial, attributes, observed_ns, bint as_json):
    cdef list ts = times, ss = sources, ls = lines, ps = partial
    cdef list out = []
    cdef Py_ssize_t i
    cdef uint64_t observed = observed_ns
    cdef object line, time_ns, cut, pair, attrs, result
    for i in range(len(ls)):
        line, time_ns, cut = ls[i], ts[i], ps[i]
        pair = attributes.get(ss[i])
        result = None
        if (type(line) is bytes and type(time_ns) is int and 0 <= time_ns < 2 ** 64
                and type(cut) is bool and type(pair) is tuple and len(<tuple>pair) == 2):
            attrs = (<tuple>pair)[1 if cut is True else 0]
            if type(attrs) is bytes:
                if as_json:
                    result = _json(time_ns, <const unsigned char*>PyBytes_AS_STRING(line),
                                   PyBytes_GET_SIZE(line), attrs, observed)
                else:
                    result = _protobuf(time_ns, <const unsigned char*>PyBytes_AS_STRING(line),
                                       PyBytes_GET_SIZE(line), attrs, observed)
        if result is None:
            encode = _log_record_json if as_json else _log_record
            result = encode(time_ns, line, attributes[ss[i]][cut], observed_ns)
        out.append(result)
    return out


cdef bint _columns(times, sources, lines, partial, attributes, observed_ns):
    """Whether ``_encode`` takes these: lists of one length, a dict, a time in range."""
    return (type(times) is list and type(sources) is list and type(lines) is list
            and type(partial) is list and type(attributes) is dict
            and len(times) == len(sources) == len(lines) == len(partial)
            and type(observed_ns) is int and 0 <= observed_ns < 2 ** 64)


def log_records(times, sources, lines, partial, attributes, observed_ns):
    """``_records.log_record`` of each record given as columns (protobuf)."""
    if not _columns(times, sources, lines, partial, attributes, observed_ns):
        return _records.log_records(times, sources, lines, partial, attributes, observed_ns)
    return _encode(times, sources, lines, partial, attributes, observed_ns, False)


def log_records_json(times, sources, lines, partial, attributes, observed_ns):
    """``_records.log_record_json`` of each record given as columns."""
    if not _columns(times, sources, lines, partial, attributes, observed_ns):
        return _records.log_records_json(times, sources, lines, partial, attributes,
                                         observed_ns)
    return _encode(times, sources, lines, partial, attributes, observed_ns, True)
