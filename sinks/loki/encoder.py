"""Records -> Loki push bodies: a snappy-compressed protobuf ``PushRequest`` (what Loki's Docker
driver sends) or its JSON form. Hand-encoded protobuf; ``sinks`` never imports ``proto/``.

Wire source: grafana/loki ``pkg/push/push.proto`` (``PushRequest{repeated StreamAdapter
streams = 1}``, ``StreamAdapter{string labels = 1; repeated EntryAdapter entries = 2}``,
``EntryAdapter{google.protobuf.Timestamp timestamp = 1; string line = 2}``) and Loki's HTTP API
docs for ``POST /loki/api/v1/push`` (snappy *block* format, not the framed one).

One encoded event, as the delivery layer batches (and dead-letters) it:
``source`` (ASCII) + ``b"\\0"`` + the time as 8 bytes big-endian unsigned ns + the entry: the
protobuf field ``entries`` (tag 2, one ``EntryAdapter``), or for JSON the value pair
``["<unix ns>","<line>"]`` (several of either for a line cut in pieces: see ``encode``).
``build_body`` groups the events of a request into one stream per label set (the container's
labels plus ``source``), each in time order.

Lines go to Loki as they are: the protobuf ``line`` carries the raw bytes, invalid UTF-8
included, as Loki's driver sends a Go string of the raw bytes and Loki stores it unchecked. JSON
cannot carry invalid UTF-8: there each invalid byte becomes U+FFFD, as Go's JSON encoder does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import cramjam

from ..util.gojson import decode_line
from ..util.record import Record
from .config import MAX_LINE_SIZE
from .labels import label_string

_SEP = b"\0"
_HEAD = 8  # bytes of big-endian time after the separator
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# Go's unicode.IsSpace beyond ASCII: Loki's driver skips a line of nothing but these
# (``len(bytes.Fields(line)) == 0`` in loki.go)
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                      "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_ASCII_SPACE = b" \t\n\v\f\r"
_BLANK_CHECK_BYTES = 64  # a longer line of Unicode spaces is not worth the decode


def varint(n: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + varint(len(payload)) + payload


def blank(line: bytes) -> bool:
    """A line Loki's driver does not send: empty or only white space (Go's ``IsSpace``)."""
    if not line.strip(_ASCII_SPACE):
        return True
    if line.isascii() or len(line) > _BLANK_CHECK_BYTES:
        return False
    try:
        text = line.decode()
    except UnicodeDecodeError:
        return False
    return all(c in _GO_SPACE for c in text)


def entry_protobuf(time_ns: int, line: bytes) -> bytes:
    """The ``entries`` field (tag 2) holding one EntryAdapter."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    ts = (b"\x08" + varint(seconds) if seconds else b"") + (b"\x10" + varint(nanos)
                                                            if nanos else b"")
    return _field(0x12, _field(0x0A, ts) + _field(0x12, line))


def _entry_json_text(time_ns: int, text: str) -> bytes:
    return ('["' + str(time_ns) + '",' + _dumps(text) + "]").encode()


def entries_json(time_ns: int, line: bytes) -> bytes:
    """The value pairs of one line, cut (if need be) after its invalid bytes became U+FFFD
    (3 bytes each): every piece is at most MAX_LINE_SIZE bytes of UTF-8, as Loki counts a line,
    and no cut splits a character."""
    text = decode_line(line)
    data = text.encode()
    if len(data) <= MAX_LINE_SIZE:
        return _entry_json_text(time_ns, text)
    return b",".join(_entry_json_text(time_ns, piece.decode()) for piece in pieces(data))


def pieces(line: bytes, size: int = MAX_LINE_SIZE) -> list[bytes]:
    """``line`` cut into pieces of at most ``size`` bytes, each cut moved back (by up to 3
    bytes) so that it does not split a UTF-8 character."""
    out = []
    start = 0
    while len(line) - start > size:
        cut = start + size
        back = cut
        while back > cut - 3 and line[back] & 0xC0 == 0x80:  # a continuation byte
            back -= 1
        cut = back if line[back] & 0xC0 == 0xC0 else cut
        out.append(line[start:cut])
        start = cut
    out.append(line[start:])
    return out


def encode(rec: Record, *, protobuf: bool) -> bytes:
    """One event (see the module docstring); ``b""`` for a blank line (skipped by design).

    A line over MAX_LINE_SIZE (Loki's default ``max_line_size``, which Loki would refuse; for
    JSON, counted after invalid bytes became U+FFFD) is sent as several entries of the same
    time, in order, as Loki's driver sends Docker's 16 KiB pieces: one event holds them all.
    """
    line = rec.line
    if blank(line):
        return b""
    t = rec.time_ns
    if not protobuf:
        entry = entries_json(t, line)
    elif len(line) <= MAX_LINE_SIZE:
        entry = entry_protobuf(t, line)
    else:
        entry = b"".join(entry_protobuf(t, piece) for piece in pieces(line))
    return rec.source.encode() + _SEP + t.to_bytes(_HEAD, "big") + entry


def split(event: bytes) -> tuple[str, bytes, bytes]:
    """(source, 8-byte time, entry) of one event."""
    i = event.index(_SEP)
    return event[:i].decode(), event[i + 1:i + 1 + _HEAD], event[i + 1 + _HEAD:]


@dataclass(frozen=True, slots=True)
class Stream:
    """One stream of a request: its label string and the events' indices, in the order sent."""

    labels: str
    indices: tuple[int, ...]


def build_body(events: Sequence[bytes], labels_for: Callable[[str], Mapping[str, str]], *,
               protobuf: bool) -> tuple[bytes, list[Stream]]:
    """The request body for these events, and its streams.

    ``labels_for(source)`` gives a stream's labels. Streams come in the order of their first
    event; entries in a stream are sorted by time (stable: equal times keep their order). The
    protobuf body is snappy block-compressed.
    """
    by_source: dict[str, list[tuple[bytes, int, bytes]]] = {}
    for i, event in enumerate(events):
        source, ts, entry = split(event)
        by_source.setdefault(source, []).append((ts, i, entry))
    streams: list[Stream] = []
    parts: list[bytes] = []
    for source, items in by_source.items():
        if any(items[k][0] > items[k + 1][0] for k in range(len(items) - 1)):
            items.sort(key=lambda item: item[0])
        labels = labels_for(source)
        text = label_string(labels)
        streams.append(Stream(text, tuple(item[1] for item in items)))
        if protobuf:
            body = _field(0x0A, text.encode()) + b"".join(item[2] for item in items)
            parts.append(_field(0x0A, body))
        else:
            parts.append(b'{"stream":' + _dumps(dict(labels)).encode() + b',"values":['
                         + b",".join(item[2] for item in items) + b"]}")
    if protobuf:
        return bytes(cramjam.snappy.compress_raw(b"".join(parts))), streams
    return b'{"streams":[' + b",".join(parts) + b"]}", streams


def entry_line(entry: bytes, *, protobuf: bool) -> bytes:
    """The line of one encoded entry (as Loki counts its length), for matching an answer."""
    if not protobuf:
        value = json.loads(b"[" + entry + b"]")  # the first of one or more value pairs
        return str(value[0][1]).encode()
    pos = 1  # skip the entries tag
    _, pos = read_varint(entry, pos)
    while pos < len(entry):
        tag = entry[pos]
        size, pos = read_varint(entry, pos + 1)
        if tag == 0x12:
            return entry[pos:pos + size]
        pos += size
    return b""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the protobuf varint at ``data[pos]``."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos
