"""Per-container segmented on-disk store of Docker's frames: append, rotate, index, read, follow.

Layout of one container's directory::

    meta.json             container Info, the FIFOs it is being read from, when it stopped, its
                          sinks, spool settings and the ledger of undelivered segments dropped
    <seq>.log             a segment: validated frames exactly as Docker sent them, back to back
    <seq>.idx             the segment's index: one fixed-size record per closed block
    cursor-<sink>.json    where delivery to that sink stands (written by the delivery worker)

Segments rotate where Docker's ``local`` driver rotates its files: before an entry is written, if
the segment has reached ``max-size`` counting each entry as ``local`` stores it (its frame plus a
4-byte trailer, ``LOCAL_RECORD_EXTRA``), so with the same options and the same entries the last
``max-file`` segments hold exactly what ``local`` keeps: the history ``docker logs`` shows. Older
segments that a sink still needs stay on disk as the delivery spool (see spool.py) until every
sink has them. Up to its known size a segment holds only whole, validated frames, so any task can
read any segment from any frame offset below that size while the writer appends; past it, the
active segment may end with an incomplete frame the FIFO's reader is still receiving (a restarted
plugin finds it there and completes it). Blocks (runs of frames of about ``BLOCK_BYTES``) carry an
entry count and the smallest and largest entry time, so ``Tail`` walks the index backwards and
``Since`` skips whole blocks, never reading the history from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import shutil
import struct
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..framing import (
    HEADER_BYTES,
    MAX_FRAME_BYTES,
    Scanner,
    ScanResult,
    decode_frames,
    frame_time,
)
from .ledger import (
    BLOCK,
    DISK_BUDGET,
    DROP_OLDEST,
    HISTORY_OVERWRITE,
    NO_FLOOR,
    RATE_WINDOW_SECONDS,
    SPOOL_FULL,
    Dropped,
    Position,
    delivery_floor,
    load_ledger,
    lost_between,
    trim_ledger,
)

log = logging.getLogger(__name__)

BLOCK_BYTES = 64 * 1024  # index granularity: Tail/Since read at most about this much extra
READ_BYTES = 1 << 20  # one disk read of a reader
BUDGET_CHECK_SECONDS = 1.0  # at most one full size recount per second while over the disk budget
EVICTED_FILE = "evicted.json"  # ids of containers whose history the budget removed
EVICTED_KEPT = 10_000  # ids remembered (about 650 KB)
OVER_BUDGET_WARN_SECONDS = 60.0  # "budget exceeded by running containers" at most this often
IDX = struct.Struct("<QIqqQ")  # block: offset, entry count, min time, max time, byte length
# Docker timestamps stdout and stderr lines in two goroutines before they take turns writing the
# FIFO, so entries arrive slightly out of time order (more while the pipe is full). Block times are
# sampled, not exact: a `Since` seek starts this much earlier than the block times alone suggest.
REORDER_SLACK_NS = 10 * 1_000_000_000
DEFAULT_MAX_SIZE = 20 * 1024 * 1024  # Docker's `local` driver default max-size (20 MiB, though an
# explicit `max-size=20m` means 20,000,000 bytes there: units.FromHumanSize)
DEFAULT_MAX_FILE = 5  # Docker's `local` driver default max-file

# Docker's local driver stores an entry as [uint32 length][LogEntry][uint32 length]: our frame
# ([uint32 length][LogEntry]) plus 4 bytes. Its max-size counts those bytes (moby
# daemon/logger/local: encodeBinaryLen on both sides; loggerutils.LogFile rotates when the file has
# reached max-size before a write).
LOCAL_RECORD_EXTRA = 4
DELETED_SIZES_KEPT = 64  # sizes of deleted segments remembered for a late reader's byte count

# The state dir's file system is full (or the quota is): the entries that do not fit are dropped and
# counted, the FIFO is still read (a container must never wait on our disk), and the next write
# tries again, so storing resumes by itself once there is room.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
DISK_FULL_WARN_SECONDS = 10.0  # at most one "disk full" warning per container this often


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in DISK_FULL_ERRNOS


@dataclass(slots=True)
class Block:
    offset: int
    count: int
    min_t: int
    max_t: int
    nbytes: int

    @property
    def end(self) -> int:
        return self.offset + self.nbytes


@dataclass(slots=True)
class Segment:
    seq: int
    path: Path
    size: int = 0
    blocks: list[Block] = field(default_factory=list)
    closed_blocks: int = 0  # how many of ``blocks`` are persisted in the .idx file

    @property
    def idx_path(self) -> Path:
        return self.path.with_suffix(".idx")

    @property
    def count(self) -> int:
        return sum(b.count for b in self.blocks)

    @property
    def local_size(self) -> int:
        """The size Docker's ``local`` driver would give a file of these entries."""
        return self.size + LOCAL_RECORD_EXTRA * self.count


def write_json(path: Path, obj: Any, *, durable: bool = True) -> None:
    """Replace ``path`` atomically (root-only file). ``durable`` also survives a power cut; without
    it the new content survives a crash of the plugin, which is all a delivery cursor needs."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


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


class ContainerLog:
    """The history of one container: segments on disk plus the in-memory index."""

    def __init__(
        self,
        path: Path,
        container_id: str,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        max_file: int = DEFAULT_MAX_FILE,
        on_grow: Callable[[ContainerLog, int], None] | None = None,
    ) -> None:
        self.path = path
        self.id = container_id
        self.max_size = max_size
        self.max_file = max_file
        self.meta: dict[str, Any] = {}
        self.segments: list[Segment] = []  # the history: what `docker logs` shows
        self.spool: list[Segment] = []  # older segments kept only until every sink has them
        self.sinks: tuple[str, ...] = ()  # names of the container's sinks (their cursor files)
        self.spool_max_size: int | None = None  # bytes; None: bounded by the disk budget only
        self.when_full = DROP_OLDEST
        self.spool_blocked = False  # the spool is over spool-max-size and the policy is block
        self.budget_blocked = False  # the store is over budget, this spool could give, policy block
        self.ledger: dict[int, Dropped] = {}  # undelivered segments dropped, by sequence number
        self.ledger_version = 0  # bumped at each change of ``ledger``
        self.blocked_seconds = 0.0  # time its FIFOs were not read because the spool was full
        self._blocked_at = 0.0
        # Called when a block ends (the FIFO readers resume).
        self.on_unblock: list[Callable[[], None]] = []
        self.running_fifos: set[str] = set()
        self.stop_count = 0  # bumped by every stop; followers end when it changes
        self.dropped_segments = 0
        self._fd = -1
        self._idx_fd = -1
        self._waiters = Waiters()
        self._on_grow = on_grow
        self._closed = False
        self.dirty = False  # appended since the last sync
        # Raw bytes after the last whole frame of the active segment: the incomplete frame of the
        # FIFO reader that owns them (``tail_owner``), or, right after a restart, of nobody yet.
        self.tail = b""
        self.tail_owner: object | None = None
        self._deleted_sizes: dict[int, int] = {}  # seq -> size of delivered segments deleted
        self.received_lines = 0  # entries stored since the plugin started (for /metrics)
        self.received_bytes = 0
        self.corrupt_frames = 0
        self.stored_entries = 0  # entries written to segments since the plugin started
        self.dropped_lines = 0  # entries received but not stored: the disk was full
        self.disk_full_at = 0.0  # time.time() of the last entry dropped for a full disk
        self._disk_warned_at = 0.0
        self._scanned: ScanResult | None = None  # the chunk ingest() is storing, once scanned
        # Called after every change a reader could wait for (the shipper process is told).
        self.on_change: Callable[[ContainerLog], None] | None = None

    # ----------------------------------------------------------------- open / recover
    @classmethod
    def open(
        cls,
        path: Path,
        container_id: str,
        *,
        on_grow: Callable[[ContainerLog, int], None] | None = None,
    ) -> ContainerLog:
        """Open (or create) the store at ``path``, repairing a half-written tail."""
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self = cls(path, container_id, on_grow=on_grow)
        meta_path = path / "meta.json"
        if meta_path.exists():
            try:
                self.meta = json.loads(meta_path.read_text())
            except (OSError, ValueError):
                log.warning("unreadable meta.json, starting it anew", extra={"container": self.id})
                self.meta = {}
        self.max_size = int(self.meta.get("max_size", DEFAULT_MAX_SIZE))
        self.max_file = int(self.meta.get("max_file", DEFAULT_MAX_FILE))
        self.sinks = tuple(str(x) for x in self.meta.get("sinks") or ())
        spool_max = self.meta.get("spool_max_size")
        self.spool_max_size = int(spool_max) if spool_max is not None else None
        self.when_full = BLOCK if self.meta.get("when_full") == BLOCK else DROP_OLDEST
        self.ledger = load_ledger(self.meta.get("dropped"))
        seqs = sorted(int(p.stem) for p in path.glob("*.log") if p.stem.isdigit())
        # Kept segments are consecutive; a gap means an older run whose rest was deleted.
        while len(seqs) > 1 and any(b != a + 1 for a, b in zip(seqs, seqs[1:], strict=False)):
            gap = next(i for i, (a, b) in enumerate(zip(seqs, seqs[1:], strict=False))
                       if b != a + 1)
            for seq in seqs[: gap + 1]:
                for suffix in (".log", ".idx"):
                    with contextlib.suppress(FileNotFoundError):
                        (path / f"{seq:010d}{suffix}").unlink()
            seqs = seqs[gap + 1 :]
        kept: list[Segment] = []
        for seq in seqs:
            seg = Segment(seq, path / f"{seq:010d}.log")
            self._load_index(seg, last=(seq == seqs[-1]))
            kept.append(seg)
        # The last max-file segments are the history; older ones are the delivery spool.
        split = max(len(kept) - self.max_file, 0)
        self.spool, self.segments = kept[:split], kept[split:]
        return self

    def _load_index(self, seg: Segment, *, last: bool) -> None:
        size = seg.path.stat().st_size
        blocks: list[Block] = []
        try:
            raw = seg.idx_path.read_bytes()
        except FileNotFoundError:
            raw = b""
        expect = 0
        for i in range(0, len(raw) - len(raw) % IDX.size, IDX.size):
            off, count, mn, mx, nbytes = IDX.unpack_from(raw, i)
            if off != expect or off + nbytes > size:
                break
            blocks.append(Block(off, count, mn, mx, nbytes))
            expect = off + nbytes
        seg.blocks = blocks
        seg.closed_blocks = len(blocks)
        if len(raw) != len(blocks) * IDX.size:
            with open(seg.idx_path, "r+b") as f:
                f.truncate(len(blocks) * IDX.size)
        # Rebuild what the index does not cover by scanning the frames themselves; a half-written
        # frame at the end (a crash mid-write) is cut off.
        with open(seg.path, "rb") as f:
            f.seek(expect)
            tail = f.read()
        good = expect
        block: Block | None = None
        for off, length, msg in decode_frames(tail):
            t = msg.time_nano
            if block is None:
                block = Block(expect + off, 0, t, t, 0)
            block.count += 1
            block.nbytes = expect + off + length - block.offset
            block.min_t = min(block.min_t, t)
            block.max_t = max(block.max_t, t)
            good = expect + off + length
            if block.nbytes >= BLOCK_BYTES:
                blocks.append(block)
                block = None
        if block is not None:
            blocks.append(block)
        seg.size = good
        if good != size:
            if last:
                # Bytes read from the FIFO but not yet a whole frame when the plugin stopped: the
                # rest of that frame is still in the pipe. The FIFO's next reader takes them over.
                self.tail = tail[good - expect :]
            else:
                log.warning("cut a half-written tail off a segment",
                            extra={"container": self.id, "segment": seg.seq, "bytes": size - good})
                with open(seg.path, "r+b") as f:
                    f.truncate(good)
        if not last:
            seg.closed_blocks = len(blocks)  # nothing more will be appended to it

    # ----------------------------------------------------------------- metadata
    def save_meta(self) -> None:
        self.meta["max_size"] = self.max_size
        self.meta["max_file"] = self.max_file
        self.meta["fifos"] = sorted(self.running_fifos)
        self.meta["sinks"] = list(self.sinks)
        self.meta["spool_max_size"] = self.spool_max_size
        self.meta["when_full"] = self.when_full
        self.meta["dropped"] = [d.to_json() for d in self.ledger.values()]
        try:
            write_json(self.path / "meta.json", self.meta)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            # The old meta.json stays; what it misses (a FIFO, a stop time) is found again from
            # the daemon's next calls or costs a `docker logs -f` an extra wait after a restart.
            log.warning("cannot save meta.json: the disk is full", extra={"container": self.id})

    def configure(
        self, *, max_size: int, max_file: int, sinks: tuple[str, ...],
        spool_max_size: int | None, when_full: str,
    ) -> None:
        """Apply a StartLogging's options (history limits, sinks, spool policy)."""
        self.max_size, self.max_file = max_size, max_file
        self.sinks = sinks
        self.spool_max_size, self.when_full = spool_max_size, when_full
        if self.spool:
            self.check_spool_limit()

    @property
    def running(self) -> bool:
        return bool(self.running_fifos)

    @property
    def size(self) -> int:
        """Bytes on disk: history plus spool."""
        return self.history_bytes + self.spool_bytes

    @property
    def history_bytes(self) -> int:
        return sum(s.size for s in self.segments)

    @property
    def spool_bytes(self) -> int:
        return sum(s.size for s in self.spool)

    @property
    def blocked(self) -> bool:
        """The FIFO is not read: the spool is full and the policy is ``block``."""
        return self.spool_blocked or self.budget_blocked

    @property
    def stopped_at(self) -> float:
        return float(self.meta.get("stopped_at") or 0.0)

    # ----------------------------------------------------------------- writing
    def _active(self) -> Segment:
        if not self.segments:
            return self._new_segment(0)
        return self.segments[-1]

    def _new_segment(self, seq: int) -> Segment:
        self._close_fds()
        seg = Segment(seq, self.path / f"{seq:010d}.log")
        seg.path.touch(mode=0o600)
        self.segments.append(seg)
        return seg

    def _ensure_fds(self, seg: Segment) -> None:
        if self._fd < 0:
            self._fd = os.open(seg.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            self._idx_fd = os.open(
                seg.idx_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
            )

    def _close_fds(self) -> None:
        for fd in (self._fd, self._idx_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._idx_fd = -1

    def _rotate(self) -> Segment:
        old = self._active()
        self._persist_blocks(old, final=True)
        self.sync()
        seg = self._new_segment(old.seq + 1)
        if len(self.segments) > self.max_file:
            while len(self.segments) > self.max_file:
                self.spool.append(self.segments.pop(0))  # out of `docker logs`
            # Kept for delivery only while a sink lacks it, within the spool's limit.
            self.release_delivered()
            self.check_spool_limit()
        return seg

    # ----------------------------------------------------------------- spool
    def delivery_floor(self) -> Position:
        """The position before which every sink of this container has everything (read from
        the cursor files; a sink with none yet needs everything)."""
        if not self.sinks:
            return NO_FLOOR
        floor = delivery_floor(self.path, self.sinks)
        return floor if floor is not None else (0, 0)

    def release_delivered(self, floor: Position | None = None) -> int:
        """Delete spool segments every sink has; returns bytes freed."""
        if not self.spool:
            return 0
        floor = self.delivery_floor() if floor is None else floor
        freed = 0
        while self.spool and _delivered(self.spool[0], floor):
            gone = self.spool.pop(0)
            freed += gone.size
            self._delete(gone)
        if freed and self.blocked:
            self.check_spool_limit()
        return freed

    def check_spool_limit(self) -> None:
        """Apply ``spool-when-full`` to this container's own limit, ``spool-max-size``."""
        limit = self.spool_max_size
        over = limit is not None and self.spool_bytes > limit
        if over and self.when_full == DROP_OLDEST:
            # spool-max-size=0 turns the spool off: history is all there is.
            cause = HISTORY_OVERWRITE if limit == 0 else SPOOL_FULL
            while self.spool and self.spool_bytes > limit:  # type: ignore[operator]
                self.drop_oldest_spooled(cause)
            over = False
        self.set_blocked(spool=over and self.when_full == BLOCK)

    def set_blocked(self, *, spool: bool | None = None, budget: bool | None = None) -> None:
        was = self.blocked
        if spool is not None:
            self.spool_blocked = spool
        if budget is not None:
            self.budget_blocked = budget
        if self.blocked and not was:
            self._blocked_at = time.monotonic()
            log.warning("the spool is full: not reading the container's output until delivery "
                        "makes room (spool-when-full=block)",
                        extra={"container": self.id, "spool_bytes": self.spool_bytes})
        elif was and not self.blocked:
            self.blocked_seconds += time.monotonic() - self._blocked_at
            log.info("the spool has room again: reading the container's output",
                     extra={"container": self.id})
            for resume in list(self.on_unblock):
                resume()

    def drop_oldest_spooled(self, cause: str) -> int:
        """Drop the oldest spool segment, undelivered, counted under ``cause``; bytes freed."""
        if not self.spool:
            return 0
        gone = self.spool.pop(0)
        self._drop(gone, cause)
        return gone.size

    def drop_oldest_kept(self, cause: str) -> int:
        """Drop the oldest segment of spool or (closed) history; bytes freed. For a stopped
        container only: a running one's history is its own ``max-size`` x ``max-file``."""
        if self.spool:
            return self.drop_oldest_spooled(cause)
        if not self.segments:
            return 0
        gone = self.segments[0]
        if gone is self.segments[-1]:
            self._close_fds()
        self.segments.pop(0)
        if _delivered(gone, self.delivery_floor()):
            self._delete(gone)
        else:
            self._drop(gone, cause)
        return gone.size

    def _drop(self, seg: Segment, cause: str) -> None:
        """``seg`` leaves undelivered: the ledger tells each sink's reader what it lost, why."""
        self.ledger[seg.seq] = Dropped(seg.seq, seg.size, seg.count, cause)
        trim_ledger(self.ledger)
        self.ledger_version += 1
        self._delete(seg)
        log.warning("dropped undelivered log data", extra={
            "container": self.id, "cause": cause, "bytes": seg.size, "entries": seg.count})
        self.save_meta()

    def _delete(self, seg: Segment) -> None:
        self.dropped_segments += 1
        self._deleted_sizes[seg.seq] = seg.size
        while len(self._deleted_sizes) > DELETED_SIZES_KEPT:
            del self._deleted_sizes[min(self._deleted_sizes)]
        for p in (seg.path, seg.idx_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self._notify()

    def _persist_blocks(self, seg: Segment, *, final: bool = False) -> None:
        upto = len(seg.blocks) if final else len(seg.blocks) - 1
        if upto <= seg.closed_blocks:
            return
        self._ensure_fds(seg)
        recs = b"".join(
            IDX.pack(b.offset, b.count, b.min_t, b.max_t, b.nbytes)
            for b in seg.blocks[seg.closed_blocks : upto]
        )
        os.write(self._idx_fd, recs)
        seg.closed_blocks = upto

    def ingest(self, owner: object, scanner: Scanner, chunk: bytes) -> ScanResult:
        """Store one chunk just read from ``owner``'s FIFO.

        The raw chunk goes to disk first, right after the bytes already there, so a plugin killed
        while it looks at the chunk loses nothing: on restart the segment's tail (whole frames
        plus an incomplete one) is found again and the FIFO's rest completes it. Then the chunk is
        scanned; when it holds only whole valid frames up to its incomplete tail and needs no
        rotation (the usual case), it is already in place and only the index changes. Otherwise
        the raw bytes are taken back and the valid frames are written properly.
        """
        stored_before = self.stored_entries
        self._scanned = None
        try:
            return self._ingest(owner, scanner, chunk)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            res = self._scanned
            if res is None:  # the chunk's first write failed: scan it all the same, so the
                res = scanner.feed(chunk)  # frame boundaries hold when storing resumes
            self._disk_full(res, self.stored_entries - stored_before)
            return res
        finally:
            self._scanned = None

    def _disk_full(self, res: ScanResult, stored: int) -> None:
        """A write failed for want of space: put the files back to their last consistent state
        (whole frames only), count what was not stored, warn now and then."""
        with contextlib.suppress(OSError):
            if self.segments:
                seg = self.segments[-1]
                self._ensure_fds(seg)
                os.ftruncate(self._fd, seg.size)
        # The scanner still holds the incomplete frame in memory; nothing of it is on disk now.
        self.tail = b""
        self.tail_owner = None
        lost = max(0, res.count - stored)
        self.dropped_lines += lost
        now = time.time()
        self.disk_full_at = now
        if lost and now - self._disk_warned_at >= DISK_FULL_WARN_SECONDS:
            self._disk_warned_at = now
            log.warning("the state dir is full: log entries dropped",
                        extra={"container": self.id, "dropped_lines": self.dropped_lines})

    def _ingest(self, owner: object, scanner: Scanner, chunk: bytes) -> ScanResult:
        seg = self._active()
        self._ensure_fds(seg)
        if self.tail and self.tail_owner is not owner:
            # Another reader's incomplete frame (it keeps it in memory) or an orphan from before a
            # restart: not ours to extend.
            os.ftruncate(self._fd, seg.size)
            self.tail = b""
        _write_all(self._fd, chunk)
        res = self._scanned = scanner.feed(chunk)
        runs = res.runs
        fits = not runs or (
            len(runs) == 1 and runs[0].start == 0
            and _frames_until_full(runs[0].ends, 0, 0, self.max_size - seg.local_size)
            == len(runs[0].ends) and seg.local_size < self.max_size
        )
        # In place only if the disk holds exactly the frames then the scanner's rest: garbage it
        # skipped (even with no frame found yet) must not stay on disk in front of later frames.
        taken = runs[0].ends[-1] if runs else 0
        if (fits and len(res.data) == len(self.tail) + len(chunk)
                and len(res.rest) == len(res.data) - taken):
            if runs:
                ends = runs[0].ends
                self._index(seg, res.data, 0, ends, 0, len(ends))
                seg.size += ends[-1]
                self.stored_entries += len(ends)
                self._wrote(ends[-1])
        else:
            os.ftruncate(self._fd, seg.size)
            self.tail = b""
            self.append(res)
            seg = self._active()
            self._ensure_fds(seg)
            _write_all(self._fd, res.rest)
        self.tail = res.rest
        self.tail_owner = owner if res.rest else None
        return res

    def drop_tail(self, owner: object) -> None:
        """``owner`` is gone: its incomplete frame will never be completed."""
        if self.tail and self.tail_owner is owner:
            seg = self._active()
            self._ensure_fds(seg)
            os.ftruncate(self._fd, seg.size)
            self.tail = b""
            self.tail_owner = None

    def append(self, res: ScanResult) -> int:
        """Store the valid frames of ``res``, rotating at frame boundaries; returns bytes stored."""
        if self.tail:
            self.drop_tail(self.tail_owner)
        data = res.data
        view = memoryview(data)
        written = 0
        for run in res.runs:
            start, ends = run.start, run.ends
            i, n = 0, len(ends)
            while i < n:
                seg = self._active()
                room = self.max_size - seg.local_size
                if room <= 0:
                    self._rotate()  # as local: the file reached max-size before this write
                    continue
                j = _frames_until_full(ends, start, i, room)
                end = ends[j - 1]
                self._ensure_fds(seg)
                _write_all(self._fd, view[start:end])
                self._index(seg, data, start, ends, i, j)
                seg.size += end - start
                self.stored_entries += j - i
                written += end - start
                start, i = end, j
        if written:
            self._wrote(written)
        return written

    def _index(
        self, seg: Segment, data: bytes, start: int, ends: list[int], i: int, j: int
    ) -> None:
        """Account frames ``ends[i:j]`` (``data[start:ends[j - 1]]``), appended at ``seg.size``, to
        the segment's open block. Block times are those of the first and the last frame:
        decoding two frames per write keeps the hot path cheap."""
        last = j - 1
        t_first = frame_time(data, start, ends[i])
        t_last = frame_time(data, ends[last - 1], ends[last]) if last > i else t_first
        lo, hi = min(t_first, t_last), max(t_first, t_last)
        nbytes = ends[last] - start
        count = j - i
        blocks = seg.blocks
        if len(blocks) > seg.closed_blocks and blocks[-1].nbytes < BLOCK_BYTES:
            b = blocks[-1]
            b.count += count
            b.nbytes += nbytes
            b.min_t = min(b.min_t, lo)
            b.max_t = max(b.max_t, hi)
        else:
            blocks.append(Block(seg.size, count, lo, hi, nbytes))
        if blocks[-1].nbytes >= BLOCK_BYTES:
            self._persist_blocks(seg, final=True)

    def _wrote(self, nbytes: int) -> None:
        self.dirty = True
        self._notify()
        if self._on_grow is not None:
            self._on_grow(self, nbytes)

    def sync(self, *, wait: bool = False) -> None:
        """Flush the active segment and its index to disk: in the background (the FIFO reader
        must never wait on the disk's flush), or waiting for it with ``wait``."""
        if not self.segments or self._fd < 0:
            return
        try:
            self._persist_blocks(self.segments[-1])
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            # The index is a cache of the segment: a restart rebuilds what it lacks from frames.
            log.debug("index not saved: the disk is full", extra={"container": self.id})
        self.dirty = False
        fds = [os.dup(self._fd), os.dup(self._idx_fd)]
        job = _SYNCER.submit(_fdatasync_and_close, fds)
        if wait:
            job.result()

    def release_fds(self) -> None:
        """Close the segment's file descriptors (they reopen on the next append)."""
        if self._fd >= 0:
            self.sync()
        self._close_fds()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.segments and self._fd >= 0:
            self._persist_blocks(self.segments[-1], final=True)
            self.sync(wait=True)
        self._close_fds()
        self._notify()

    # ----------------------------------------------------------------- reading
    @property
    def end(self) -> Position:
        """Position just past the last stored frame."""
        if not self.segments:
            return (0, 0)
        last = self.segments[-1]
        return (last.seq, last.size)

    @property
    def start(self) -> Position:
        """Where the history (what `docker logs` shows) begins."""
        if not self.segments:
            return (0, 0)
        return (self.segments[0].seq, 0)

    @property
    def oldest(self) -> Position:
        """Where the oldest kept data (spool, else history) begins: where delivery can start."""
        if self.spool:
            return (self.spool[0].seq, 0)
        if not self.segments and self.ledger:
            return (max(self.ledger) + 1, 0)
        return self.start

    @property
    def kept(self) -> list[Segment]:
        """Spool then history: consecutive sequence numbers."""
        return self.spool + self.segments if self.spool else self.segments

    def _segment(self, seq: int) -> Segment | None:
        first = self.spool or self.segments
        if not first:
            return None
        i = seq - first[0].seq
        if i < 0:
            return None
        if i < len(self.spool):
            return self.spool[i]
        i -= len(self.spool)
        if i < len(self.segments):
            return self.segments[i]
        return None

    def bytes_between(self, a: Position, b: Position) -> int:
        """Bytes from ``a`` to ``b``, counting segments no longer kept."""
        total = 0
        for seq in range(a[0], b[0] + 1):
            seg = self._segment(seq)
            if seg is not None:
                size = seg.size
            elif seq in self.ledger:
                size = self.ledger[seq].size
            else:
                size = self._deleted_sizes.get(seq, 0)
            lo = a[1] if seq == a[0] else 0
            hi = b[1] if seq == b[0] else size
            total += max(hi - lo, 0)
        return total

    def lost_between(
        self, a: Position, b: Position, entries_before_a: int | None
    ) -> dict[str, tuple[int, int]]:
        """What a reader lost jumping from ``a`` to ``b``: (bytes, entries) by cause."""
        return lost_between(a, b, self.ledger, self._deleted_sizes, entries_before_a)

    def entries_after(self, pos: Position) -> int:
        """About how many entries are kept from ``pos`` on (exact at block boundaries; inside
        a block, its count in proportion to the bytes left). Reads only the index."""
        total = 0
        for seg in self.kept:
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

    def time_at(self, pos: Position) -> int:
        """time_nano of the entry stored at ``pos`` (0 if there is none there)."""
        seg = self._segment(pos[0])
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
            (length,) = struct.unpack(">I", head)
            if length > MAX_FRAME_BYTES:
                return 0
            data = head + os.pread(fd, length, pos[1] + HEADER_BYTES)
        finally:
            os.close(fd)
        return frame_time(data, 0, len(data))

    def tail_start(self, n: int) -> tuple[Position, int]:
        """Where the last ``n`` entries begin: a block-aligned position plus how many entries to
        skip from there. Reads only the index."""
        need = n
        for seg in reversed(self.segments):
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
        for seg in self.segments:
            for b in seg.blocks:
                if b.max_t + REORDER_SLACK_NS >= since:
                    return (seg.seq, b.offset)
        return self.end

    def read(self, pos: Position, limit: int = READ_BYTES) -> tuple[bytes, Position, Position]:
        """Whole frames from ``pos`` (up to about ``limit`` bytes): ``(data, start, next)``.

        ``start`` is where ``data`` begins: ``pos``, the start of the next segment when ``pos`` is
        at the end of one, or the oldest kept position when ``pos`` was rotated away.
        """
        seq, off = pos
        while True:
            seg = self._segment(seq)
            if seg is None:
                oldest = self.oldest
                if (seq, off) < oldest:
                    seq, off = oldest
                    if self._segment(seq) is not None:
                        continue
                return b"", (seq, off), (seq, off)
            if off >= seg.size:
                if seg is self.kept[-1]:
                    return b"", (seq, off), (seq, off)
                seq, off = seq + 1, 0
                continue
            # Read up to a block end: blocks start and end on frame boundaries, so the data needs
            # no walking to find where its last whole frame ends.
            cut = 0
            for b in seg.blocks:
                e = b.end
                if e <= off:
                    continue
                if cut and e - off > limit:
                    break
                cut = e
            if not cut:
                cut = seg.size
            try:
                fd = os.open(seg.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                if self._segment(seq) is seg:
                    return b"", (seq, off), (seq, off)  # the whole history was removed
                continue  # rotated away between the lookup and the open: look again
            try:
                data = os.pread(fd, cut - off, off)
            finally:
                os.close(fd)
            if len(data) != cut - off:
                data = data[: _whole_frames(data)]  # the file shrank under us
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

    # ----------------------------------------------------------------- follow
    async def wait_change(self, timeout: float | None = None) -> None:
        """Wait until something is appended or the container stops."""
        await self._waiters.wait(timeout)

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change(self)
        self._waiters.wake()

    def mark_stopped(self, *, record_time: bool = True) -> None:
        """A FIFO of this container stopped: followers end; eviction order uses the time."""
        self.stop_count += 1
        if record_time:
            self.meta["stopped_at"] = time.time()
        self._notify()


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


_SYNCER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logdriver-fsync")


def _fdatasync_and_close(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.fdatasync(fd)
        except OSError as exc:
            log.warning("fdatasync failed", extra={"error": exc.strerror})
        finally:
            os.close(fd)


def _frames_until_full(ends: list[int], start: int, i: int, room: int) -> int:
    """How many of the frames ``ends[i:]`` (ending at those offsets, the first starting at
    ``start``) go into a segment with ``room`` bytes left before max-size, as ``local`` counts:
    every frame while the segment has not reached max-size, so the last one may pass it. Returns
    the index after the last frame written (at least ``i + 1``)."""
    lo, hi = i, len(ends) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if ends[mid] - start + LOCAL_RECORD_EXTRA * (mid - i + 1) >= room:
            hi = mid
        else:
            lo = mid + 1
    return lo + 1


def _delivered(seg: Segment, floor: Position) -> bool:
    """Every sink has all of ``seg`` (its cursor is at or past the segment's end)."""
    return floor[0] > seg.seq or (floor[0] == seg.seq and floor[1] >= seg.size)


def _whole_frames(data: bytes) -> int:
    """Length of the longest prefix of ``data`` made of whole frames."""
    pos = 0
    n = len(data)
    unpack = struct.Struct(">I").unpack_from
    while pos + HEADER_BYTES <= n:
        (length,) = unpack(data, pos)
        end = pos + HEADER_BYTES + length
        if end > n:
            break
        pos = end
    return pos


class Store:
    """All containers' histories and spools under one state directory, within one disk budget."""

    def __init__(self, root: Path, *, disk_budget: int) -> None:
        self.root = root
        self.dir = root / "containers"
        self.disk_budget = disk_budget
        self.logs: dict[str, ContainerLog] = {}
        self.evicted = 0
        self.on_remove: Callable[[str], None] | None = None  # told before a history is removed
        self._total = 0
        self._checked = 0.0
        self.written = 0  # bytes stored since the plugin started
        # Containers whose history the budget evicted: a later StartLogging for one of them is
        # `docker logs` (or a restart), never a first start (kept in evicted.json, bounded).
        self._evicted_ids: dict[str, None] = {}
        self._sizes: list[tuple[float, int]] = []  # (monotonic time, bytes on disk) samples
        self._over_warned = -OVER_BUDGET_WARN_SECONDS

    def open(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            ids = json.loads((self.root / EVICTED_FILE).read_text())
            self._evicted_ids = dict.fromkeys(str(x) for x in ids if _is_container_id(str(x)))
        except (OSError, ValueError, TypeError):
            self._evicted_ids = {}
        for p in sorted(self.dir.iterdir()):
            if p.is_dir() and _is_container_id(p.name):
                self.logs[p.name] = ContainerLog.open(p, p.name, on_grow=self._grew)
        for lg in self.logs.values():
            lg.check_spool_limit()
        self._total = sum(lg.size for lg in self.logs.values())

    def get(self, container_id: str) -> ContainerLog:
        lg = self.logs.get(container_id)
        if lg is None:
            lg = ContainerLog.open(self.dir / container_id, container_id, on_grow=self._grew)
            self.logs[container_id] = lg
        return lg

    @property
    def total_bytes(self) -> int:
        return self._total

    def was_evicted(self, container_id: str) -> bool:
        return container_id in self._evicted_ids

    def _remember_evicted(self, container_id: str) -> None:
        self._evicted_ids[container_id] = None
        while len(self._evicted_ids) > EVICTED_KEPT:
            del self._evicted_ids[next(iter(self._evicted_ids))]
        try:
            write_json(self.root / EVICTED_FILE, list(self._evicted_ids), durable=False)
        except OSError as exc:
            log.warning("cannot save the evicted containers' ids", extra={"error": exc.strerror})

    @property
    def spool_bytes(self) -> int:
        return sum(lg.spool_bytes for lg in self.logs.values())

    def _grew(self, lg: ContainerLog, nbytes: int) -> None:
        self._total += nbytes
        self.written += nbytes
        now = time.monotonic()
        if self._total > self.disk_budget and now - self._checked > BUDGET_CHECK_SECONDS:
            self._checked = now
            self.recount()
            if self._total > self.disk_budget:
                self.evict()

    def recount(self) -> int:
        """Recompute the bytes on disk from the segments (rotation and delivery free space)."""
        self._total = sum(x.size for x in self.logs.values())
        return self._total

    def maintain(self) -> None:
        """Every MAINTAIN_SECONDS: release spool segments every sink has, apply the budget,
        lift blocks that no longer hold, and sample the growth rate."""
        for lg in list(self.logs.values()):
            if lg.spool or lg.blocked:
                lg.release_delivered()
        self.recount()
        if self._total > self.disk_budget:
            self.evict()
        now = time.monotonic()
        self._sizes.append((now, self._total))
        while len(self._sizes) > 2 and now - self._sizes[1][0] >= RATE_WINDOW_SECONDS:
            self._sizes.pop(0)
        for lg in self.logs.values():
            if lg.budget_blocked and (self._total <= self.disk_budget or not lg.spool):
                lg.set_blocked(budget=False)

    @property
    def growth_rate(self) -> float:
        """Net growth of the bytes on disk per second over about the last RATE_WINDOW_SECONDS
        (what is written less what rotation, delivery and eviction free); 0 if it shrank."""
        if len(self._sizes) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._sizes[0], self._sizes[-1]
        return max(b1 - b0, 0) / (t1 - t0) if t1 > t0 else 0.0

    def seconds_left(self) -> float | None:
        """At the current growth rate, seconds until the disk budget is full (None: not
        growing)."""
        rate = self.growth_rate
        if rate <= 0:
            return None
        return max(self.disk_budget - self._total, 0) / rate

    def evict(self) -> None:
        """Bring the store within its disk budget, taking in this order: whole histories of
        stopped containers whose sinks have everything (oldest stop first); the oldest
        undelivered segments of stopped containers (cause ``disk_budget``); then running
        containers' spools, each by its policy: ``drop-oldest`` drops its oldest segment (the
        oldest data first, across containers), ``block`` stops reading its FIFO."""
        stopped = sorted((lg for lg in self.logs.values() if not lg.running),
                         key=lambda lg: lg.stopped_at)
        for lg in stopped:
            if self._total <= self.disk_budget:
                return
            if _delivered_all(lg):
                self._total -= lg.size
                self.remove(lg.id)
                self._remember_evicted(lg.id)
                self.evicted += 1
                log.warning("evicted a stopped container's history for the disk budget",
                            extra={"container": lg.id})
        for lg in stopped:
            while self._total > self.disk_budget and lg.id in self.logs:
                freed = lg.drop_oldest_kept(DISK_BUDGET)
                self._total -= freed
                if not lg.kept:
                    self.remove(lg.id)
                    self._remember_evicted(lg.id)
                    self.evicted += 1
                if not freed:
                    break
        running = [lg for lg in self.logs.values() if lg.running and lg.spool]
        if self._total <= self.disk_budget:
            return
        # Each running spool by its own policy, at once: `block` ones stop growing (they wait
        # rather than lose), `drop-oldest` ones give their oldest data, oldest first.
        for lg in running:
            if lg.when_full == BLOCK:
                lg.set_blocked(budget=True)
        while self._total > self.disk_budget:
            droppable = [lg for lg in running if lg.when_full == DROP_OLDEST and lg.spool]
            if not droppable:
                break
            oldest = min(droppable, key=lambda lg: _mtime(lg.spool[0]))
            self._total -= oldest.drop_oldest_spooled(SPOOL_FULL)
        if self._total > self.disk_budget:
            now = time.monotonic()
            if now - self._over_warned >= OVER_BUDGET_WARN_SECONDS:
                self._over_warned = now
                log.warning("disk budget exceeded by running containers' history and blocked "
                            "spools", extra={"bytes": self._total, "budget": self.disk_budget})

    def remove(self, container_id: str) -> None:
        lg = self.logs.pop(container_id, None)
        if lg is not None:
            if self.on_remove is not None:
                self.on_remove(container_id)
            lg.on_change = None
            lg.close()
            lg.segments = []
            lg.spool = []
            shutil.rmtree(lg.path, ignore_errors=True)

    def close(self) -> None:
        for lg in self.logs.values():
            lg.close()


def _delivered_all(lg: ContainerLog) -> bool:
    """Every sink of ``lg`` has everything it stored (true with no sinks)."""
    return lg.delivery_floor() >= lg.end


def _mtime(seg: Segment) -> float:
    try:
        return seg.path.stat().st_mtime
    except OSError:
        return 0.0


def _is_container_id(s: str) -> bool:
    return len(s) == 64 and all(c in "0123456789abcdef" for c in s)
