"""Appending to a container's segments: raw chunk first, index, rotate as `local`, sync, disk-full.

The writer is the only code that writes segment and index files. It appends only past a segment's
``size`` (whole frames) and moves ``size`` forward only once the frames before it are written, so a
reader may read any segment below ``size`` at any time. Past ``size`` the active segment may hold
the incomplete frame the FIFO's reader is still receiving: the pending frame of one ``Scanner``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..framing import Scanner, ScanResult, frame_time
from .segment import BLOCK_BYTES, IDX, LOCAL_RECORD_EXTRA, Block, Kept, Segment, segment_path

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 20 * 1024 * 1024  # Docker's `local` driver default max-size (20 MiB, though an
# explicit `max-size=20m` means 20,000,000 bytes there: units.FromHumanSize)
DEFAULT_MAX_FILE = 5  # Docker's `local` driver default max-file

# The state dir's file system is full (or the quota is): the entries that do not fit are dropped and
# counted, the FIFO is still read (a container must never wait on our disk), and the next write
# tries again, so storing resumes by itself once there is room.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
DISK_FULL_WARN_SECONDS = 10.0  # at most one "disk full" warning per container this often


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in DISK_FULL_ERRNOS


class Syncer:
    """One background thread that flushes segment files (``fdatasync``) and removes the
    directories the store let go of, so a FIFO reader never waits on the disk. Its creator
    closes it; ``close`` waits for the jobs under way and is idempotent; a job asked for after
    ``close`` runs at once, in the caller's thread."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logdriver-fsync")
        self._closed = False

    def flush(self, fds: list[int], *, wait: bool = False) -> None:
        """``fdatasync`` then close each of ``fds`` (the caller's duplicates)."""
        if self._closed:
            _fdatasync_and_close(fds)
            return
        job: Future[None] = self._pool.submit(_fdatasync_and_close, fds)
        if wait:
            job.result()

    def remove_tree(self, path: Path) -> None:
        """Delete the directory ``path`` and all in it, errors ignored. Unlinking a container's
        synced history takes about 0.2 s per 300 MB here (ext4): in the loop's thread, every
        FIFO would wait that long."""
        if self._closed:
            shutil.rmtree(path, ignore_errors=True)
            return
        self._pool.submit(shutil.rmtree, path, ignore_errors=True)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.shutdown(wait=True)


def _fdatasync_and_close(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.fdatasync(fd)
        except OSError as exc:
            log.warning("fdatasync failed", extra={"error": exc.strerror})
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Writer:
    """Appends a container's frames to the history of ``files``, rotating as Docker's ``local``
    driver does: before an entry is written, if the active segment has reached ``max_size``
    counting each entry as ``local`` stores it. Segments past the last ``max_file`` move to the
    spool; ``on_spooled`` is then called (the container applies its spool policy). ``on_wrote``
    is called with the bytes of every write (followers wake, the store counts)."""

    def __init__(
        self,
        directory: Path,
        files: Kept,
        *,
        container_id: str,
        syncer: Syncer | None = None,
        on_wrote: Callable[[int], None] | None = None,
        on_spooled: Callable[[], None] | None = None,
    ) -> None:
        self.dir = directory
        self.files = files
        self.id = container_id
        self.max_size = DEFAULT_MAX_SIZE
        self.max_file = DEFAULT_MAX_FILE
        self._own_syncer = syncer is None
        self._syncer = syncer or Syncer()
        self._on_wrote = on_wrote
        self._on_spooled = on_spooled
        self._fd = -1
        self._idx_fd = -1
        self._splice_fd = -1  # the active segment, read-write without O_APPEND (splice_in)
        self.splice_ok = hasattr(os, "splice")  # until splice(2) fails other than for want of room
        self._closed = False
        self.dirty = False  # appended since the last sync
        # Raw bytes after the last whole frame of the active segment: the incomplete frame of the
        # scanner that owns them (``tail_owner``), or, right after a restart, of nobody yet.
        self.tail = b""
        self.tail_owner: Scanner | None = None
        self.stored_entries = 0  # entries written to segments since the plugin started
        self.dropped_lines = 0  # entries received but not stored: the disk was full
        self.disk_full_at = 0.0  # time.time() of the last entry dropped for a full disk
        self._disk_warned_at = 0.0
        self._scanned: ScanResult | None = None  # the chunk ingest() is storing, once scanned

    # ----------------------------------------------------------------- segments and fds
    def active(self) -> Segment:
        history = self.files.history
        if not history:
            return self._new_segment(0)
        return history[-1]

    def _new_segment(self, seq: int) -> Segment:
        self.close_fds()
        seg = Segment(seq, segment_path(self.dir, seq))
        seg.path.touch(mode=0o600)
        self.files.history.append(seg)
        return seg

    def _ensure_fds(self, seg: Segment) -> None:
        if self._fd < 0:
            self._fd = os.open(seg.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            self._idx_fd = os.open(
                seg.idx_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
            )

    def close_fds(self) -> None:
        for fd in (self._fd, self._idx_fd, self._splice_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._idx_fd = self._splice_fd = -1

    def _rotate(self) -> Segment:
        old = self.active()
        self._persist_blocks(old, final=True)
        self.sync()
        seg = self._new_segment(old.seq + 1)
        history = self.files.history
        if len(history) > self.max_file:
            while len(history) > self.max_file:
                self.files.spool.append(history.pop(0))  # out of `docker logs`
            if self._on_spooled is not None:
                self._on_spooled()
        return seg

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

    # ----------------------------------------------------------------- the pending frame
    def adopt_tail(self) -> Scanner | None:
        """A scanner continuing the incomplete frame a crashed predecessor left at the end of the
        active segment (None if there is none, or it has an owner already)."""
        if not self.tail or self.tail_owner is not None:
            return None
        self.tail_owner = Scanner(self.tail)
        return self.tail_owner

    def drop_tail(self, scanner: Scanner | None) -> None:
        """``scanner``'s FIFO is gone: its incomplete frame will never be completed."""
        if self.tail and self.tail_owner is scanner:
            seg = self.active()
            self._ensure_fds(seg)
            os.ftruncate(self._fd, seg.size)
            self.tail = b""
            self.tail_owner = None

    # ----------------------------------------------------------------- appending
    def splice_in(self, scanner: Scanner, pipe_fd: int, size: int) -> tuple[int, ScanResult | None]:
        """Move up to ``size`` bytes from the pipe ``pipe_fd`` (a FIFO, non-blocking) to the end
        of the active segment with splice(2), then store them as ``ingest`` does; returns how
        many bytes moved and their scan ((0, None) at end of file).

        Nothing the pipe gave up is ever only in this process's memory: a plugin killed at any
        point (even inside the call: the kernel moves whole pipe pages) finds every byte it took
        from the FIFO on disk at restart, where read(2) then write(2) lose what was read when
        the kill falls between the two or inside the write. Raises BlockingIOError when the pipe
        is empty, and OSError from splice(2); on EINVAL/ENOSYS/EPERM/EOPNOTSUPP (a file system
        or sandbox without splice) ``splice_ok`` turns False and the caller reads instead."""
        seg = self.active()
        self._ensure_fds(seg)
        self._claim_end(seg, scanner)
        if self._splice_fd < 0:
            self._splice_fd = os.open(seg.path, os.O_RDWR | os.O_CLOEXEC)
        # The file ends where its whole frames end plus the incomplete frame kept after them:
        # every write here keeps it so (a failed one truncates back to ``size``), no fstat(2).
        end = seg.size + len(self.tail)
        try:
            moved = os.splice(pipe_fd, self._splice_fd, size, offset_dst=end,
                              flags=os.SPLICE_F_NONBLOCK)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.EOPNOTSUPP):
                self.splice_ok = False
                log.warning("splice(2) into the store failed: reading this FIFO with read(2) "
                            "(a plugin killed mid-read may lose the entries of one read)",
                            extra={"container": self.id, "error": exc.strerror})
            raise
        if not moved:
            return 0, None
        chunk = os.pread(self._splice_fd, moved, end)
        while len(chunk) < moved:  # (a regular file's pread is whole; never trust it blindly)
            more = os.pread(self._splice_fd, moved - len(chunk), end + len(chunk))
            if not more:
                raise OSError(errno.EIO, "segment shorter than what splice(2) wrote to it")
            chunk += more
        return moved, self.ingest(scanner, chunk, on_disk=True)

    def _claim_end(self, seg: Segment, scanner: Scanner) -> None:
        """Before ``scanner``'s bytes go to the end of ``seg``: an incomplete frame there that is
        not its own (another reader's, kept in its memory, or an orphan from before a restart) is
        not ours to extend, and goes."""
        if self.tail and self.tail_owner is not scanner:
            os.ftruncate(self._fd, seg.size)
            self.tail = b""

    def ingest(self, scanner: Scanner, chunk: bytes, *, on_disk: bool = False) -> ScanResult:
        """Store one chunk just read from the FIFO that ``scanner`` scans.

        The raw chunk goes to disk first, right after the bytes already there, so a plugin killed
        while it looks at the chunk loses nothing: on restart the segment's tail (whole frames
        plus an incomplete one) is found again and the FIFO's rest completes it. Then the chunk is
        scanned; when it holds only whole valid frames up to its incomplete tail and needs no
        rotation (the usual case), it is already in place and only the index changes. Otherwise
        the raw bytes are taken back and the valid frames are written properly.

        ``on_disk``: ``splice_in`` put the chunk at the segment's end already.
        """
        stored_before = self.stored_entries
        self._scanned = None
        try:
            return self._ingest(scanner, chunk, on_disk)
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
            if self.files.history:
                seg = self.files.history[-1]
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

    def _ingest(self, scanner: Scanner, chunk: bytes, on_disk: bool) -> ScanResult:
        seg = self.active()
        self._ensure_fds(seg)
        if not on_disk:
            self._claim_end(seg, scanner)
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
            seg = self.active()
            self._ensure_fds(seg)
            _write_all(self._fd, res.rest)
        self.tail = res.rest
        self.tail_owner = scanner if res.rest else None
        return res

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
                seg = self.active()
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
        seg.count += count
        # A full block takes no more frames (the next write opens a new one); it reaches the
        # .idx file with the next sync (every second, before the segment's fdatasync), at
        # rotation or at close: one index write per sync, not one per block. The index is a
        # cache: after a crash, recovery rebuilds what it lacks from the frames.

    def _wrote(self, nbytes: int) -> None:
        self.dirty = True
        if self._on_wrote is not None:
            self._on_wrote(nbytes)

    # ----------------------------------------------------------------- durability
    def sync(self, *, wait: bool = False) -> None:
        """Flush the active segment and its index to disk: in the background (the FIFO reader
        must never wait on the disk's flush), or waiting for it with ``wait``."""
        if not self.files.history or self._fd < 0:
            return
        try:
            self._persist_blocks(self.files.history[-1])
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            # The index is a cache of the segment: a restart rebuilds what it lacks from frames.
            log.debug("index not saved: the disk is full", extra={"container": self.id})
        self.dirty = False
        self._syncer.flush([os.dup(self._fd), os.dup(self._idx_fd)], wait=wait)

    def release_fds(self) -> None:
        """Close the segment's file descriptors (they reopen on the next append)."""
        if self._fd >= 0:
            self.sync()
        self.close_fds()

    def close(self) -> None:
        """Persist the index, flush and close (idempotent); closes the syncer if it is ours."""
        if self._closed:
            return
        self._closed = True
        if self.files.history and self._fd >= 0:
            self._persist_blocks(self.files.history[-1], final=True)
            self.sync(wait=True)
        self.close_fds()
        if self._own_syncer:
            self._syncer.close()


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
