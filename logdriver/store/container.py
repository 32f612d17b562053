"""One container's store: meta.json, recovery, its writer and reader, the spool policy, followers.

A ``ContainerLog`` ties together what store/ splits by role: the ``Kept`` segments (segment.py),
the ``Writer`` that appends to them (writer.py), the ``Reader`` every consumer reads them with
(reader.py), and the drop ledger (ledger.py). It owns the container's ``meta.json`` and applies
``spool-max-size`` / ``spool-when-full`` to its own spool; the disk budget across containers is
store.py's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..delegate import Delegate, Writable
from ..framing import Scanner, ScanResult
from . import fifos
from .ledger import (
    BLOCK,
    DROP_OLDEST,
    HISTORY_OVERWRITE,
    NO_FLOOR,
    SPOOL_FULL,
    Dropped,
    Position,
    delivery_floor,
    load_ledger,
    trim_ledger,
)
from .reader import Reader
from .segment import Kept, Segment, recover, write_json
from .writer import DEFAULT_MAX_FILE, DEFAULT_MAX_SIZE, Syncer, Writer, is_disk_full

log = logging.getLogger(__name__)

DELETED_SIZES_KEPT = 64  # sizes of deleted segments remembered for a late reader's byte count


class ContainerLog(Reader):
    """The history and spool of one container, on disk under ``path``; read as any ``Reader``."""

    def __init__(
        self,
        path: Path,
        container_id: str,
        *,
        on_grow: Callable[[ContainerLog, int], None] | None = None,
        syncer: Syncer | None = None,
    ) -> None:
        self.path = path
        self.id = container_id
        self.meta: dict[str, Any] = {}
        super().__init__(Kept())  # the segments on disk, shared with the writer
        self.writer = Writer(path, self.files, container_id=container_id, syncer=syncer,
                             on_wrote=self._wrote, on_spooled=self._spooled)
        self.sinks: tuple[str, ...] = ()  # names of the container's sinks (their cursor files)
        self.spool_max_size: int | None = None  # bytes; None: bounded by the disk budget only
        self.when_full = DROP_OLDEST
        self.spool_blocked = False  # the spool is over spool-max-size and the policy is block
        self.budget_blocked = False  # the store is over budget, this spool could give, policy block
        self.ledger_version = 0  # bumped at each change of ``ledger``
        self.blocked_seconds = 0.0  # time its FIFOs were not read because the spool was full
        self._blocked_at = 0.0
        # Called when a block ends (the FIFO readers resume).
        self.on_unblock: list[Callable[[], None]] = []
        self.running_fifos: set[str] = set()
        self._saved_meta = ""  # meta.json as last read or written (unchanged: not rewritten)
        self.stop_count = 0  # bumped by every stop; followers end when it changes
        self.dropped_segments = 0
        self._on_grow = on_grow
        self._closed = False
        self.received_lines = 0  # entries received since the plugin started (for /metrics)
        self.received_bytes = 0
        self.corrupt_frames = 0
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
        syncer: Syncer | None = None,
    ) -> ContainerLog:
        """Open (or create) the store at ``path``, repairing a half-written tail."""
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self = cls(path, container_id, on_grow=on_grow, syncer=syncer)
        meta_path = path / "meta.json"
        if meta_path.exists():
            try:
                self.meta = json.loads(meta_path.read_text())
                self._saved_meta = json.dumps(self.meta)
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
        kept, self.writer.tail = recover(path, container_id)
        # The last max-file segments are the history; older ones are the delivery spool.
        split = max(len(kept) - self.max_file, 0)
        self.spool, self.segments = kept[:split], kept[split:]
        return self

    # ----------------------------------------------------------------- metadata
    def save_meta(self) -> None:
        """Save meta.json (fsync + rename) if its content changed since it was last read or
        written. The running FIFOs are not in it (see fifos.py)."""
        self.meta["max_size"] = self.max_size
        self.meta["max_file"] = self.max_file
        self.meta.pop("fifos", None)  # an older plugin's record; fifos.recorded() read it
        self.meta["sinks"] = list(self.sinks)
        self.meta["spool_max_size"] = self.spool_max_size
        self.meta["when_full"] = self.when_full
        self.meta["dropped"] = [d.to_json() for d in self.ledger.values()]
        text = json.dumps(self.meta)
        if text == self._saved_meta:
            return
        try:
            write_json(self.path / "meta.json", self.meta)
            self._saved_meta = text
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            # The old meta.json stays; what it misses (a stop time) is found again from the
            # daemon's next calls or costs a `docker logs -f` an extra wait after a restart.
            log.warning("cannot save meta.json: the disk is full", extra={"container": self.id})

    def save_info(self, info: dict[str, Any]) -> None:
        """Keep a StartLogging's Info (secrets already removed) in meta.json, and save it."""
        self.meta["info"] = info
        self.save_meta()

    def recorded_fifos(self) -> list[str]:
        """The FIFOs this container's output ran through when the plugin last stopped (or
        died): a restart re-opens them."""
        return fifos.recorded(self.path, self.meta.get("fifos") or ())

    def fifo_opened(self, path: str) -> None:
        """The plugin reads this container's output from ``path``, noted at once (fifos.py) for
        a restart to re-open. OSError if it cannot be noted, unless the disk is full."""
        self.running_fifos.add(path)
        try:
            fifos.record(self.path, path)
        except OSError as exc:
            if not is_disk_full(exc):
                self.running_fifos.discard(path)
                raise
            log.warning("cannot note the FIFO: the disk is full", extra={"container": self.id})

    def fifo_closed(self, path: str, *, forget: bool = True) -> None:
        """The container's output through ``path`` has ended; its note goes now, or with
        ``forget=False`` by the caller's ``forget_fifo`` (off the loop: an unlink can wait
        milliseconds on the journal)."""
        self.running_fifos.discard(path)
        if forget:
            self.forget_fifo(path)

    def forget_fifo(self, path: str) -> None:
        """Remove the note of ``path``; a failure is logged (the next start drops a note of a
        FIFO that is gone)."""
        try:
            fifos.forget(self.path, path)
        except OSError as exc:
            log.warning("cannot remove the FIFO's note",
                        extra={"container": self.id, "error": exc.strerror})

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

    # ----------------------------------------------------------------- state
    # The history: what `docker logs` shows; the spool: older segments kept only until every
    # sink has them; the ledger: undelivered segments dropped, by sequence number; kept: spool
    # then history (consecutive sequence numbers).
    segments = Writable[list[Segment]]("files", "history")
    spool = Writable[list[Segment]]("files")
    ledger = Writable[dict[int, Dropped]]("files")
    kept = Delegate[list[Segment]]("files", "all")
    max_size = Writable[int]("writer")
    max_file = Writable[int]("writer")

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

    @property
    def tail(self) -> bytes:
        """Bytes past the last whole frame of the active segment (a FIFO's pending frame)."""
        return self.writer.tail

    dirty = Delegate[bool]("writer")
    stored_entries = Delegate[int]("writer")
    dropped_lines = Delegate[int]("writer")
    disk_full_at = Delegate[float]("writer")

    # ----------------------------------------------------------------- writing
    def ingest(self, scanner: Scanner, chunk: bytes) -> ScanResult:
        """Store one chunk just read from the FIFO ``scanner`` scans (see ``Writer.ingest``), and
        count it as received."""
        res = self.writer.ingest(scanner, chunk)
        self.received_lines += res.count
        self.received_bytes += len(chunk)
        self.corrupt_frames += res.corrupt
        return res

    def splice_in(self, scanner: Scanner, pipe_fd: int, size: int) -> tuple[int, ScanResult | None]:
        """Move up to ``size`` bytes from the FIFO ``pipe_fd`` into the store (``Writer.splice_in``:
        its errors, (0, None) at end of file), and count them as received."""
        moved, res = self.writer.splice_in(scanner, pipe_fd, size)
        if res is not None:
            self.received_lines += res.count
            self.received_bytes += moved
            self.corrupt_frames += res.corrupt
        return moved, res

    @property
    def splice_ok(self) -> bool:
        """The store takes FIFO data with splice(2) (``splice_in``); else read it and ``ingest``."""
        return self.writer.splice_ok

    def count_corrupt(self, frames: int) -> None:
        """``frames`` more were skipped as corrupt outside ``ingest`` (a FIFO's unfinished end)."""
        self.corrupt_frames += frames

    def append(self, res: ScanResult) -> int:
        return self.writer.append(res)

    def adopt_tail(self) -> Scanner | None:
        return self.writer.adopt_tail()

    def drop_tail(self, scanner: Scanner | None) -> None:
        self.writer.drop_tail(scanner)

    def sync(self, *, wait: bool = False) -> None:
        self.writer.sync(wait=wait)

    def release_fds(self) -> None:
        self.writer.release_fds()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.writer.close()
        self.wake()

    def _wrote(self, nbytes: int) -> None:
        self.wake()
        if self._on_grow is not None:
            self._on_grow(self, nbytes)

    def _spooled(self) -> None:
        # Kept for delivery only while a sink lacks it, within the spool's limit.
        self.release_delivered()
        self.check_spool_limit()

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
        while self.spool and delivered(self.spool[0], floor):
            gone = self.spool.pop(0)
            freed += gone.size
            self._delete(gone)
        if freed and self.blocked:
            self.check_spool_limit()
        return freed

    def check_spool_limit(self) -> None:
        """Apply ``spool-when-full`` to this container's own limit, ``spool-max-size``."""
        limit = self.spool_max_size
        if limit is None:  # no limit of its own: only the disk budget applies
            self.set_blocked(spool=False)
            return
        over = self.spool_bytes > limit
        if over and self.when_full == DROP_OLDEST:
            # spool-max-size=0 turns the spool off: history is all there is.
            cause = HISTORY_OVERWRITE if limit == 0 else SPOOL_FULL
            while self.spool and self.spool_bytes > limit:
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
        if self.blocked != was:
            self.wake()  # delivery sends what it holds at once while blocked (a state message)

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
            self.writer.close_fds()
        self.segments.pop(0)
        if delivered(gone, self.delivery_floor()):
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
        gone = self.files.gone_sizes
        gone[seg.seq] = seg.size
        while len(gone) > DELETED_SIZES_KEPT:
            del gone[min(gone)]
        for p in (seg.path, seg.idx_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self.wake()

    # ----------------------------------------------------------------- follow
    def wake(self) -> None:
        """Tell ``on_change`` (the shipper's hook), then wake every ``wait_change``."""
        if self.on_change is not None:
            self.on_change(self)
        super().wake()

    def mark_stopped(self, *, record_time: bool = True) -> None:
        """A FIFO of this container stopped: followers end; eviction order uses the time."""
        self.stop_count += 1
        if record_time:
            self.meta["stopped_at"] = time.time()
        self.wake()


def delivered(seg: Segment, floor: Position) -> bool:
    """Every sink has all of ``seg`` (its cursor is at or past the segment's end)."""
    return floor[0] > seg.seq or (floor[0] == seg.seq and floor[1] >= seg.size)
