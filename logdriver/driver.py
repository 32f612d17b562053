"""Containers by ID and FIFOs by path: StartLogging, StopLogging, ReadLogs and restart recovery."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import socket
from collections.abc import AsyncGenerator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sinks

from . import readlogs
from .apitimes import RequestTimes
from .delivery import Delivery
from .errors import RequestError
from .fifo import PIPE_BYTES, FifoReader
from .options import LogOptions, OptionError
from .readlogs import ReadRequest
from .store import BLOCKED_POLL_SECONDS, MAINTAIN_SECONDS, ContainerLog, Store

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

FIFO_ROOT = "/run/docker/logging"  # the daemon's log FIFOs (same path inside a managed plugin)
VERIFY_SECONDS = 3.0  # a sink's connection check never holds a container's start longer

_ID_RE = re.compile(r"^[0-9a-f]{64}$")
_FIFO_NAME_RE = re.compile(r"^[0-9a-f]{64}$")


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


class Driver:
    """The log driver: owns the store and every FIFO reader."""

    def __init__(
        self,
        store: Store,
        *,
        delivery: Delivery,
        env: Mapping[str, str] | None = None,
        hostname: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        fifo_root: str = FIFO_ROOT,
        pipe_bytes: int = PIPE_BYTES,
        stop_eof_timeout: float = 2.0,
    ) -> None:
        self.store = store
        # The shipper process (the plugin: delivery.ShipperLink), or workers in this process.
        self.delivery = delivery
        # What options are parsed with: the environment sink options fall back on
        # (SPLUNK_TOKEN, LOGDRIVER_BATCH_*), the host's name as Docker's drivers put it in
        # events, and the HTTP transport of the connection checks (None: the network).
        self.env = dict(os.environ if env is None else env)
        self.hostname = socket.gethostname() if hostname is None else hostname
        self.transport = transport
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

    def _reader(self, path: str, clog: ContainerLog) -> FifoReader:
        return FifoReader(path, clog, loop=self.loop, pipe_bytes=self.pipe_bytes,
                          on_gone=self.reader_gone, on_corrupt=self._count_corrupt)

    def _count_corrupt(self, frames: int) -> None:
        self.corrupt_frames += frames

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Open the store and re-open the FIFOs of containers that were running at a crash."""
        self._loop = asyncio.get_running_loop()
        self.store.open()
        for clog in list(self.store.logs.values()):
            for path in clog.recorded_fifos():
                try:
                    validate_fifo_path(path, self.fifo_root)
                    reader = self._reader(path, clog)
                    reader.open()
                except (OSError, RequestError) as exc:
                    log.info("FIFO from before the restart is gone",
                             extra={"container": clog.id, "error": str(exc)})
                    clog.fifo_closed(path)
                    continue
                reader.adopt_tail()
                self.readers[path] = reader
                clog.fifo_opened(path)
                log.info("re-opened FIFO after restart", extra={"container": clog.id})
                reader.read_available()
            clog.save_meta()  # only if changed (an older plugin's meta.json drops its fifos)
            self._resume_delivery(clog)
        self._maintainer = self._loop.create_task(self._maintain(), name="store-maintain")

    async def _maintain(self) -> None:
        """Release delivered spool segments, apply the disk budget, lift blocks: every
        MAINTAIN_SECONDS (delivery moves cursors in another process, which never writes the
        store); blocked spools every BLOCKED_POLL_SECONDS in between."""
        last = self.loop.time()
        while not self._closing:
            blocked = self.store.any_blocked
            await asyncio.sleep(BLOCKED_POLL_SECONDS if blocked else MAINTAIN_SECONDS)
            try:
                if self.loop.time() - last < MAINTAIN_SECONDS - BLOCKED_POLL_SECONDS / 2:
                    self.store.release_blocked()
                    continue
                last = self.loop.time()
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
            options = LogOptions.from_info(info, self.env,
                                           hostname=self.hostname).with_tls_files_read()
        except OptionError as exc:
            log.error("cannot resume delivery", extra={"container": clog.id, "error": str(exc)})
            return
        if options.sinks and not clog.sinks:  # a meta.json from before the spool
            clog.sinks = tuple(c.name for c in options.sinks)
        if options.sinks and options.context is not None:
            self.delivery.attach(clog, options.sinks, options.join, options.context)

    def begin_close(self) -> None:
        """Shutdown's first phase: every follow stream (``docker logs -f``) ends now, store
        maintenance stops at its next turn, and a FIFO the daemon closes from here on is kept
        for the next start. ``close`` does the rest."""
        self._closing = True
        for clog in self.store.logs.values():
            clog.wake()  # followers see the driver closing and end

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
            options = LogOptions.from_info(info, self.env, hostname=self.hostname)
        except OptionError as exc:
            raise RequestError(str(exc)) from exc
        if path in self.readers:
            raise RequestError("this FIFO is already being read")
        known = self.store.logs.get(cid)
        # The connection check runs only on a container's first start: a later StartLogging
        # may be `docker logs` on a stopped container, which must never depend on a sink. Every
        # start saves Info in meta.json, so a container seen before has it, output or not.
        first = (known is None or "info" not in known.meta) and not self.store.was_evicted(cid)
        try:
            options = options.with_tls_files_read()
        except OptionError as exc:
            raise RequestError(str(exc)) from exc
        sink_configs = options.sinks
        await _check_sinks(sink_configs, self.transport, connect=first)
        clog = self.store.get(cid)
        store = options.store
        clog.configure(max_size=store.max_size, max_file=store.max_file,
                       sinks=tuple(c.name for c in sink_configs),
                       spool_max_size=store.spool_max_size, when_full=store.when_full)
        reader = self._reader(path, clog)
        try:
            reader.open()
        except FileNotFoundError as exc:
            reader.close()
            raise RequestError("File does not exist") from exc
        except OSError as exc:
            reader.close()
            raise RequestError(f"cannot open File: {exc.strerror}") from exc
        self.readers[path] = reader
        clog.fifo_opened(path)
        clog.save_info(_public_info(info))
        if sink_configs and options.context is not None:
            self.delivery.attach(clog, sink_configs, options.join, options.context)
        log.info("start logging", extra={"container": cid, "sinks": len(sink_configs)})

    def stop_logging(self, file: Any) -> None:
        """Drain what the pipe holds, then forget the FIFO once the daemon closes it."""
        path = validate_fifo_path(file, self.fifo_root)
        reader = self.readers.pop(path, None)
        if reader is None:
            return
        reader.read_available()
        self._stopped(reader, forget=False)
        # The FIFO's note goes after the answer, in a thread (an unlink waits on the journal).
        self.loop.run_in_executor(None, reader.clog.forget_fifo, path)
        task = self.loop.create_task(self._finish_reader(reader, reader.entries))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reader_gone(self, reader: FifoReader) -> None:
        """The daemon closed a FIFO without StopLogging (it died, or the FIFO was stale at a
        restart): the container's output through it has ended."""
        if self.readers.get(reader.path) is reader and not self._closing:
            del self.readers[reader.path]
            self._stopped(reader)
            reader.close()

    def _stopped(self, reader: FifoReader, *, forget: bool = True) -> None:
        clog = reader.clog
        clog.fifo_closed(reader.path, forget=forget)
        clog.sync()
        # `docker logs` on a stopped container opens and stops an empty FIFO: that must not make
        # the container look recently stopped (eviction order), so only a FIFO that carried
        # entries, or the first stop, records the time.
        clog.mark_stopped(record_time=reader.entries > 0 or not clog.stopped_at)
        clog.save_meta()
        if not clog.running:
            clog.release_fds()  # a stopped container holds no file descriptors
        log.info("stop logging", extra={"container": clog.id, "entries": reader.entries})

    async def _finish_reader(self, reader: FifoReader, entries_at_stop: int) -> None:
        # The daemon closes its end right after StopLogging returns; anything it still wrote
        # before that is read here. Then the reader goes for good.
        try:
            await reader.wait_eof(self.stop_eof_timeout)
            if reader.fd >= 0:
                reader.read_available()
        finally:
            reader.close()
            clog = reader.clog
            if not clog.running:
                clog.release_fds()
                if reader.entries > entries_at_stop and not self._closing:
                    # Stored after delivery was told the container stopped: its workers may
                    # have ended at the old end, so they start again from their cursors.
                    clog.sync()
                    clog.wake()
                    self._resume_delivery(clog)

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
        async with contextlib.aclosing(readlogs.stream(
                clog, req, closing=lambda: self._closing, on_corrupt=self._count_corrupt)) as out:
            async for chunk in out:
                yield chunk


async def _check_sinks(
    configs: Sequence[sinks.SinkConfig], transport: httpx.AsyncBaseTransport | None, *,
    connect: bool,
) -> None:
    """Build each sink (from TLS files read before: a bad certificate fails here) and, with
    ``connect``, run its start-up connection check (e.g. splunk-verify-connection), each
    bounded by VERIFY_SECONDS."""
    for config in configs:
        try:
            sink = sinks.create(config, transport=transport)  # reads TLS: a bad one fails here
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

