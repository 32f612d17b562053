"""Delivery in a process of its own, at a lower CPU priority than the plugin.

Encoding and sending every line costs more CPU than storing it. In the plugin's own event loop
that work competes with the FIFO readers (a full pipe blocks the container), and at the same
priority it competes with dockerd and the container for the CPU. So the plugin starts a
*shipper* process (``python -m logdriver.shipper``) at nice +10: it runs the same ``Delivery``
workers, reading the ring store's segment files directly. When the machine is busy the
container's path wins and the shipper catches up from the store afterwards; when it is idle the
shipper has a core of its own.

The two talk over the shipper's stdin and stdout, one JSON object per line:

- plugin -> shipper: ``attach`` (a container's sinks: its id, store path, log-opts and info),
  ``state`` (its kept segments, spool then history, as ``[seq, size]`` of whole frames, whether
  it is running, and its drop ledger ``[[seq, size, entries, cause], ...]``; sent again,
  coalesced, after each write), ``forget`` (its history was removed), ``close`` (flush and
  exit);
- shipper -> plugin: ``stats`` (the delivery counters, every second).

The shipper only reads a segment below the size it was told, which the plugin never rewrites. On
``close`` it flushes for up to ``SHUTDOWN_FLUSH_SECONDS`` and exits; if the plugin dies instead,
the shipper dies with it (so a restarted plugin never has two shippers sending the same
history). A shipper that dies is restarted, and its workers resume from their cursors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sinks
from sinks import JoinConfig, SinkConfig

from .delivery import SHUTDOWN_FLUSH_SECONDS, Delivery
from .store import DISK_BUDGET, ContainerLog, Dropped, StoreView

log = logging.getLogger(__name__)

NICE = 10  # the shipper's niceness: the container's own path gets the CPU first
STATE_EVERY_SECONDS = 0.01  # a container's growth is told at most this often
STATS_EVERY_SECONDS = 1.0
STATS_LINE_LIMIT = 64 << 20  # bytes; a worker's counters take about 400
RESTART_DELAY_SECONDS = 1.0  # a dead shipper is started again after this pause, doubled for
RESTART_MAX_DELAY_SECONDS = 30.0  # each quick death in a row up to this
_TOTALS = ("delivered_events", "retries", "dead_letters", "dropped_bytes")


def _state(clog: ContainerLog, *, ledger: bool = True) -> dict[str, Any]:
    """The ``state`` message; the drop ledger only with ``ledger`` (it changes rarely)."""
    msg = {"op": "state", "id": clog.id, "running": clog.running,
           "segments": [[s.seq, s.size] for s in clog.kept]}
    if ledger:
        msg["dropped"] = [d.to_json() for d in clog.ledger.values()]
    return msg


class Shipper:
    """The plugin's side: starts the shipper process and keeps it informed.

    Offers what ``Driver`` needs of a delivery (``env``, ``hostname``, ``transport``, ``attach``,
    ``close``) and the shipper's latest counters."""

    transport = None  # the shipper process always uses the network

    def __init__(self, env: Mapping[str, str] | None = None, *, nice: int = NICE,
                 log_level: str = "info") -> None:
        self.env = dict(os.environ if env is None else env)
        self.hostname = socket.gethostname()
        self.nice = nice
        self.log_level = log_level
        self.stats: dict[str, Any] = {}
        self._stats_at = -1e9
        self._spawned_at = 0.0
        self._restarts = 0
        self._attached: dict[str, tuple[ContainerLog, dict[str, Any]]] = {}
        self._dirty: set[str] = set()
        self._ledger_told: dict[str, int] = {}  # ledger_version last sent, per container
        self._flush_pending = False
        self._proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._closing = False

    def __getattr__(self, name: str) -> Any:
        if name in _TOTALS:  # the same totals an in-process Delivery has
            return int(self.stats.get(name, 0))
        raise AttributeError(name)

    def snapshot(self) -> dict[str, Any]:
        """The shipper's latest counters (``Delivery.snapshot``), about a second old."""
        return self.stats

    @property
    def live(self) -> bool:
        """The shipper reported lately (its counters are current)."""
        return time.monotonic() - self._stats_at < 3 * STATS_EVERY_SECONDS

    # ----------------------------------------------------------------- process
    async def _spawn(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "logdriver.shipper", str(self.nice), self.log_level,
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=self.env,
            limit=STATS_LINE_LIMIT,  # one stats line lists every worker: hundreds of containers
        )
        self._spawned_at = time.monotonic()
        log.info("shipper started", extra={"pid": self._proc.pid})
        for clog, attach in self._attached.values():
            self._send(attach)
            self._send(_state(clog))
        self._watch = asyncio.get_running_loop().create_task(self._read_stats(self._proc))

    async def _read_stats(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            try:
                line = await proc.stdout.readline()
            except ValueError:  # a line over the limit (readline drops it): keep reading, or
                continue  # the shipper would block writing its next counters
            if not line:
                break
            with contextlib.suppress(ValueError):
                msg = json.loads(line)
                if isinstance(msg, dict) and msg.get("op") == "stats":
                    self.stats = msg
                    self._stats_at = time.monotonic()
        code = await proc.wait()
        if not self._closing:
            # Quick deaths in a row back off (1, 2, 4 ... 30 s); a long run resets the pace.
            lived = time.monotonic() - self._spawned_at
            self._restarts = 0 if lived > RESTART_MAX_DELAY_SECONDS else self._restarts + 1
            delay = min(RESTART_DELAY_SECONDS * 2 ** max(self._restarts - 1, 0),
                        RESTART_MAX_DELAY_SECONDS)
            log.error("shipper exited; starting it again",
                      extra={"code": code, "in_seconds": delay})
            await asyncio.sleep(delay)
            if not self._closing:
                await self._spawn()

    def _send(self, msg: Mapping[str, Any]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            return  # told again when it (re)starts
        proc.stdin.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")

    # ----------------------------------------------------------------- what Driver calls
    def attach(
        self,
        clog: ContainerLog,
        configs: Sequence[SinkConfig],
        join: JoinConfig,
        info: Mapping[str, Any],
        opts: Mapping[str, str],
    ) -> None:
        del configs, join  # the shipper derives both from the same log-opts
        attach = {"op": "attach", "id": clog.id, "path": str(clog.path), "info": dict(info),
                  "opts": dict(opts)}
        self._attached[clog.id] = (clog, attach)
        clog.on_change = self._changed
        self._send(attach)
        self._send(_state(clog))

    def _changed(self, clog: ContainerLog) -> None:
        self._dirty.add(clog.id)
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_later(STATE_EVERY_SECONDS, self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        dirty, self._dirty = self._dirty, set()
        for cid in dirty:
            entry = self._attached.get(cid)
            if entry is not None:
                clog = entry[0]
                told = self._ledger_told.get(cid)
                self._send(_state(clog, ledger=told != clog.ledger_version))
                self._ledger_told[cid] = clog.ledger_version

    def forget(self, container_id: str) -> None:
        entry = self._attached.pop(container_id, None)
        self._ledger_told.pop(container_id, None)
        if entry is not None:
            # Whatever the store still kept of it is lost to the sinks now: tell them what.
            clog = entry[0]
            ledger = dict(clog.ledger)
            for seg in clog.kept:
                ledger[seg.seq] = Dropped(seg.seq, seg.size, seg.count, DISK_BUDGET)
            self._send({"op": "forget", "id": container_id,
                        "dropped": [d.to_json() for d in ledger.values()]})

    async def start(self) -> None:
        await self._spawn()

    async def close(self, timeout: float = SHUTDOWN_FLUSH_SECONDS) -> None:
        """Tell the shipper to flush and exit (EOF); kill it if it overstays ``timeout``."""
        self._closing = True
        self._flush()
        proc = self._proc
        if proc is None:
            return
        self._send({"op": "close"})
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout + 0.5)
        except TimeoutError:
            log.error("shipper did not stop in time; killed")
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch


# --------------------------------------------------------------------- the shipper process
class _Shipping:
    """The shipper process's state: a view per container and the delivery workers."""

    def __init__(self) -> None:
        self.delivery = Delivery()
        self.views: dict[str, StoreView] = {}

    def handle(self, msg: Mapping[str, Any]) -> None:
        op, cid = msg.get("op"), str(msg.get("id", ""))
        if op == "attach":
            view = self.views.get(cid)
            if view is None:
                view = self.views[cid] = StoreView(cid, Path(str(msg["path"])))
            opts = msg.get("opts") or {}
            try:
                configs = sinks.configure(opts, self.delivery.env)
                join = sinks.join_config(opts)
            except sinks.SinkOptionError as exc:  # validated by the plugin already
                log.error("cannot ship", extra={"container": cid, "error": str(exc)})
                return
            self.delivery.attach(view, configs, join, msg.get("info") or {}, opts)  # type: ignore[arg-type]
        elif op == "state" and cid in self.views:
            self.views[cid].update(msg.get("segments") or [], bool(msg.get("running")),
                                   msg.get("dropped"))
        elif op == "forget":
            view = self.views.pop(cid, None)
            if view is not None:
                view.update([], False, msg.get("dropped"))

    def stats(self) -> dict[str, Any]:
        return {"op": "stats", **self.delivery.snapshot(), "tasks": len(asyncio.all_tasks())}


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    shipping = _Shipping()

    async def report() -> None:
        while True:
            await asyncio.sleep(STATS_EVERY_SECONDS)
            sys.stdout.write(json.dumps(shipping.stats(), separators=(",", ":")) + "\n")
            sys.stdout.flush()

    reporter = loop.create_task(report())
    closing = False
    while line := await reader.readline():
        try:
            msg = json.loads(line)
        except ValueError:
            log.error("unreadable message from the plugin")
            continue
        if isinstance(msg, dict):
            if msg.get("op") == "close":
                closing = True
                break
            shipping.handle(msg)
    if not closing:
        # The plugin died without a word: its next start runs a new shipper from the cursors,
        # and two must never ship the same history at once.
        log.error("plugin gone; shipper exits at once")
        os._exit(1)
    await shipping.delivery.close()
    reporter.cancel()
    sys.stdout.write(json.dumps(shipping.stats(), separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _die_with_parent(parent: int | None) -> None:
    """SIGKILL this process when the plugin dies (Linux prctl PR_SET_PDEATHSIG), so a plugin
    killed with SIGKILL and restarted never finds the old shipper still sending."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:  # gone before prctl took effect
        os._exit(1)


def main(argv: Sequence[str] | None = None) -> None:
    from .selflog import setup_logging

    args = list(sys.argv[1:] if argv is None else argv)  # [niceness, log level, plugin pid]
    _die_with_parent(int(args[2]) if len(args) > 2 else None)
    with contextlib.suppress(OSError):
        os.nice(int(args[0]) if args else NICE)
    setup_logging(args[1] if len(args) > 1 else "info", sys.stderr)
    asyncio.run(_serve())


if __name__ == "__main__":
    main()
