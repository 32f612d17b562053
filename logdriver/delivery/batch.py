"""A delivery worker's batch: the request body its events are encoded into, cut to the sink's
limits."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import NamedTuple

from sinks import BatchConfig, Body, Context, JoinConfig, Sink

from .records import RecordReader, StoredLog, unpacked


@dataclass(slots=True)
class Batch:
    """The events of one request, encoded into ``body`` (the request body, see
    ``sinks.util.body``), the (packed) cursor position after each (``marks``), what they count
    against the byte limit (``size``) and the position the cursor may move to once they are
    accepted (``end``)."""

    body: Body
    marks: list[int] = field(default_factory=list)
    size: int = 0
    end: int = 0

    def __len__(self) -> int:
        return len(self.marks)

    def clear(self) -> None:
        """Let go of every event (the worker sheds what it read ahead)."""
        self.body.clear()
        self.marks = []
        self.size = 0


def fill(batch: Batch, config: BatchConfig) -> Batch | None:
    """Cut ``batch`` (events just appended to its body, their positions to ``marks``) to
    ``config``'s limits: a bisect over the body's end offsets. An event that alone exceeds
    ``config.bytes`` gets a batch of its own (the server decides). Returns what did not fit as a
    new batch (one copy of the tail; ``batch`` is full then), or None when all of it fits.
    ``batch`` is not empty."""
    body = batch.body
    n = len(body)
    k = body.fit(config.events, config.bytes) or 1  # only an event alone may exceed the limit
    rest = None
    if k < n:
        rest = Batch(body.cut(k), batch.marks[k:])
        del batch.marks[k:]
    batch.size = body.cost(k)
    batch.end = batch.marks[k - 1]
    return rest


class Stored(NamedTuple):
    """Where a request's events are in the store: ``events`` whole plain entries (one record
    each) from ``start`` to ``end`` (packed positions) in one segment, read again from there for
    each retry instead of held (``reread``)."""

    start: int
    end: int
    events: int


def reread(clog: StoredLog, join: JoinConfig, at: Stored, sink: Sink, ctx: Context,
           body: Body) -> dict[str, tuple[int, int]] | None:
    """Encode the events stored ``at`` into ``body`` again, in place (emptied first; the same
    object stands for the request across its retries, ``Body.key``): the bytes first sent, as
    the records and the encoder are the same. None when they are all there; else what the store
    dropped there meanwhile (its disk budget drops whole segments: ``clog.lost_between``,
    (bytes, entries) by cause), and ``body`` stays empty."""
    reader = RecordReader(clog, unpacked(at.start), join)
    recs, ends = reader.take(at.events, at.end - at.start)
    body.clear()
    if reader.dropped_bytes or bisect_right(ends, at.end) != at.events or (
            ends[at.events - 1] != at.end):
        return clog.lost_between(unpacked(at.start), unpacked(at.end), None)
    if len(recs) > at.events:  # read to a block's end past ``at.end``
        for column in (recs.times, recs.sources, recs.lines, recs.partial):
            del column[at.events:]
    sink.encode_into(ctx, recs, body)
    return None
