"""Containers by ID and FIFOs by path: StartLogging, StopLogging, ReadLogs and restart recovery."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import stat
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import sinks

from .delivery import Delivery
from .framing import ReadlogsFilter, Scanner
from .observe import RequestTimes
from .options import LogConfig, OptionError
from .store.container import ContainerLog, Store
from .shipper import Shipper
from .store.ledger import MAINTAIN_SECONDS

log = logging.getLogger(__name__)

FIFO_ROOT = "/run/docker/logging"  # the daemon's log FIFOs (same path inside a managed plugin)
F_SETPIPE_SZ = 1031  # fcntl command (linux/fcntl.h); not exposed by Python 3.11's fcntl module
PIPE_BYTES = 1 << 20  # FIFO buffer we ask for: room for ~10k short lines while we are busy
READ_CHUNK = 1 << 20  # one os.read from a FIFO (the whole pipe)
READ_BUDGET = 4 << 20  # bytes one readiness callback takes before yielding to other FIFOs
COALESCE_SECONDS = 0.01  # pause after a small read; a 1 MiB pipe takes >50 ms to fill at 20 MB/s
FOLLOW_POLL_SECONDS = 5.0  # a follower re-checks its client even when nothing is written
OUT_BATCH_BYTES = 256 * 1024  # ReadLogs writes the client this much at a time
VERIFY_SECONDS = 3.0  # a sink's connection check never holds a container's start longer

_ID_RE = re.compile(r"^[0-9a-f]{64}$")
_FIFO_NAME_RE = re.compile(r"^[0-9a-f]{64}$")


class RequestError(ValueError):
    """A request the plugin refuses; the message is safe to show the user."""


@dataclass(frozen=True, slots=True)
class ReadRequest:
    since: int  # ns since the epoch; 0 = no bound
    until: int  # ns since the epoch; 0 = no bound
    tail: int  # -1 = all
    follow: bool


def validate_container_id(value: Any) -> str:
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise RequestError("ContainerID must be 64 lowercase hex characters")
    return value


def validate_fifo_path(value: Any, root: str = FIFO_ROOT) -> str:
    """The FIFO must be named by 64 hex digits directly in ``root``: nothing else is opened."""
    if not isinstance(value, str) or not value:
        raise RequestError("File must be a path under " + root)
    head, name = os.path.split(value)
    # Literally the root, not just normalised to it: the kernel resolves `..` after symlinks,
    # so root/link/../<hex> may name a file anywhere.
    if head != os.path.normpath(root) or not _FIFO_NAME_RE.fullmatch(name):
        raise RequestError(f"File must be {root}/<64 hex characters>")
    return value


class FifoReader:
    """Moves frames from one FIFO into one container's store. Never waits on anything else."""

    def __init__(
        self,
        driver: Driver,
        path: str,
        clog: ContainerLog,
    ) -> None:
        self.driver = driver
        self.path = path
        self.clog = clog
        self.scanner = Scanner()
        self.fd = -1
        self.entries = 0
        self.closed = False
        self.eof = False
        self._eof_waiter: asyncio.Future[None] | None = None
        self._pipe_big = False  # the pipe holds PIPE_BYTES, so reads may be spaced out

    def open(self) -> None:
        st = os.lstat(self.path)
        if not stat.S_ISFIFO(st.st_mode):
            raise RequestError("File is not a FIFO")
        self.fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        if not stat.S_ISFIFO(os.fstat(self.fd).st_mode):  # replaced since the lstat
            os.close(self.fd)
            self.fd = -1
            raise RequestError("File is not a FIFO")
        try:
            fcntl.fcntl(self.fd, F_SETPIPE_SZ, self.driver.pipe_bytes)
            self._pipe_big = True
        except OSError:
            log.debug("could not raise the FIFO's size", extra={"fifo": self.path})
        self.driver.loop.add_reader(self.fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            taken = self.read_available(READ_BUDGET, until_blocked=True)
        except Exception:  # a bug here must not kill the loop or the other FIFOs
            log.exception("FIFO reader failed", extra={"fifo": self.path})
            self.close()
            return
        if self.fd >= 0 and self.clog.blocked:
            # spool-when-full=block: leave the rest in the pipe, so the container waits, until
            # delivery makes room (the store calls _unblocked).
            self.driver.loop.remove_reader(self.fd)
            if self._unblocked not in self.clog.on_unblock:
                self.clog.on_unblock.append(self._unblocked)
            return
        if self.fd >= 0 and taken < self.driver.pipe_bytes // 8 and self._pipe_big:
            # Little was waiting: let the pipe fill a little before the next wake-up, so a fast
            # writer costs us one read per few milliseconds instead of one per line.
            self.driver.loop.remove_reader(self.fd)
            self.driver.loop.call_later(COALESCE_SECONDS, self._resume)

    def _resume(self) -> None:
        if self.fd >= 0 and not self.closed:
            self.driver.loop.add_reader(self.fd, self._on_readable)

    def _unblocked(self) -> None:
        with contextlib.suppress(ValueError):
            self.clog.on_unblock.remove(self._unblocked)
        self._resume()

    def read_available(self, budget: int | None = None, *, until_blocked: bool = False) -> int:
        """Read and store what the pipe holds now (up to ``budget`` bytes); returns bytes read.
        ``until_blocked`` stops early once the container's spool is full under ``block`` (a
        StopLogging or a shutdown drains the pipe regardless: what the daemon wrote is kept)."""
        taken = 0
        while self.fd >= 0 and (budget is None or taken < budget):
            if until_blocked and self.clog.blocked:
                break
            try:
                chunk = os.read(self.fd, READ_CHUNK)
            except BlockingIOError:
                break
            except OSError:
                log.exception("FIFO read failed", extra={"fifo": self.path})
                self._on_eof()
                break
            if not chunk:
                self._on_eof()
                break
            taken += len(chunk)
            self._ingest(chunk)
        return taken

    def _ingest(self, chunk: bytes) -> None:
        res = self.clog.ingest(self, self.scanner, chunk)
        self.clog.received_lines += res.count
        self.clog.received_bytes += len(chunk)
        if res.corrupt:
            self.clog.corrupt_frames += res.corrupt
            self.driver.corrupt_frames += res.corrupt
            log.warning("skipped corrupt frames", extra={"fifo": self.path, "count": res.corrupt})
        self.entries += res.count

    def adopt_tail(self) -> None:
        """Continue the incomplete frame a crashed predecessor left at the end of the store."""
        if self.clog.tail and self.clog.tail_owner is None:
            self.scanner = Scanner(self.clog.tail)
            self.clog.tail_owner = self

    def _on_eof(self) -> None:
        self.eof = True
        dropped = self.scanner.finish()
        if dropped:
            self.clog.corrupt_frames += dropped
            self.driver.corrupt_frames += dropped
        self._detach()
        if self._eof_waiter is not None and not self._eof_waiter.done():
            self._eof_waiter.set_result(None)
        self.driver.reader_gone(self)

    def _detach(self) -> None:
        if self.fd >= 0:
            self.driver.loop.remove_reader(self.fd)  # (no-op when it was not registered)
            os.close(self.fd)
            self.fd = -1

    async def wait_eof(self, timeout: float) -> None:
        if self.eof or self.fd < 0:
            return
        self._eof_waiter = self.driver.loop.create_future()
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
            self.clog.drop_tail(self)


class Driver:
    """The log driver: owns the store and every FIFO reader."""

    def __init__(
        self,
        store: Store,
        *,
        delivery: Delivery | Shipper | None = None,
        fifo_root: str = FIFO_ROOT,
        pipe_bytes: int = PIPE_BYTES,
        stop_eof_timeout: float = 2.0,
    ) -> None:
        self.store = store
        # In-process workers (tests), or the shipper process (the plugin, see shipper.py).
        self.delivery: Delivery | Shipper = delivery or Delivery()
        self.fifo_root = fifo_root
        self.pipe_bytes = pipe_bytes
        self.stop_eof_timeout = stop_eof_timeout
        self.readers: dict[str, FifoReader] = {}
        self.corrupt_frames = 0
        self.request_times = RequestTimes()  # plugin API calls, for /metrics
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._maintainer: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Open the store and re-open the FIFOs of containers that were running at a crash."""
        self._loop = asyncio.get_running_loop()
        self.store.open()
        for clog in list(self.store.logs.values()):
            fifos = list(clog.meta.get("fifos") or [])
            for path in fifos:
                try:
                    validate_fifo_path(path, self.fifo_root)
                    reader = FifoReader(self, path, clog)
                    reader.open()
                except (OSError, RequestError) as exc:
                    log.info("FIFO from before the restart is gone",
                             extra={"container": clog.id, "error": str(exc)})
                    continue
                reader.adopt_tail()
                self.readers[path] = reader
                clog.running_fifos.add(path)
                log.info("re-opened FIFO after restart", extra={"container": clog.id})
                reader.read_available()
            if set(fifos) != clog.running_fifos:
                clog.save_meta()
            self._resume_delivery(clog)
        self._maintainer = self._loop.create_task(self._maintain(), name="store-maintain")

    async def _maintain(self) -> None:
        """Release delivered spool segments, apply the disk budget, lift blocks: every
        MAINTAIN_SECONDS (delivery moves cursors in another process, which never writes the
        store)."""
        while not self._closing:
            await asyncio.sleep(MAINTAIN_SECONDS)
            try:
                self.store.maintain()
            except OSError as exc:
                log.warning("store maintenance failed", extra={"error": exc.strerror})

    def _resume_delivery(self, clog: ContainerLog) -> None:
        """Workers of a container from before the restart pick up at their cursors."""
        info = clog.meta.get("info") or {}
        opts = info.get("Config") or {}
        if not isinstance(opts, dict) or not any(k in sinks.SINK_OPTION_KEYS for k in opts):
            return
        if clog.sinks and not clog.running and clog.delivery_floor() >= clog.end:
            return  # stopped, and every sink has everything: no worker to start
        try:
            configs = sinks.configure(opts, self.delivery.env)
            join = sinks.join_config(opts)
            if configs and not clog.sinks:  # a meta.json from before the spool
                clog.sinks = tuple(c.name for c in configs)
            if configs:
                self.delivery.attach(clog, configs, join, info, opts)
        except sinks.SinkOptionError as exc:
            log.error("cannot resume delivery", extra={"container": clog.id, "error": str(exc)})

    async def close(self) -> None:
        """Take what the pipes hold now, give delivery a moment to send it, and close, keeping
        FIFO records and cursors for the next start."""
        self._closing = True
        if self._maintainer is not None:
            self._maintainer.cancel()
        for reader in list(self.readers.values()):
            with contextlib.suppress(OSError):
                reader.read_available()
            reader.close(keep_pending=True)
        for task in list(self._tasks):
            task.cancel()
        await self.delivery.close()
        self.store.close()

    # ----------------------------------------------------------------- API operations
    async def start_logging(self, file: Any, info: Mapping[str, Any]) -> None:
        path = validate_fifo_path(file, self.fifo_root)
        if not isinstance(info, Mapping):
            raise RequestError("Info must be an object")
        cid = validate_container_id(info.get("ContainerID"))
        config = info.get("Config") or {}
        if not isinstance(config, Mapping):
            raise RequestError("Info.Config must be an object of strings")
        try:
            cfg = LogConfig.from_options(config)
            sink_configs = sinks.configure(config, self.delivery.env)
            join = sinks.join_config(config)
            if sink_configs:
                sinks.context_for(info, config, hostname=self.delivery.hostname)
        except (OptionError, sinks.SinkOptionError) as exc:
            raise RequestError(str(exc)) from exc
        if path in self.readers:
            raise RequestError("this FIFO is already being read")
        known = self.store.logs.get(cid)
        # The connection check runs only on a container's first start: a later StartLogging
        # may be `docker logs` on a stopped container, which must never depend on a sink. Every
        # start saves Info in meta.json, so a container seen before has it, output or not.
        first = (known is None or "info" not in known.meta) and not self.store.was_evicted(cid)
        await _check_sinks(sink_configs, self.delivery.transport, connect=first)
        clog = self.store.get(cid)
        clog.configure(max_size=cfg.store.max_size, max_file=cfg.store.max_file,
                       sinks=tuple(c.name for c in sink_configs),
                       spool_max_size=cfg.store.spool_max_size, when_full=cfg.store.when_full)
        reader = FifoReader(self, path, clog)
        try:
            reader.open()
        except FileNotFoundError as exc:
            reader.close()
            raise RequestError("File does not exist") from exc
        except OSError as exc:
            reader.close()
            raise RequestError(f"cannot open File: {exc.strerror}") from exc
        self.readers[path] = reader
        clog.running_fifos.add(path)
        clog.meta["info"] = _public_info(info)
        clog.save_meta()
        if sink_configs:
            self.delivery.attach(clog, sink_configs, join, info, config)
        log.info("start logging", extra={"container": cid, "sinks": len(sink_configs)})

    def stop_logging(self, file: Any) -> None:
        """Drain what the pipe holds, then forget the FIFO once the daemon closes it."""
        path = validate_fifo_path(file, self.fifo_root)
        reader = self.readers.pop(path, None)
        if reader is None:
            return
        reader.read_available()
        self._stopped(reader)
        task = self.loop.create_task(self._finish_reader(reader))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reader_gone(self, reader: FifoReader) -> None:
        """The daemon closed a FIFO without StopLogging (it died, or the FIFO was stale at a
        restart): the container's output through it has ended."""
        if self.readers.get(reader.path) is reader and not self._closing:
            del self.readers[reader.path]
            self._stopped(reader)
            reader.close()

    def _stopped(self, reader: FifoReader) -> None:
        clog = reader.clog
        clog.running_fifos.discard(reader.path)
        clog.sync()
        # `docker logs` on a stopped container opens and stops an empty FIFO: that must not make
        # the container look recently stopped (eviction order), so only a FIFO that carried
        # entries, or the first stop, records the time.
        clog.mark_stopped(record_time=reader.entries > 0 or not clog.stopped_at)
        clog.save_meta()
        if not clog.running:
            clog.release_fds()  # a stopped container holds no file descriptors
        log.info("stop logging", extra={"container": clog.id, "entries": reader.entries})

    async def _finish_reader(self, reader: FifoReader) -> None:
        # The daemon closes its end right after StopLogging returns; anything it still wrote
        # before that is read here. Then the reader goes for good.
        try:
            await reader.wait_eof(self.stop_eof_timeout)
            if reader.fd >= 0:
                reader.read_available()
        finally:
            reader.close()
            if not reader.clog.running:
                reader.clog.release_fds()

    async def read_logs(
        self, info: Mapping[str, Any], req: ReadRequest
    ) -> AsyncGenerator[bytes, None]:
        """Yield ReadLogs output: framed entries, each complete line ending in ``\\n``."""
        if not isinstance(info, Mapping):
            raise RequestError("Info must be an object")
        cid = validate_container_id(info.get("ContainerID"))
        clog = self.store.logs.get(cid)
        if clog is None or req.tail == 0 and not req.follow:
            return
        stop_count = clog.stop_count
        end = clog.end
        if req.tail == 0:
            pos, skip = end, 0
        elif req.tail > 0:
            pos, skip = clog.tail_start(req.tail)
        else:
            pos, skip = clog.start, 0
        if req.since:
            since_pos = clog.since_start(req.since)
            if since_pos > pos:
                pos, skip = since_pos, 0
        render = ReadlogsFilter(skip=skip, since=req.since, until=req.until)
        out: list[bytes] = []
        out_bytes = 0
        while True:
            for data in clog.iter_frames(pos, end):
                out_bytes += render.render(data, out)
                if out_bytes >= OUT_BATCH_BYTES or render.done:
                    yield b"".join(out)
                    out, out_bytes = [], 0
                if render.done:
                    break
            if out:
                yield b"".join(out)
                out, out_bytes = [], 0
            if render.bad:
                self.corrupt_frames += render.bad
                render.bad = 0
            if render.done:
                return
            pos = end
            if not req.follow or self._closing:
                return
            # Follow: wait for more, and end once the container's StopLogging has come.
            while clog.end == pos and clog.stop_count == stop_count and not self._closing:
                await clog.wait_change(FOLLOW_POLL_SECONDS)
                if clog.end == pos:
                    yield b""  # lets the HTTP layer notice a client that went away
            end = clog.end
            if end == pos and (clog.stop_count != stop_count or self._closing):
                return


async def _check_sinks(
    configs: list[sinks.SinkConfig], transport: httpx.AsyncBaseTransport | None, *, connect: bool
) -> None:
    """Build each sink once (TLS files are read then) and, with ``connect``, run its start-up
    connection check (e.g. splunk-verify-connection), each bounded by VERIFY_SECONDS."""
    for config in configs:
        try:
            sink = config.create(transport=transport)  # reads TLS files: a bad one fails here
        except sinks.SinkOptionError as exc:
            raise RequestError(str(exc)) from exc
        if not (connect and config.verify_on_start):
            await sink.close()
            continue
        try:
            await asyncio.wait_for(sink.verify(), VERIFY_SECONDS)
        except TimeoutError as exc:
            raise RequestError(f"{config.name}: the endpoint did not answer the connection check "
                               f"within {VERIFY_SECONDS:g} s") from exc
        except sinks.SinkVerifyError as exc:
            raise RequestError(str(exc)) from exc
        finally:
            await sink.close()


def _public_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of Info worth persisting (enough to describe and re-open a container)."""
    keep = (
        "ContainerID", "ContainerName", "ContainerEntrypoint", "ContainerArgs", "ContainerImageID",
        "ContainerImageName", "ContainerCreated", "ContainerEnv", "ContainerLabels", "DaemonName",
        "Config",
    )
    return {k: info.get(k) for k in keep if k in info}


def state_lock(root: Path) -> int:
    """Hold an exclusive lock on the state dir so two plugins never share it."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(root / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise RuntimeError(f"another logdriver is using the state dir {root}") from exc
    return fd

