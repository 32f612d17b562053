"""The one read path over a container's segments: whole frames by position, index seeks, counts.

A ``Reader`` reads a ``Kept`` (spool then history) and nothing else, so the same code serves
``docker logs`` (ReadLogs over the live container), the delivery workers in the plugin, and the
shipper process (over the segment files up to the sizes the plugin told it, see view.py). It only
reads below a segment's ``size``, which the writer never rewrites, so it runs beside the writer
without a lock; a segment deleted under it (delivered, dropped, evicted) is looked up again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator

from ..framing import HEADER, HEADER_BYTES, MAX_FRAME_BYTES, frame_time
from .ledger import Position, lost_between
from .segment import Kept, Segment, whole_frames

READ_BYTES = 1 << 20  # one disk read of a reader
# Docker timestamps stdout and stderr lines in two goroutines before they take turns writing the
# FIFO, so entries arrive slightly out of time order (more while the pipe is full). Block times are
# sampled, not exact: a `Since` seek starts this much earlier than the block times alone suggest.
REORDER_SLACK_NS = 10 * 1_000_000_000


class Waiters:
    """Tasks waiting for a change, all woken at once (followers, delivery workers)."""

    def __init__(self) -> None:
        self._futs: list[asyncio.Future[None]] = []

    async def wait(self, timeout: float | None = None) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._futs.append(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            with contextlib.suppress(ValueError):
                self._futs.remove(fut)

    def wake(self) -> None:
        if self._futs:
            futs, self._futs = self._futs, []
            for fut in futs:
                if not fut.done():
                    fut.set_result(None)


class Reader:
    """Reads whole frames from the segments of ``files``; positions are ``(seq, byte offset)``.
    Whoever changes ``files`` calls ``wake`` to wake the tasks in ``wait_change``."""

    def __init__(self, files: Kept) -> None:
        self.files = files
        self._waiters = Waiters()

    # ----------------------------------------------------------------- positions
    @property
    def end(self) -> Position:
        """Position just past the last stored frame."""
        history = self.files.history
        if not history:
            return (0, 0)
        return (history[-1].seq, history[-1].size)

    @property
    def start(self) -> Position:
        """Where the history (what `docker logs` shows) begins."""
        history = self.files.history
        return (history[0].seq, 0) if history else (0, 0)

    @property
    def oldest(self) -> Position:
        """Where the oldest kept data (spool, else history) begins: where delivery can start."""
        if self.files.spool:
            return (self.files.spool[0].seq, 0)
        if not self.files.history and self.files.ledger:
            return (max(self.files.ledger) + 1, 0)
        return self.start

    # ----------------------------------------------------------------- reading
    def read(self, pos: Position, limit: int = READ_BYTES) -> tuple[bytes, Position, Position]:
        """Whole frames from ``pos`` (up to about ``limit`` bytes): ``(data, start, next)``.

        ``start`` is where ``data`` begins: ``pos``, the start of the next segment when ``pos`` is
        at the end of one, or the oldest kept position when ``pos`` was rotated away. Empty
        ``data`` at the end, or when the segment's file is gone before its owner says so.
        """
        seq, off = pos
        find = self.files.find
        while True:
            seg = find(seq)
            if seg is None:
                oldest = self.oldest
                if (seq, off) < oldest:
                    seq, off = oldest  # dropped: go on from the oldest kept
                    if find(seq) is not None:
                        continue
                return b"", (seq, off), (seq, off)
            if off >= seg.size:
                if seg is self.files.all[-1]:
                    return b"", (seq, off), (seq, off)
                seq, off = seq + 1, 0
                continue
            cut, aligned = _cut(seg, off, limit)
            try:
                fd = os.open(seg.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                if find(seq) is seg:
                    # Removed before its owner said so (the whole history went, or the shipper
                    # was not told yet; the next state message says why): nothing to read now.
                    return b"", (seq, off), (seq, off)
                continue  # rotated away between the lookup and the open: look again
            try:
                data = os.pread(fd, cut - off, off)
            finally:
                os.close(fd)
            if not aligned or len(data) != cut - off:
                data = data[: whole_frames(data)]  # cut mid-frame, or the file shrank under us
            return data, (seq, off), (seq, off + len(data))

    def iter_frames(self, pos: Position, end: Position | None = None) -> Iterator[bytes]:
        """Chunks of whole frames from ``pos`` up to ``end`` (default: the current end)."""
        stop = end or self.end
        while pos < stop:
            data, start, nxt = self.read(pos)
            if not data or start >= stop:
                return
            if nxt > stop:
                # Never hand out frames written after ``stop`` was taken.
                data = data[: stop[1] - start[1]] if start[0] == stop[0] else b""
                nxt = stop
            if data:
                yield data
            pos = nxt

    def time_at(self, pos: Position) -> int:
        """time_nano of the entry stored at ``pos`` (0 if there is none there)."""
        seg = self.files.find(pos[0])
        if seg is None or pos[1] >= seg.size:
            return 0
        try:
            fd = os.open(seg.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return 0
        try:
            head = os.pread(fd, HEADER_BYTES, pos[1])
            if len(head) < HEADER_BYTES:
                return 0
            (length,) = HEADER.unpack(head)
            if length > MAX_FRAME_BYTES:
                return 0
            data = head + os.pread(fd, length, pos[1] + HEADER_BYTES)
        finally:
            os.close(fd)
        return frame_time(data, 0, len(data))

    # ----------------------------------------------------------------- follow
    async def wait_change(self, timeout: float | None = None) -> None:
        """Wait until something is appended or removed, or the container stops."""
        await self._waiters.wait(timeout)

    def wake(self) -> None:
        """Wake every task in ``wait_change`` now, so each looks again at what it waits for
        (new frames, removed segments, a stopped container, a closing driver or worker)."""
        self._waiters.wake()

    # ----------------------------------------------------------------- counting
    def bytes_between(self, a: Position, b: Position) -> int:
        """Bytes from ``a`` to ``b``, counting segments no longer kept."""
        total = 0
        for seq in range(a[0], b[0] + 1):
            size = self.files.size_of(seq)
            lo = a[1] if seq == a[0] else 0
            hi = b[1] if seq == b[0] else size
            total += max(hi - lo, 0)
        return total

    def lost_between(
        self, a: Position, b: Position, entries_before_a: int | None
    ) -> dict[str, tuple[int, int]]:
        """What a reader lost jumping from ``a`` to ``b``: (bytes, entries) by cause."""
        return lost_between(a, b, self.files.ledger, self.files.gone_sizes, entries_before_a)

    def entries_after(self, pos: Position) -> int:
        """About how many entries are kept from ``pos`` on (exact at block boundaries; inside
        a block, its count in proportion to the bytes left). Reads only the index."""
        total = 0
        for seg in self.files.all:
            if seg.seq < pos[0]:
                continue
            for b in seg.blocks:
                lo = pos[1] if seg.seq == pos[0] else 0
                if b.end <= lo:
                    continue
                if b.offset >= lo:
                    total += b.count
                elif b.nbytes:
                    total += round(b.count * (b.end - lo) / b.nbytes)
        return total

    # ----------------------------------------------------------------- seeking (index only)
    def tail_start(self, n: int) -> tuple[Position, int]:
        """Where the last ``n`` entries begin: a block-aligned position plus how many entries to
        skip from there. Reads only the index."""
        need = n
        for seg in reversed(self.files.history):
            for b in reversed(seg.blocks):
                if b.count >= need:
                    return (seg.seq, b.offset), b.count - need
                need -= b.count
        return self.start, 0

    def since_start(self, since: int) -> Position:
        """A block-aligned position before which no entry is at or after ``since`` (ns).

        Block times come from the first and last frame of each write, so an entry inside a block
        may be later than the block's ``max_t`` by as much as Docker's stdout/stderr reordering;
        ``REORDER_SLACK_NS`` covers that. Readers still filter every entry exactly."""
        for seg in self.files.history:
            for b in seg.blocks:
                if b.max_t + REORDER_SLACK_NS >= since:
                    return (seg.seq, b.offset)
        return self.end


def _cut(seg: Segment, off: int, limit: int) -> tuple[int, bool]:
    """Where a read from ``off`` ends, and whether that is a frame boundary. Up to a block end
    (blocks start and end on frame boundaries, so the data needs no walking to find where its
    last whole frame ends); a segment without blocks (the shipper's view) is read up to ``limit``
    and cut to whole frames."""
    cut = 0
    for b in seg.blocks:
        e = b.end
        if e <= off:
            continue
        if cut and e - off > limit:
            break
        cut = e
    if cut:
        return cut, True
    cut = min(seg.size, off + limit)
    return cut, cut == seg.size
