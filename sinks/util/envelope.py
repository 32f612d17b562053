"""Batch envelope encoding for the JSON sinks (HEC, Datadog, HTTP): a container's ``Layout`` and
the kernel (``_envelope`` / ``_envelope_c``, see ``twin``) that fills it with a batch's records.

Every event of a layout is five pieces: ``head`` and ``middle`` (both chosen by the record's
source), the escaped line and the formatted time (in the order ``time_first`` says), and the tail
(one for whole records, one for ``partial`` ones):

    head + line + middle + time + tail      or      head + time + middle + line + tail

The line is escaped into a JSON string body (no quotes: the pieces carry them) as Go's
encoding/json writes it (``ESCAPE_GO``, see ``gojson.go_string``) or as Python's json with
``ensure_ascii=False`` writes ``gojson.decode_line``'s text (``ESCAPE_JSON``). The kernel may
decline a record (``None`` in its answer, or ``None`` for the whole batch); ``encode_batch`` has
the sink's per-record encoder take those, so the bytes are always the per-record encoder's.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from itertools import compress, repeat
from operator import is_
from typing import Protocol, cast

from . import _envelope
from ._envelope import ESCAPE_GO, ESCAPE_JSON, TIME_HEC, TIME_MS, TIME_RFC3339, Events, Layout
from .body import Body
from .record import Record, Records
from .twin import Twin, twin

__all__ = ["ESCAPE_GO", "ESCAPE_JSON", "KERNEL", "TIME_HEC", "TIME_MS", "TIME_RFC3339",
           "EnvelopeKernel", "Events", "Layout", "encode_batch", "encode_into", "text_into"]


class EnvelopeKernel(Protocol):
    """The kernel's functions (both twins)."""

    def envelopes(self, layout: Layout, times: list[int], sources: list[str],
                  lines: list[bytes], partial: list[bool]) -> tuple[Events, int] | None:
        """One event per record, ``None`` for a record declined, and how many were declined;
        or None when the whole batch is declined. The columns have one entry per record
        (ValueError if not)."""
        ...

    def text_lines(self, lines: list[bytes]) -> list[bytes]:
        """Each line with a newline after it (the HTTP sink's text format)."""
        ...

    def envelopes_into(self, layout: Layout, times: list[int], sources: list[str],
                       lines: list[bytes], partial: list[bool], out: bytearray,
                       ends: array[int], base: int, sep: bytes,
                       fallback: Callable[[int], bytes]) -> int:
        """``envelopes``' events written to the end of ``out``, each followed by ``sep`` (none
        after an empty event), each one's end offset in ``out`` plus ``base`` (>= 0) appended
        to ``ends`` (an ``array('Q')``);
        a record declined is ``fallback(i)``'s bytes there, ``i`` its index. Returns how many
        events are empty. ValueError as ``envelopes``; TypeError if ``out`` is not a bytearray,
        ``ends`` not an ``array('Q')`` or ``fallback`` answers other than bytes. On an error
        ``out`` and ``ends`` are as they were."""
        ...

    def text_lines_into(self, lines: list[bytes], out: bytearray, ends: array[int],
                        base: int) -> int:
        """``text_lines``' events written to the end of ``out`` and their end offsets plus
        ``base`` appended to ``ends`` (an ``array('Q')``); returns 0 (no event is empty)."""
        ...


KERNEL: Twin[EnvelopeKernel] = twin(_envelope, "sinks.util._envelope_c")


def encode_batch(layout: Layout | None, recs: Records,
                 encode: Callable[[Record], bytes]) -> list[bytes]:
    """``[encode(r) for r in recs]``, the records the kernel handles encoded by it (none if
    ``layout`` is None)."""
    if layout is None:
        return [encode(rec) for rec in recs]
    answer = KERNEL.active.envelopes(layout, recs.times, recs.sources, recs.lines, recs.partial)
    if answer is None:
        return [encode(rec) for rec in recs]
    events, declined = answer
    if declined:
        times, sources, lines, partial = recs.times, recs.sources, recs.lines, recs.partial
        for i in compress(range(len(events)), map(is_, events, repeat(None))):
            events[i] = encode(Record(times[i], sources[i], lines[i], partial[i]))
    return cast(list[bytes], events)  # no None left in it


def encode_into(layout: Layout | None, recs: Records, encode: Callable[[Record], bytes],
                body: Body) -> None:
    """``body.extend(encode_batch(layout, recs, encode))`` without a bytes object per event:
    the kernel writes the records it handles straight into ``body``, ``encode`` the others."""
    if layout is None or body.listed is not None:  # no kernel, or a body of listed events
        body.extend(encode_batch(layout, recs, encode))
        return
    times, sources, lines, partial = recs.times, recs.sources, recs.lines, recs.partial

    def fallback(i: int) -> bytes:
        return encode(Record(times[i], sources[i], lines[i], partial[i]))

    body.empty += KERNEL.active.envelopes_into(layout, times, sources, lines, partial, body.buf,
                                               body.ends, body.origin, body.framing.sep,
                                               fallback)


def text_into(recs: Records, body: Body) -> None:
    """The HTTP sink's text format into ``body``: each line and a newline (then the framing's
    separator, if it has one: the list path)."""
    if body.framing.sep or body.listed is not None:
        body.extend(KERNEL.active.text_lines(recs.lines))
        return
    body.empty += KERNEL.active.text_lines_into(recs.lines, body.buf, body.ends, body.origin)
