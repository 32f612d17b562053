"""The delivery test harness: a Driver, FIFOs to write into, and a Receiver behind
httpx.MockTransport, with delivery through either source the workers can read:

- ``in_process``: ``InProcessDelivery`` in the plugin's loop, reading the ``ContainerLog``;
- ``shipper``: the production path without the fork: ``ShipperLink`` sends its real messages
  (JSON lines, the parsed sinks pickled) to a ``ShipperProcess`` in the same loop, whose workers
  read the store's files through ``StoreView``, told by ``state`` messages as the plugin sends
  them.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from logdriver.delivery import SHUTDOWN_FLUSH_SECONDS, Delivery, InProcessDelivery, ShipperLink
from logdriver.delivery.process import ShipperProcess
from logdriver.delivery.worker import SinkWorker
from logdriver.driver import Driver
from logdriver.store import Store

CID = "d" * 64
OPTS = {"http-url": "http://sink.test/in", "http-format": "ndjson", "batch-wait": "50ms",
        "batch-size": "100"}
SOURCES = ("in_process", "shipper")


class LoopbackShipper(ShipperLink):
    """A ``ShipperLink`` whose shipper process is a ``ShipperProcess`` in this event loop: every
    message goes through the same encoding as over the pipe."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None) -> None:
        super().__init__({})
        self.process = ShipperProcess(transport=transport)

    async def _spawn(self) -> None:
        self._replay()

    def _send(self, msg: Mapping[str, Any] | bytes) -> None:
        decoded = json.loads(msg if isinstance(msg, bytes) else json.dumps(msg))
        if self._closing and decoded.get("op") == "close":
            return
        self.process.handle(decoded)

    def snapshot(self) -> dict[str, Any]:
        return self.process.stats()

    @property
    def live(self) -> bool:
        return True

    # What tests read of the shipper's workers (an InProcessDelivery offers the same).
    @property
    def workers(self) -> dict[tuple[str, str], SinkWorker]:
        return self.process.delivery.workers

    @property
    def dropped(self) -> dict[str, list[int]]:
        return self.process.delivery.dropped

    async def close(self, timeout: float = SHUTDOWN_FLUSH_SECONDS) -> None:
        self._closing = True
        self._flush()
        await self.process.close(timeout)


class Receiver:
    """An HTTP endpoint behind httpx.MockTransport; ``answer`` may be swapped at any time."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.requests = 0
        self.answer: Callable[[httpx.Request], httpx.Response | None] = lambda r: None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        forced = self.answer(request)
        if forced is not None:
            return forced
        for raw in request.content.splitlines():
            self.lines.append(json.loads(raw)["line"])
        return httpx.Response(200)


class Harness:
    def __init__(self, tmp: Path, receiver: Receiver, source: str = "in_process") -> None:
        self.source = source
        self.root = tmp / "logging"
        self.root.mkdir(exist_ok=True)
        self.state = tmp / "state"
        self.receiver = receiver
        self.fds: dict[str, int] = {}
        self.driver: Driver | None = None

    async def start(self, *, network: bool = False) -> Driver:
        """network: the sinks reach real (loopback) servers instead of ``receiver``."""
        transport = None if network else httpx.MockTransport(self.receiver.handle)
        delivery: Delivery
        if self.source == "shipper":
            delivery = LoopbackShipper(transport)
        else:
            delivery = InProcessDelivery(transport=transport)
        await delivery.start()
        self.driver = Driver(Store(self.state, disk_budget=1 << 30), delivery=delivery, env={},
                             transport=transport,
                             fifo_root=str(self.root), stop_eof_timeout=0.2)
        await self.driver.start()
        return self.driver

    def fifo(self, n: int = 1) -> str:
        path = str(self.root / f"{n:064x}")
        if not os.path.exists(path):
            os.mkfifo(path, 0o700)
            self.fds[path] = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        return path

    def write(self, path: str, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fds[path], view):]

    async def start_logging(self, path: str, opts: dict[str, str] | None = None) -> None:
        assert self.driver is not None
        await self.driver.start_logging(path, {"ContainerID": CID, "ContainerName": "/web",
                                                "Config": opts or OPTS})


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)



