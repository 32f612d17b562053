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

from collections.abc import Callable
from itertools import compress, repeat
from operator import is_
from typing import Protocol, cast

from . import _envelope
from ._envelope import ESCAPE_GO, ESCAPE_JSON, TIME_HEC, TIME_MS, TIME_RFC3339, Events, Layout
from .record import Record, Records
from .twin import Twin, twin

__all__ = ["ESCAPE_GO", "ESCAPE_JSON", "KERNEL", "TIME_HEC", "TIME_MS", "TIME_RFC3339",
           "EnvelopeKernel", "Events", "Layout", "encode_batch"]


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
