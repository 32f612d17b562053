"""The plugin's side of the shipper process: starts it, restarts it, tells it every change."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sinks import Context, JoinConfig, SinkConfig

from ..store import DISK_BUDGET, ContainerLog, Dropped
from .messages import (
    NICE,
    STATS_EVERY_SECONDS,
    KeptSpan,
    Shipment,
    attach_message,
    encode,
    kernels_of,
    state_line,
)
from .protocol import SHUTDOWN_FLUSH_SECONDS

log = logging.getLogger("logdriver.shipper")  # the name its lines always had

PROCESS_MODULE = "logdriver.delivery.process"  # ``python -m`` this: the shipper process
# A container's growth is told at most this often. Each state line wakes the container's workers
# in the shipper for a read of the store: at 0.01 s the lines and the wake-ups cost about a tenth
# of the plugin's CPU on a quiet machine (bench/spy.py). Lines reach a sink up to this much later,
# against Docker's splunk driver buffering up to 5 s (splunk-buffer-frequency).
STATE_EVERY_SECONDS = 0.05
STATS_LINE_LIMIT = 64 << 20  # bytes; a worker's counters take about 400
RESTART_DELAY_SECONDS = 1.0  # a dead shipper is started again after this pause, doubled for
RESTART_MAX_DELAY_SECONDS = 30.0  # each quick death in a row up to this


class _Total:
    """A total from ``ShipperLink.snapshot()`` under the attribute's own name, as an int."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, link: ShipperLink, objtype: type | None = None) -> int:
        return int(link.snapshot().get(self.name, 0))


class ShipperLink:
    """Implements ``Delivery`` for the plugin with the workers in the shipper process: sends it
    each container's parsed sinks (``attach``) and every change of its store (``state``,
    ``forget``), and keeps the counters it reports."""

    def __init__(self, env: Mapping[str, str] | None = None, *, nice: int = NICE,
                 log_level: str = "info") -> None:
        self.env = dict(os.environ if env is None else env)
        self.nice = nice
        self.log_level = log_level
        self.stats: dict[str, Any] = {}
        self._kernels: dict[str, Any] | None = None  # the running shipper's ``kernels`` message
        self._stats_at = -1e9
        self._spawned_at = 0.0
        self._restarts = 0
        self._attached: dict[str, tuple[ContainerLog, dict[str, Any]]] = {}
        self._dirty: set[str] = set()
        self._ledger_told: dict[str, int] = {}  # ledger_version last sent, per container
        self._kept_told: dict[str, KeptSpan] = {}  # the kept segments last sent, per container
        self._flush_pending = False
        self._flushed_at = -1e9  # loop time of the last flush
        self._proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._closing = False

    def snapshot(self) -> dict[str, Any]:
        """The shipper's latest counters (``InProcessDelivery.snapshot``), about a second old."""
        return self.stats

    def kernel_report(self) -> dict[str, Any] | None:
        """The running shipper's twin report (``messages.kernels_of``), None until it told."""
        return self._kernels

    @property
    def live(self) -> bool:
        """The shipper reported lately (its counters are current)."""
        return time.monotonic() - self._stats_at < 3 * STATS_EVERY_SECONDS

    # The totals, from the shipper's latest counters (0 before its first report).
    delivered_events = _Total()
    retries = _Total()
    dead_letters = _Total()
    dropped_bytes = _Total()

    # ----------------------------------------------------------------- process
    async def _spawn(self) -> None:
        self._kernels = None  # a new process tells its own
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", PROCESS_MODULE, str(self.nice), self.log_level,
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=self.env,
            limit=STATS_LINE_LIMIT,  # one stats line lists every worker: hundreds of containers
        )
        self._spawned_at = time.monotonic()
        log.info("shipper started", extra={"pid": self._proc.pid})
        self._replay()
        self._watch = asyncio.get_running_loop().create_task(self._read_stats(self._proc))

    def _replay(self) -> None:
        """Tell a new shipper every container attached so far."""
        for clog, attach in self._attached.values():
            self._send(attach)
            self._send(self._state(clog, full=True))

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
                elif isinstance(msg, dict) and msg.get("op") == "kernels":
                    self._kernels = kernels_of(msg)
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

    def _send(self, msg: Mapping[str, Any] | bytes) -> None:
        """Write ``msg`` (or its encoded line) to the shipper's stdin, if it runs."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            return  # told again when it (re)starts
        proc.stdin.write(msg if isinstance(msg, bytes) else encode(msg))

    # ----------------------------------------------------------------- Delivery
    def attach(self, clog: ContainerLog, configs: Sequence[SinkConfig], join: JoinConfig,
               ctx: Context) -> None:
        attach = attach_message(clog, Shipment(tuple(configs), join, ctx))
        self._attached[clog.id] = (clog, attach)
        clog.on_change = self._changed
        self._send(attach)
        self._send(self._state(clog, full=True))

    def _state(self, clog: ContainerLog, *, full: bool = False) -> bytes:
        """The ``state`` line for ``clog``: every segment when ``full`` or when the kept ones
        changed since the last sent, else the last one only; the ledger when it changed."""
        cid = clog.id
        ledger = full or self._ledger_told.get(cid) != clog.ledger_version
        line, self._kept_told[cid] = state_line(
            clog, ledger=ledger, told=None if full else self._kept_told.get(cid))
        self._ledger_told[cid] = clog.ledger_version
        return line

    def _changed(self, clog: ContainerLog) -> None:
        self._dirty.add(clog.id)
        if not self._flush_pending:
            # Right after the change (in the same wake-up of the loop: no timer of its own)
            # unless the last flush was under STATE_EVERY_SECONDS ago.
            self._flush_pending = True
            loop = asyncio.get_running_loop()
            wait = self._flushed_at + STATE_EVERY_SECONDS - loop.time()
            if wait > 0:
                loop.call_later(wait, self._flush)
            else:
                loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        with contextlib.suppress(RuntimeError):  # (close() flushes after the loop, in tests)
            self._flushed_at = asyncio.get_running_loop().time()
        dirty, self._dirty = self._dirty, set()
        for cid in dirty:
            entry = self._attached.get(cid)
            if entry is not None:
                self._send(self._state(entry[0]))

    def forget(self, container_id: str) -> None:
        entry = self._attached.pop(container_id, None)
        self._ledger_told.pop(container_id, None)
        self._kept_told.pop(container_id, None)
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
