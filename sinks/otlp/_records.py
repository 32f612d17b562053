"""OTLP LogRecords, record by record (the pure-Python twin of ``_records_c.pyx``, see
``sinks/util/twin.py``): the protobuf framing or the OTLP/JSON object of each record, body as a
string when the line is valid UTF-8, else as bytes. What the fields mean is in
``sinks/otlp/encoder.py``."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Mapping, Sequence
from typing import Protocol

# Protobuf tags (field number << 3 | wire type)
LOG_RECORDS = b"\x12"  # ScopeLogs.log_records = 2, length-delimited
_TIME = b"\x09"  # LogRecord.time_unix_nano = 1, fixed64
_BODY = b"\x2a"  # LogRecord.body = 5, length-delimited
_OBSERVED = b"\x59"  # LogRecord.observed_time_unix_nano = 11, fixed64
_STRING_VALUE = b"\x0a"  # AnyValue.string_value = 1
_BYTES_VALUE = b"\x3a"  # AnyValue.bytes_value = 7
_fixed64 = struct.Struct("<Q").pack
_SMALL = 16 * 1024  # lines shorter than this take log_records' fast path
_SMALL_VARINTS: list[bytes] = []  # varint(n) for n < 2 * _SMALL (a record's size included)
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# One record's attributes, encoded, by source: (whole line, line cut at partial-max-size)
Attributes = Mapping[str, tuple[bytes, bytes]]


class RecordsKernel(Protocol):
    """The functions both twins provide: records as columns -> one encoded LogRecord each."""

    def log_records(self, times: Sequence[int], sources: Sequence[str],
                    lines: Sequence[bytes], partial: Sequence[bool], attributes: Attributes,
                    observed_ns: int) -> list[bytes]:
        """``log_record`` of each record (protobuf)."""
        ...

    def log_records_json(self, times: Sequence[int], sources: Sequence[str],
                         lines: Sequence[bytes], partial: Sequence[bool],
                         attributes: Attributes, observed_ns: int) -> list[bytes]:
        """``log_record_json`` of each record."""
        ...


def varint(n: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative int."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL_VARINTS.extend(varint(n) for n in range(2 * _SMALL))


def _utf8(line: bytes) -> str | None:
    """The line as text if it is valid UTF-8, else None."""
    try:
        return line.decode()
    except UnicodeDecodeError:
        return None


def log_record(time_ns: int, line: bytes, attrs: bytes, observed_ns: int) -> bytes:
    """One LogRecord with its ``ScopeLogs.log_records`` tag and length; ``attrs`` its encoded
    attributes. A time of 0 is left out, as protobuf leaves out a default."""
    text = _utf8(line)
    value = (_STRING_VALUE if text is not None else _BYTES_VALUE) + varint(len(line)) + line
    parts = [_TIME + _fixed64(time_ns)] if time_ns else []
    parts += [_BODY, varint(len(value)), value, attrs]
    if observed_ns:
        parts += [_OBSERVED, _fixed64(observed_ns)]
    record = b"".join(parts)
    return LOG_RECORDS + varint(len(record)) + record


def log_record_json(time_ns: int, line: bytes, attrs: bytes, observed_ns: int) -> bytes:
    """One LogRecord in OTLP/JSON; ``attrs`` the members of its attributes array."""
    text = _utf8(line)
    if text is not None:
        body = '{"stringValue":' + dumps(text) + "}"
    else:
        body = '{"bytesValue":"' + base64.b64encode(line).decode() + '"}'
    return (f'{{"timeUnixNano":"{time_ns}","observedTimeUnixNano":"{observed_ns}",'
            f'"body":{body},"attributes":[').encode() + attrs + b"]}"


def log_records(times: Sequence[int], sources: Sequence[str], lines: Sequence[bytes],
                partial: Sequence[bool], attributes: Attributes,
                observed_ns: int) -> list[bytes]:
    """``log_record`` of each record given as columns, ``attributes[source][partial]`` its
    attributes; records that are whole, timed and under 16 KiB (the usual) take a path with no
    per-record calls but the packing."""
    if not observed_ns:
        return [log_record(t, line, attributes[s][p], observed_ns)
                for t, s, line, p in zip(times, sources, lines, partial, strict=True)]
    observed = _OBSERVED + _fixed64(observed_ns)
    whole = {source: pair[0] for source, pair in attributes.items()}
    small = _SMALL_VARINTS
    out: list[bytes] = []
    append = out.append
    for time_ns, source, line, cut in zip(times, sources, lines, partial, strict=True):
        size = len(line)
        if cut or not time_ns or size >= _SMALL or not (line.isascii() or
                                                        _utf8(line) is not None):
            append(log_record(time_ns, line, attributes[source][cut], observed_ns))
            continue
        body_size = size + len(small[size]) + 1
        record = b"".join((_TIME, _fixed64(time_ns), _BODY, small[body_size], _STRING_VALUE,
                           small[size], line, whole[source], observed))
        append(LOG_RECORDS + small[len(record)] + record)
    return out


def log_records_json(times: Sequence[int], sources: Sequence[str], lines: Sequence[bytes],
                     partial: Sequence[bool], attributes: Attributes,
                     observed_ns: int) -> list[bytes]:
    """``log_record_json`` of each record given as columns."""
    out: list[bytes] = []
    append = out.append
    head = '","observedTimeUnixNano":"' + str(observed_ns) + '","body":{"stringValue":'
    tail = b"]}"
    for time_ns, source, line, cut in zip(times, sources, lines, partial, strict=True):
        text = _utf8(line)
        if text is None:
            append(log_record_json(time_ns, line, attributes[source][cut], observed_ns))
            continue
        append(('{"timeUnixNano":"' + str(time_ns) + head + dumps(text)
                + '},"attributes":[').encode() + attributes[source][cut] + tail)
    return out
