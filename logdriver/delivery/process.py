"""The shipper process (``python -m logdriver.delivery.process NICE LEVEL PLUGIN_PID``).

It reads the plugin's messages (messages.py) on stdin, keeps a ``StoreView`` per container and
runs an ``InProcessDelivery`` over them, and writes its counters on stdout every second. Phases,
as uvicorn runs a server: startup (die with the plugin, lower the priority, log to stderr),
serve (until ``close`` or EOF), shutdown (``close``: flush for up to ``SHUTDOWN_FLUSH_SECONDS``,
report the last counters, exit 0; EOF without ``close`` means the plugin died: exit 1 at once,
never two shippers at the same history).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store import StoreView
from .inprocess import InProcessDelivery
from .messages import NICE, STATS_EVERY_SECONDS, encode, kernels_message, shipment_of
from .protocol import SHUTDOWN_FLUSH_SECONDS

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("logdriver.shipper")  # the name its lines always had

MESSAGE_LIMIT = 16 << 20  # bytes: the longest line read from the plugin


class ShipperProcess:
    """The shipper process's state: a ``StoreView`` per container, told by the plugin, and the
    workers that ship from them."""

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.delivery = InProcessDelivery(transport=transport)
        self.views: dict[str, StoreView] = {}

    def handle(self, msg: Mapping[str, Any]) -> None:
        """Apply one message from the plugin (``close`` is the caller's)."""
        op, cid = msg.get("op"), str(msg.get("id", ""))
        if op == "attach":
            try:
                shipment = shipment_of(msg)
            except ValueError:
                log.error("cannot ship: unreadable attach message", extra={"container": cid})
                return
            view = self.views.get(cid)
            if view is None:
                view = self.views[cid] = StoreView(cid, Path(str(msg["path"])))
            self.delivery.attach(view, shipment.sinks, shipment.join, shipment.context)
        elif op == "state" and cid in self.views:
            self.views[cid].update(msg.get("segments"), bool(msg.get("running")),
                                   msg.get("dropped"), blocked=bool(msg.get("blocked")),
                                   last=msg.get("last"))
        elif op == "forget":
            view = self.views.pop(cid, None)
            if view is not None:
                view.update([], False, msg.get("dropped"))

    def stats(self) -> dict[str, Any]:
        return {"op": "stats", **self.delivery.snapshot(), "tasks": len(asyncio.all_tasks())}

    async def close(self, timeout: float = SHUTDOWN_FLUSH_SECONDS) -> None:
        await self.delivery.close(timeout)


def _report(shipper: ShipperProcess) -> None:
    _write(shipper.stats())


def _write(msg: Mapping[str, Any]) -> None:
    sys.stdout.write(encode(msg).decode())
    sys.stdout.flush()


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MESSAGE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    shipper = ShipperProcess()
    _write(kernels_message())  # once: which twin of each kernel this process runs
    stopping = asyncio.Event()

    async def report() -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), STATS_EVERY_SECONDS)
            if not stopping.is_set():
                _report(shipper)

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
            shipper.handle(msg)
    if not closing:
        # The plugin died without a word: its next start runs a new shipper from the cursors,
        # and two must never ship the same history at once.
        log.error("plugin gone; shipper exits at once")
        os._exit(1)
    await shipper.close()
    stopping.set()
    await reporter
    _report(shipper)  # the last counters reach the plugin


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
    from ..selflog import setup_logging

    args = list(sys.argv[1:] if argv is None else argv)  # [niceness, log level, plugin pid]
    _die_with_parent(int(args[2]) if len(args) > 2 else None)
    with contextlib.suppress(OSError):
        os.nice(int(args[0]) if args else NICE)
    setup_logging(args[1] if len(args) > 1 else "info", sys.stderr)
    asyncio.run(_serve())


if __name__ == "__main__":
    main()
