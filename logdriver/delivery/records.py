"""Stored frames -> records: joins partial pieces and multi-line events, and counts losses."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from sinks import JoinConfig, Record, Records

from ..framing import FrameReader, plain_entries
from ..store import Position
from .messages import ContainerState


class StoredLog(ContainerState, Protocol):
    """What delivery reads of one container's store: the plugin's ``store.ContainerLog`` (in
    process) or the shipper's ``StoreView`` (the same segment files, read up to the sizes the
    plugin told it)."""

    @property
    def end(self) -> Position: ...
    @property
    def oldest(self) -> Position: ...

    def read(self, pos: Position, limit: int = ...) -> tuple[bytes, Position, Position]:
        """Whole frames from ``pos``: ``(data, start, next)``; ``start`` is past ``pos`` when
        the store dropped what was there."""
        ...

    def lost_between(self, a: Position, b: Position, entries_before_a: int | None
                     ) -> dict[str, tuple[int, int]]:
        """What a reader lost jumping from ``a`` to ``b``: (bytes, entries) by cause."""
        ...

    async def wait_change(self, timeout: float | None = None) -> None: ...

    def wake(self) -> None:
        """Wake every ``wait_change`` now (a worker told to stop uses it; the app, at close)."""
        ...


# One disk read of a take: about 2,000 lines of 100 B, what TAKE_RECORDS in worker.py asks for
# (the store's READ_BYTES, 1 MiB, made every take a read, its lines and its events of 1-4 MB).
TAKE_READ_BYTES = 256 << 10

# Positions in the store as one int, ``seq << OFFSET_BITS | offset``: ordered like the
# ``(seq, offset)`` tuples, and a run of them is one ``accumulate`` away from frame sizes.
OFFSET_BITS = 40


def packed(pos: Position) -> int:
    return (pos[0] << OFFSET_BITS) | pos[1]


def unpacked(pos: int) -> Position:
    return pos >> OFFSET_BITS, pos & ((1 << OFFSET_BITS) - 1)


@dataclass(slots=True)
class _Pending:
    """A line (or multi-line event) of one stream still being put together."""

    start: int  # (packed) where its first frame is: the cursor must not pass it
    time_ns: int
    parts: list[bytes]
    size: int = 0
    seen: float = 0.0  # monotonic time its first part was read


class RecordReader:
    """Reads a container's stored frames from a position and turns them into records.

    Partial pieces (Docker cuts lines over 16 KiB) are joined back per stream; a line over
    ``partial_max_size`` is cut into several records marked ``partial`` rather than held whole.
    With a ``multiline_pattern``, a line matching it starts a new event and the lines after it
    join that event until the next match, but an event never spans more than
    ``multiline_timeout``: a line logged that long after the event's first line (by Docker's
    timestamps) starts the next event, and a pending event is sent once that long has passed
    since its first line was logged (or was read here, whichever comes first). An event's time
    is its first line's. Each record carries the
    position the cursor may move to once it is delivered: past its last frame, but never past
    the first frame of something still pending, so a restart re-reads what was not sent.
    """

    def __init__(self, clog: StoredLog, pos: Position, join: JoinConfig) -> None:
        self.clog = clog
        self.pos = pos  # next frame to read
        self.join = join
        self.dropped_bytes = 0
        self.dropped: dict[str, list[int]] = {}  # cause -> [entries, bytes], taken by the worker
        # Entries read so far of the segment ``self.pos`` is in (None: unknown, the reader began
        # inside it), so a loss counts exactly the entries this reader never had.
        self._seg_entries: int | None = 0 if pos[1] == 0 else None
        self._partial: dict[str, _Pending] = {}
        self._multi: dict[str, _Pending] = {}
        self._frames = FrameReader()
        # Packed position from which every record so far was a whole plain entry, one per frame,
        # read in this segment with nothing pending (None: the last read was not): back to any
        # record end past it, the reader may go (``rewind``) as if it had stopped there.
        self._plain_from: int | None = None
        self._recs = Records()
        self._ends: list[int] = []

    @property
    def holds_partial(self) -> bool:
        return bool(self._partial or self._multi)

    def _safe(self, end: int) -> int:
        if not (self._partial or self._multi):
            return end
        starts = [p.start for p in self._partial.values()]
        starts += [p.start for p in self._multi.values()]
        return min([end, *starts])

    def take(self, max_records: int, read_bytes: int = TAKE_READ_BYTES
             ) -> tuple[Records, list[int]]:
        """Up to about ``max_records`` records that are complete in the store now, read
        ``read_bytes`` at a time, and for each the (packed) position the cursor may move to
        once it is delivered."""
        recs = self._recs = Records()
        ends = self._ends = []
        join = self.join
        while len(recs) < max_records:
            data, start, nxt = self.clog.read(self.pos, read_bytes)
            if not data:  # the end, or a frame longer than that: a read as long as any frame
                data, start, nxt = self.clog.read(self.pos)
            if start != self.pos:
                self._skipped(start)
            if not data:
                break
            here = packed(start)
            block = None
            if join.multiline_pattern is None and not self._partial:
                # the usual block: whole lines only, none over partial-max-size, fast
                block = plain_entries(data, here, join.partial_max_size)
            if block is not None:
                times, sources, lines, block_ends = block
                recs.extend_whole(times, sources, lines)
                ends += block_ends
                n = len(block_ends)
                if self._plain_from is None:
                    self._plain_from = here
            else:
                self._plain_from = None
                n = self._frames_from(data, here)
            if self._seg_entries is not None:
                self._seg_entries += n
            self.pos = nxt
        self._recs, self._ends = Records(), []  # the caller owns these now
        return recs, ends

    def can_rewind(self, end: int) -> bool:
        """Whether ``rewind(end, ...)`` is exact: ``end`` (packed) is a record end this reader
        gave, and every record it read since was a whole plain entry of the same segment."""
        return self._plain_from is not None and self._plain_from <= end <= packed(self.pos)

    def rewind(self, end: int, records: int) -> None:
        """Go back to ``end`` (packed; ``can_rewind`` must hold), over the ``records`` records
        read since: reading goes on there as if this reader had stopped at ``end``."""
        if not self.can_rewind(end):
            raise ValueError("rewind: not a plain record end this reader can go back to")
        self.pos = unpacked(end)
        if self._seg_entries is not None:
            self._seg_entries -= records

    def _frames_from(self, data: bytes, base: int) -> int:
        """Records for the frames of ``data`` (stored at packed position ``base``) one by one:
        partial pieces, long lines and multi-line events, as well as plain lines. Returns the
        number of frames."""
        plain = self.join.multiline_pattern is None
        limit = self.join.partial_max_size
        recs, ends = self._recs, self._ends
        n = 0
        for off, length, msg in self._frames.frames(data):
            n += 1
            end = base + off + length
            source = msg.source
            if not msg.partial:
                line = msg.line
                if plain and len(line) <= limit and not self._partial:
                    recs.append(Record(msg.time_nano, source, line))  # the usual line
                    ends.append(end)
                else:
                    self._line(source, msg.time_nano, line, base + off, end)
                continue
            p = self._partial.get(source)
            if p is None:
                p = self._partial[source] = _Pending(base + off, msg.time_nano, [])
            p.parts.append(bytes(msg.line))
            p.size += len(msg.line)
            if msg.partial_log_metadata.last or (p.size >= limit and not plain):
                del self._partial[source]
                line = b"".join(p.parts)
                self._line(source, p.time_ns, line, p.start, end)
            elif p.size >= limit:  # cut every partial-max-size bytes; the rest waits for more
                line = b"".join(p.parts)
                cut = len(line) - len(line) % limit
                if cut == len(line):  # nothing left over: the next piece starts afresh
                    del self._partial[source]
                for i in range(0, cut, limit):
                    # Not past the line's first frame until what it cut off is out too.
                    done = i + limit == len(line)
                    self._emit(Record(p.time_ns, source, line[i:i + limit], partial=True),
                               end if done else p.start)
                p.parts, p.size = [line[cut:]], len(line) - cut
        return n

    def _line(self, source: str, t: int, line: bytes, start: int, end: int) -> None:
        limit = self.join.partial_max_size
        pattern = self.join.multiline_pattern
        if pattern is None:
            while len(line) > limit:  # only a line cut at partial-max-size gets here
                # Not past the line's first frame until its last piece is delivered too.
                self._emit(Record(t, source, line[:limit], partial=True), start)
                line = line[limit:]
            self._emit(Record(t, source, line), end)
            return
        m = self._multi.get(source)
        if m is not None and (t - m.time_ns >= self.join.multiline_timeout * 1e9
                              or m.size + len(line) + 1 > limit
                              or pattern.search(line.decode("utf-8", "replace")) is not None):
            del self._multi[source]
            # The event ends before this line, which starts the next one: once the event is
            # delivered the cursor may pass its lines, never this one.
            self._emit(Record(m.time_ns, source, b"\n".join(m.parts)), start)
            m = None
        if m is None:
            m = self._multi[source] = _Pending(start, t, [], seen=time.monotonic())
        m.parts.append(line[:limit])
        m.size += len(line) + 1

    def _emit(self, rec: Record, end: int) -> None:
        self._recs.append(rec)
        self._ends.append(self._safe(end))

    def multiline_due_in(self) -> float | None:
        """Seconds until the oldest pending multi-line event is due (``multiline_timeout`` after
        its first line: by Docker's timestamp against the wall clock, or since this reader read
        it, whichever comes first); 0.0 if one is overdue, None if none is pending."""
        if not self._multi:
            return None
        timeout = self.join.multiline_timeout
        now, wall = time.monotonic(), time.time_ns()
        due = min(min(m.seen - now, (m.time_ns - wall) / 1e9) for m in self._multi.values())
        return max(due + timeout, 0.0)

    def flush_stale(self, *, everything: bool = False) -> tuple[Records, list[int]]:
        """Multi-line events that are due (see ``multiline_due_in``), or all pending input
        when the container has stopped and nothing more can come."""
        self._recs = Records()
        self._ends = []
        timeout = self.join.multiline_timeout
        now, wall = time.monotonic(), time.time_ns()
        here = packed(self.pos)
        if self._multi or (everything and self._partial):
            self._plain_from = None
        for source, m in list(self._multi.items()):
            if everything or now - m.seen >= timeout or wall - m.time_ns >= timeout * 1e9:
                del self._multi[source]
                self._emit(Record(m.time_ns, source, b"\n".join(m.parts)), here)
        if everything:
            for source, p in list(self._partial.items()):
                del self._partial[source]
                self._emit(Record(p.time_ns, source, b"".join(p.parts)), here)
        recs, ends = self._recs, self._ends
        self._recs, self._ends = Records(), []
        return recs, ends

    def note_drops(self) -> None:
        """Count now what the store dropped ahead of this reader, without reading: a worker
        that holds a batch for a failing sink reads nothing, and its losses would otherwise
        show only once the sink is back."""
        oldest = self.clog.oldest
        if self.pos < oldest:
            self._skipped(oldest)

    def _skipped(self, start: Position) -> None:
        """The data goes on at ``start``: the next segment, or, if the store dropped segments
        this reader had not reached, the oldest one kept: count what was lost, by cause (the
        store's drop ledger)."""
        lost = self.clog.lost_between(self.pos, start, self._seg_entries)
        self._seg_entries = 0 if start[1] == 0 else None
        self._plain_from = None  # never back over a segment's end or a loss
        self.pos = start
        if not lost:
            return  # the next segment begins: nothing was lost on the way
        self.count_lost(lost)
        self._partial.clear()
        self._multi.clear()

    def count_lost(self, lost: dict[str, tuple[int, int]]) -> None:
        """Add what the store dropped (``clog.lost_between``: (bytes, entries) by cause) to
        ``dropped`` and ``dropped_bytes``."""
        for cause, (nbytes, entries) in lost.items():
            acc = self.dropped.setdefault(cause, [0, 0])
            acc[0] += entries
            acc[1] += nbytes
            self.dropped_bytes += nbytes
