"""Loki push events, record by record (the pure-Python twin of ``_push_c.pyx``, see
``sinks/util/twin.py``): the blank-line check, protobuf ``EntryAdapter`` framing, JSON value
pairs and the cut of a line over ``max_line_size``. The layout of an event is in
``sinks/loki/encoder.py``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from ..util.gojson import decode_line
from .config import MAX_LINE_SIZE

SEP = b"\0"
HEAD = 8  # bytes of big-endian time after the separator
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# Go's unicode.IsSpace beyond ASCII: Loki's driver skips a line of nothing but these
# (``len(bytes.Fields(line)) == 0`` in loki.go)
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                      "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
ASCII_SPACE = b" \t\n\v\f\r"
BLANK_CHECK_BYTES = 64  # a longer line of Unicode spaces is not worth the decode
_SMALL = 4096  # varints of sizes under this come from a table (2 bytes at most)
_SMALL_VARINTS: list[bytes] = []


class PushKernel(Protocol):
    """The functions both twins provide."""

    def events(self, times: Sequence[int], sources: Sequence[str], lines: Sequence[bytes],
               protobuf: bool) -> list[bytes]:
        """``[event(t, s, l, protobuf) for t, s, l in zip(times, sources, lines)]``."""
        ...

    def streams(self, events: Sequence[bytes], protobuf: bool
                ) -> list[tuple[str, tuple[int, ...], bytes]]:
        """The events grouped by source, see ``streams`` below."""
        ...


def varint(n: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL_VARINTS.extend(varint(n) for n in range(_SMALL))


def _varint_below_2_35(n: int) -> bytes:
    """``varint(n)`` for ``0 <= n < 2**35`` (a Timestamp's nanos) without a loop."""
    if n < 1 << 21:
        return varint(n)
    if n < 1 << 28:
        return bytes((n & 0x7F | 0x80, n >> 7 & 0x7F | 0x80, n >> 14 & 0x7F | 0x80, n >> 21))
    return bytes((n & 0x7F | 0x80, n >> 7 & 0x7F | 0x80, n >> 14 & 0x7F | 0x80,
                  n >> 21 & 0x7F | 0x80, n >> 28))


def length_delimited(tag: int, payload: bytes) -> bytes:
    """A protobuf length-delimited field: tag byte, varint length, payload."""
    return bytes((tag,)) + varint(len(payload)) + payload


def blank(line: bytes) -> bool:
    """A line Loki's driver does not send: empty or only white space (Go's ``IsSpace``)."""
    if not line.strip(ASCII_SPACE):
        return True
    if line.isascii() or len(line) > BLANK_CHECK_BYTES:
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
    return length_delimited(0x12, length_delimited(0x0A, ts) + length_delimited(0x12, line))


def _entry_json_text(time_ns: int, text: str) -> bytes:
    return ('["' + str(time_ns) + '",' + dumps(text) + "]").encode()


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


def event(time_ns: int, source: str, line: bytes, protobuf: bool) -> bytes:
    """One event; ``b""`` for a blank line. A line over MAX_LINE_SIZE (for JSON, counted after
    invalid bytes became U+FFFD) is cut into several entries of the same time, in order."""
    if blank(line):
        return b""
    if not protobuf:
        entry = entries_json(time_ns, line)
    elif len(line) <= MAX_LINE_SIZE:
        entry = entry_protobuf(time_ns, line)
    else:
        entry = b"".join(entry_protobuf(time_ns, piece) for piece in pieces(line))
    return source.encode() + SEP + time_ns.to_bytes(HEAD, "big") + entry


def events(times: Sequence[int], sources: Sequence[str], lines: Sequence[bytes],
           protobuf: bool) -> list[bytes]:
    """``event`` of each record given as columns; protobuf entries of whole seconds' fields
    reused from one record to the next (records come in time order, many in one second)."""
    out: list[bytes] = []
    append = out.append
    heads: dict[str, bytes] = {}
    if not protobuf:
        for t, source, line in zip(times, sources, lines, strict=True):
            if (len(line) > MAX_LINE_SIZE or t < 0 or t >= 1 << 64 or not line.isascii()
                    or not line.strip(ASCII_SPACE)):
                append(event(t, source, line, False))  # blank, long, odd time or not ASCII
                continue
            head = heads.get(source)
            if head is None:
                head = heads[source] = source.encode() + SEP
            append(head + t.to_bytes(HEAD, "big")
                   + ('["' + str(t) + '",' + dumps(line.decode()) + "]").encode())
        return out
    small = _SMALL_VARINTS
    last_seconds = -1
    seconds_field = b""
    for t, source, line in zip(times, sources, lines, strict=True):
        size = len(line)
        if (size > _SMALL - 64 or t < 0 or t >= 1 << 64 or not line.strip(ASCII_SPACE)
                or not (line.isascii() or len(line) > BLANK_CHECK_BYTES)):
            append(event(t, source, line, True))  # blank, long, odd time or a Unicode check
            continue
        seconds, nanos = divmod(t, 1_000_000_000)
        if seconds != last_seconds:
            last_seconds = seconds
            seconds_field = b"\x08" + varint(seconds) if seconds else b""
        ts = seconds_field + b"\x10" + _varint_below_2_35(nanos) if nanos else seconds_field
        inner = b"".join((b"\x0a", small[len(ts)], ts, b"\x12", small[size], line))
        head = heads.get(source)
        if head is None:
            head = heads[source] = source.encode() + SEP
        append(b"".join((head, t.to_bytes(HEAD, "big"), b"\x12", small[len(inner)], inner)))
    return out


def split(event: bytes) -> tuple[str, bytes, bytes]:
    """(source, 8-byte time, entry) of one event."""
    i = event.index(SEP)
    return event[:i].decode(), event[i + 1:i + 1 + HEAD], event[i + 1 + HEAD:]


def streams(events: Sequence[bytes], protobuf: bool) -> list[tuple[str, tuple[int, ...], bytes]]:
    """``(source, indices, entries)`` per source, in the order of each source's first event:
    the indices of its events sorted by time (stable: equal times keep their order) and their
    entries in that order, joined (protobuf: one after the other; JSON: with commas)."""
    by_source: dict[str, list[tuple[bytes, int, bytes]]] = {}
    for i, one in enumerate(events):
        source, ts, entry = split(one)
        by_source.setdefault(source, []).append((ts, i, entry))
    out = []
    glue = b"" if protobuf else b","
    for source, items in by_source.items():
        if any(items[k][0] > items[k + 1][0] for k in range(len(items) - 1)):
            items.sort(key=lambda item: item[0])
        out.append((source, tuple(item[1] for item in items),
                    glue.join(item[2] for item in items)))
    return out
