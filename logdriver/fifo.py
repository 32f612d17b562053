"""One log FIFO from the daemon: its reader, its pending frame, and the moves into the store.

A ``FifoReader`` reads one FIFO without ever blocking the loop and hands each chunk, with its
``Scanner`` (which holds the incomplete frame at the end of what was read: the pending frame),
to the container's store. It tells its owner what happened through callbacks: ``on_gone`` when
the daemon closed the FIFO, ``on_corrupt`` with each count of frames skipped as corrupt.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import stat
from collections.abc import Callable

from .errors import RequestError
from .framing import Scanner, ScanResult
from .store import ContainerLog, is_disk_full

log = logging.getLogger(__name__)

F_SETPIPE_SZ = 1031  # fcntl command (linux/fcntl.h); not exposed by Python 3.11's fcntl module
PIPE_BYTES = 1 << 20  # FIFO buffer we ask for: room for ~10k short lines while we are busy
READ_CHUNK = 1 << 20  # one os.read from a FIFO (the whole pipe)
READ_BUDGET = 4 << 20  # bytes one readiness callback takes before yielding to other FIFOs
COALESCE_SECONDS = 0.01  # pause after a small read; a 1 MiB pipe takes >50 ms to fill at 20 MB/s
# A steady writer's pause grows up to this so each read takes about a tenth of the pipe: fewer,
# bigger reads (each wake-up has a fixed cost) with the pipe never near full at that rate.
MAX_COALESCE_SECONDS = 0.04


class FifoReader:
    """Moves frames from one FIFO into one container's store. Never waits on anything else."""

    def __init__(
        self,
        path: str,
        clog: ContainerLog,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        pipe_bytes: int = PIPE_BYTES,
        on_gone: Callable[[FifoReader], None] | None = None,
        on_corrupt: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self.clog = clog
        self._loop = loop
        self.pipe_bytes = pipe_bytes
        self.on_gone = on_gone  # the daemon closed the FIFO (EOF or a read error)
        self.on_corrupt = on_corrupt  # frames skipped as corrupt
        self.scanner = Scanner()  # holds the pending (incomplete) frame of this FIFO
        self.fd = -1
        self.entries = 0
        self.closed = False
        self.eof = False
        self._eof_waiter: asyncio.Future[None] | None = None
        self._pipe_big = False  # the pipe holds ``pipe_bytes``, so reads may be spaced out
        self._timer: asyncio.Handle | None = None  # the next poll, while data flows (not watched)
        self._read_at = 0.0  # loop time of the last read that found data

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the FIFO is watched on (by default the running one)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def open(self) -> None:
        """Open the FIFO (never following a link, refusing anything but a FIFO), ask for a
        bigger pipe and start reading. Raises OSError, or RequestError if it is no FIFO."""
        st = os.lstat(self.path)
        if not stat.S_ISFIFO(st.st_mode):
            raise RequestError("File is not a FIFO")
        self.fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        if not stat.S_ISFIFO(os.fstat(self.fd).st_mode):  # replaced since the lstat
            os.close(self.fd)
            self.fd = -1
            raise RequestError("File is not a FIFO")
        try:
            fcntl.fcntl(self.fd, F_SETPIPE_SZ, self.pipe_bytes)
            self._pipe_big = True
        except OSError:
            log.debug("could not raise the FIFO's size", extra={"fifo": self.path})
        self.loop.add_reader(self.fd, self._on_readable)

    # Reading: while data flows, the reader polls the FIFO on a timer (every ``COALESCE_SECONDS``,
    # or at once after a big read) with the fd out of the loop's selector, and goes back to
    # waiting for readiness only when a poll finds the pipe empty: a steady writer costs one
    # read per tick and no selector change per tick (an unregister and a register each cost
    # about as much as the read itself).
    def _on_readable(self) -> None:
        self._take(watched=True)

    def _poll(self) -> None:
        self._timer = None
        if self.fd >= 0 and not self.closed:
            self._take(watched=False)

    def _take(self, *, watched: bool) -> None:
        """Read what is waiting, then decide how to wait for more. ``watched``: the fd is
        registered with the loop (readiness called us), else a poll timer did."""
        try:
            taken = self.read_available(READ_BUDGET, until_blocked=True, short_read_ends=True)
        except Exception:  # a bug here must not kill the loop or the other FIFOs
            log.exception("FIFO reader failed", extra={"fifo": self.path})
            self.close()
            return
        if self.fd < 0:
            return
        if self.clog.blocked:
            # spool-when-full=block: leave the rest in the pipe, so the container waits, until
            # delivery makes room (the store calls _unblocked).
            if watched:
                self.loop.remove_reader(self.fd)
            if self._unblocked not in self.clog.on_unblock:
                self.clog.on_unblock.append(self._unblocked)
            return
        if not self._pipe_big:
            return  # a small pipe: always read as soon as it is readable (still watched)
        if taken == 0:
            if not watched:  # the writer paused: wait for readiness again
                self.loop.add_reader(self.fd, self._on_readable)
            return
        now = self.loop.time()
        since, self._read_at = now - self._read_at, now
        if watched:
            self.loop.remove_reader(self.fd)
        if taken < self.pipe_bytes // 8:
            # Little was waiting: let the pipe fill a little before the next read, so a fast
            # writer costs us one read per few milliseconds instead of one per line. Polled
            # (the data kept flowing), the rate of this read sets the pause; after a wait for
            # readiness the rate is unknown: the shortest pause.
            pause = COALESCE_SECONDS
            if not watched:
                pause = min(max(since * (self.pipe_bytes // 10) / taken, pause),
                            MAX_COALESCE_SECONDS)
            self._timer = self.loop.call_later(pause, self._poll)
        else:  # much was waiting (or the budget ran out): read again once others had a turn
            self._timer = self.loop.call_soon(self._poll)

    def _resume(self) -> None:
        if self.fd >= 0 and not self.closed:
            self._cancel_poll()
            self.loop.add_reader(self.fd, self._on_readable)

    def _cancel_poll(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _unblocked(self) -> None:
        with contextlib.suppress(ValueError):
            self.clog.on_unblock.remove(self._unblocked)
        self._resume()

    def read_available(self, budget: int | None = None, *, until_blocked: bool = False,
                       short_read_ends: bool = False) -> int:
        """Read and store what the pipe holds now (up to ``budget`` bytes); returns bytes read.
        ``until_blocked`` stops early once the container's spool is full under ``block`` (a
        StopLogging or a shutdown drains the pipe regardless: what the daemon wrote is kept).
        ``short_read_ends``: a read shorter than asked for emptied the pipe (a pipe read
        returns all it holds up to the size asked), so stop there instead of reading again
        until the read fails with EAGAIN; what arrives meanwhile waits for the next read."""
        taken = 0
        while self.fd >= 0 and (budget is None or taken < budget):
            if until_blocked and self.clog.blocked:
                break
            try:
                got = self._splice() if self.clog.splice_ok else self._read()
            except BlockingIOError:
                break
            except OSError:
                log.exception("FIFO read failed", extra={"fifo": self.path})
                self._on_eof()
                break
            if not got:
                self._on_eof()
                break
            taken += got
            if short_read_ends and got < READ_CHUNK:
                break
        return taken

    def _splice(self) -> int:
        """Move one chunk from the pipe into the store (ContainerLog.splice_in: no byte taken
        from the FIFO is ever only in memory); falls back to ``_read`` when the store cannot
        take it so (no splice(2) here, or its disk is full: the entries are counted as lost and
        the container goes on). Returns bytes taken, 0 at end of file."""
        try:
            moved, res = self.clog.splice_in(self.scanner, self.fd, READ_CHUNK)
        except OSError as exc:  # (an empty pipe's BlockingIOError goes up: splice_ok stays)
            if self.clog.splice_ok and not is_disk_full(exc):
                raise
            return self._read()
        if res is not None:
            self._scanned(res)
        return moved

    def _read(self) -> int:
        chunk = os.read(self.fd, READ_CHUNK)
        if chunk:
            self._ingest(chunk)
        return len(chunk)

    def _ingest(self, chunk: bytes) -> None:
        self._scanned(self.clog.ingest(self.scanner, chunk))

    def _scanned(self, res: ScanResult) -> None:
        if res.corrupt:
            self._corrupt(res.corrupt)
            log.warning("skipped corrupt frames", extra={"fifo": self.path, "count": res.corrupt})
        self.entries += res.count

    def _corrupt(self, frames: int) -> None:
        if self.on_corrupt is not None:
            self.on_corrupt(frames)

    def adopt_tail(self) -> None:
        """Continue the incomplete frame a crashed predecessor left at the end of the store."""
        scanner = self.clog.adopt_tail()
        if scanner is not None:
            self.scanner = scanner

    def _on_eof(self) -> None:
        self.eof = True
        dropped = self.scanner.finish()
        if dropped:
            self.clog.count_corrupt(dropped)
            self._corrupt(dropped)
        self._detach()
        if self._eof_waiter is not None and not self._eof_waiter.done():
            self._eof_waiter.set_result(None)
        if self.on_gone is not None:
            self.on_gone(self)

    def _detach(self) -> None:
        self._cancel_poll()
        if self.fd >= 0:
            self.loop.remove_reader(self.fd)  # (no-op when it was not registered)
            os.close(self.fd)
            self.fd = -1

    async def wait_eof(self, timeout: float) -> None:
        if self.eof or self.fd < 0:
            return
        self._eof_waiter = self.loop.create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._eof_waiter), timeout)

    def close(self, *, keep_pending: bool = False) -> None:
        """Stop reading. ``keep_pending`` leaves a half-read frame on disk for the next start."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(ValueError):
            self.clog.on_unblock.remove(self._unblocked)
        self._detach()
        if not keep_pending:
            self.clog.drop_tail(self.scanner)
