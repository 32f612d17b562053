"""Envelope kernel, pure-Python twin (see ``envelope.py``), and the ``Layout`` both twins fill:
the records whose lines are plain are one bytes ``%`` format of per-source templates; the
others are declined."""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import accumulate, compress, islice, repeat
from operator import floordiv, is_, truediv
from typing import cast

from .body import append_events
from .gojson import PLAIN_CHARS
from .timefmt import NS_PER_MS, rfc3339nano

ESCAPE_GO = 0  # gojson.go_string over gojson.go_text (HEC)
ESCAPE_JSON = 1  # json.dumps(decode_line(line), ensure_ascii=False) (Datadog, HTTP)
TIME_HEC = 0  # timefmt.hec_time: Go's "%f" of ns / 1e9
TIME_MS = 1  # timefmt.epoch_ms, as a JSON number
TIME_RFC3339 = 2  # timefmt.rfc3339nano


@dataclass(slots=True)
class Layout:
    """One container's envelope in one format: the fixed byte pieces and how to fill them.

    ``heads`` maps a source ("stdout", "stderr") to its (head, middle) pieces; a record with
    another source is declined. ``json_lines`` declines lines HEC's json format could embed as
    JSON (``gojson.raw_json``); ``skip_blank`` makes a blank line (Go's ``strings.TrimSpace``
    empty) an empty event, as HEC's raw format does; ``max_line`` declines lines whose text
    could exceed that many UTF-8 bytes (0: no limit; Datadog truncates past 1 MB).
    """

    heads: dict[str, tuple[bytes, bytes]]
    tails: tuple[bytes, bytes]  # (whole record, partial record)
    escape: int = ESCAPE_GO
    time: int = TIME_HEC
    time_first: bool = False
    json_lines: bool = False
    skip_blank: bool = False
    max_line: int = 0
    # The pure twin's bytes-% templates, made on first use (see envelopes).
    templates: dict[str, bytes] = field(default_factory=dict)


Events = list[bytes | None]

_TIME_SPEC = {TIME_HEC: b"%f", TIME_MS: b"%d", TIME_RFC3339: b"%s"}
# What can open a JSON value in gojson.raw_json: such a line may not stay a string.
_JSON_START = frozenset(bytes([c]) for c in b' \t\n\r{["-0123456789tfn')
# A line json.loads surely refuses though it opens like JSON: json's NUMBER_RE (atomic: its
# longest match, as json takes it) then white space and an ASCII byte ("Extra data"); "-" not
# before a digit ("-Infinity" is refused by raw_json's parse_constant); t/f/n not opening
# true/false/null. The compiled twin's may_be_json is the same test.
_NOT_JSON = re.compile(rb"(?>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)[ \t\n\r]*"
                       rb"[\x00-\x08\x0b\x0c\x0e-\x1f!-\x7f]|-(?![0-9])|t(?!rue)|f(?!alse)|n(?!ull)")
_SEPARATOR = b"\0"  # plain lines and escaped pieces cannot hold a NUL


def _template(layout: Layout, source: str) -> bytes:
    head, middle = (piece.replace(b"%", b"%%") for piece in layout.heads[source])
    time = _TIME_SPEC[layout.time]
    first, second = (time, b"%s") if layout.time_first else (b"%s", time)
    tail = layout.tails[0].replace(b"%", b"%%")
    return head + first + middle + second + tail + _SEPARATOR


def envelopes(layout: Layout, times: list[int], sources: list[str], lines: list[bytes],
              partial: list[bool]) -> tuple[Events, int] | None:
    """See ``envelope.EnvelopeKernel.envelopes``. Plain lines (``gojson.PLAIN_CHARS``) escape
    the same in Go and Python and need no decoding, and Python's "%f" is Go's: the records are
    ``b"".join(templates) % (line, time, ...)``, cut apart at NULs. Declined (None): a line that
    is not plain, a partial record (if the tails differ), a source without pieces, a line that
    ``json_lines``, ``skip_blank`` or ``max_line`` treat apart; the whole batch (None) when more
    than half of it is declined."""
    n = len(lines)
    if len(times) != n or len(sources) != n or len(partial) != n:
        raise ValueError("envelopes: the record columns differ in length")
    if not n:
        return [], 0
    if not b"".join(lines).translate(None, PLAIN_CHARS) and not _apart(layout, lines, partial):
        events = _format(layout, times, sources, lines)
        return None if events is None else (events, 0)
    keep = _simple(layout, lines, partial)
    taken = list(compress(range(n), keep))
    if len(taken) * 2 < n:
        return None
    events = _format(layout, [times[i] for i in taken], [sources[i] for i in taken],
                     [lines[i] for i in taken])
    if events is None:
        return None
    out: Events = [None] * n
    for i, event in zip(taken, events, strict=True):
        out[i] = event
    return out, n - len(taken)


def _apart(layout: Layout, lines: list[bytes], partial: list[bool]) -> bool:
    """Whether any record of a batch of plain lines needs the per-record path."""
    if layout.tails[0] != layout.tails[1] and any(partial):
        return True
    if layout.max_line and max(map(len, lines)) > layout.max_line:  # plain: 1 byte a char
        return True
    if layout.json_lines and not all(_strings(lines)):
        return True
    return layout.skip_blank and b"" in map(bytes.strip, lines, repeat(b" "))


def _strings(lines: list[bytes]) -> list[bool]:
    """Per line: whether gojson.raw_json surely refuses it (it stays a JSON string)."""
    return [line[:1] not in _JSON_START or _NOT_JSON.match(line) is not None for line in lines]


def _simple(layout: Layout, lines: list[bytes], partial: list[bool]) -> list[bool]:
    """Per record: whether ``_format`` can take it (see ``_apart``)."""
    keep = [not rest for rest in map(bytes.translate, lines, repeat(None), repeat(PLAIN_CHARS))]
    if layout.tails[0] != layout.tails[1]:
        keep = [k and not p for k, p in zip(keep, partial, strict=True)]
    if layout.max_line:
        keep = [k and len(line) <= layout.max_line for k, line in zip(keep, lines, strict=True)]
    if layout.json_lines:
        keep = [k and string for k, string in zip(keep, _strings(lines), strict=True)]
    if layout.skip_blank:
        keep = [k and bool(line.strip(b" ")) for k, line in zip(keep, lines, strict=True)]
    return keep


def _format(layout: Layout, times: list[int], sources: list[str],
            lines: list[bytes]) -> Events | None:
    """The events of records _simple takes; None if a source has no pieces."""
    n = len(lines)
    templates = layout.templates
    if len(templates) < len(layout.heads):
        for source in layout.heads:
            templates[source] = _template(layout, source)
    try:
        body = b"".join(map(templates.__getitem__, sources))
    except (KeyError, TypeError):  # a source without pieces
        return None
    if layout.time == TIME_HEC:
        stamps: Iterable[object] = map(truediv, times, repeat(1e9))
    elif layout.time == TIME_MS:
        stamps = map(floordiv, times, repeat(NS_PER_MS))
    else:
        stamps = "\0".join(map(rfc3339nano, times)).encode().split(b"\0")
    args: list[object] = [None] * (2 * n)
    args[0::2], args[1::2] = (stamps, lines) if layout.time_first else (lines, stamps)
    return (body % tuple(args)).split(_SEPARATOR)[:-1]  # type: ignore[return-value]


def envelopes_into(layout: Layout, times: list[int], sources: list[str], lines: list[bytes],
                   partial: list[bool], out: bytearray, ends: array[int], base: int,
                   sep: bytes, fallback: Callable[[int], bytes]) -> int:
    """See ``envelope.EnvelopeKernel.envelopes_into``: ``envelopes``, the declined records
    encoded by ``fallback``, appended in order."""
    _check_out(out, ends, base, "envelopes_into")

    def declined(i: int) -> bytes:
        event = fallback(i)
        if type(event) is not bytes:
            raise TypeError("envelopes_into: the fallback must answer bytes")
        return event

    answer = envelopes(layout, times, sources, lines, partial)
    if answer is None:
        events: Events = [declined(i) for i in range(len(lines))]
    else:
        events, count = answer
        if count:
            for i in compress(range(len(events)), map(is_, events, repeat(None))):
                events[i] = declined(i)
    return append_events(out, ends, base, cast(list[bytes], events), sep)


def _check_out(out: bytearray, ends: array[int], base: int, name: str) -> None:
    if type(out) is not bytearray or not isinstance(ends, array) or ends.typecode != "Q":
        raise TypeError(f"{name}: a bytearray and an array('Q') are needed")
    if base < 0:
        raise ValueError(f"{name}: a negative base")


def text_lines_into(lines: list[bytes], out: bytearray, ends: array[int], base: int) -> int:
    """See ``envelope.EnvelopeKernel.text_lines_into``."""
    _check_out(out, ends, base, "text_lines_into")
    if lines:
        start = len(out)
        out += b"\n".join(lines)
        out += b"\n"
        ends.extend(islice(accumulate(map(len, lines), add_newline, initial=start + base), 1,
                           None))
    return 0


def add_newline(total: int, length: int) -> int:
    return total + length + 1


def text_lines(lines: list[bytes]) -> list[bytes]:
    """See ``envelope.EnvelopeKernel.text_lines``."""
    return [line + b"\n" for line in lines]
