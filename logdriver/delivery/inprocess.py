"""The delivery workers of one process, in its own event loop (the shipper process; tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sinks import Context, JoinConfig, SinkConfig, create, kernel_report, load_kernels

from ..delegate import Delegate
from .budget import BatchBudget
from .protocol import SHUTDOWN_FLUSH_SECONDS
from .records import StoredLog
from .stats import Totals
from .worker import SinkWorker

if TYPE_CHECKING:
    import httpx



class InProcessDelivery:
    """Owns every ``SinkWorker`` of this process: one per (container, sink).

    Implements ``Delivery`` (protocol.py). The shipper process runs one over ``StoreView``s;
    tests run one in the plugin's own loop over ``ContainerLog``s."""

    live = True  # in-process counters are always current (the shipper's may lag or stop)

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.transport = transport  # tests swap the network for httpx.MockTransport
        self.workers: dict[tuple[str, str], SinkWorker] = {}
        self.totals = Totals()
        self._stopping = asyncio.Event()
        self.budget = BatchBudget.from_env()

    # The totals, as the plugin's /metrics and the tests read them.
    delivered_events = Delegate[int]("totals")
    retries = Delegate[int]("totals")
    dead_letters = Delegate[int]("totals")
    dropped_bytes = Delegate[int]("totals")
    dropped = Delegate[dict[str, list[int]]]("totals")

    def attach(self, clog: StoredLog, configs: Sequence[SinkConfig], join: JoinConfig,
               ctx: Context) -> None:
        """Start (or keep) a worker per configured sink of this container."""
        for config in configs:
            key = (clog.id, config.name)
            old = self.workers.get(key)
            if old is not None and old.task is not None and not old.task.done():
                if old.config == config and old.ctx == ctx:
                    continue  # the same container started again: its worker goes on
                old.stop(at_once=True)
            worker = SinkWorker(clog, config, create(config, transport=self.transport), ctx, join,
                                totals=self.totals, stopping=self._stopping,
                                on_exit=self._worker_done, budget=self.budget)
            self.workers[key] = worker
            self.budget.workers = len(self.workers)
            worker.start()

    def forget(self, container_id: str) -> None:
        """Nothing to do here: a worker over a ``ContainerLog`` sees its removal in the store
        itself (the shipper's views are told instead)."""

    def snapshot(self) -> dict[str, Any]:
        """Totals and every worker's counters, as plain JSON values (the shipper sends this to
        the plugin every second; /metrics and /status read it). Losses the store reported since
        the last one are counted first, even for a worker waiting on its sink."""
        workers = []
        for w in self.workers.values():
            w.reader.note_drops()
            w.count_dropped()
            workers.append({"id": w.clog.id, "sink": w.name, "cursor": list(w.cursor),
                            **w.stats.to_json()})
        return {**self.totals.to_json(), "workers": workers}

    def kernel_report(self) -> dict[str, Any]:
        """This process's twin report (the workers run here), every kernel loaded."""
        load_kernels()
        return kernel_report()

    def _worker_done(self, worker: SinkWorker) -> None:
        """A worker whose work is over leaves the registry."""
        key = (worker.clog.id, worker.name)
        if self.workers.get(key) is worker:
            del self.workers[key]
            self.budget.workers = len(self.workers)

    async def start(self) -> None:
        """Nothing to start: workers start as containers attach."""

    async def close(self, timeout: float = SHUTDOWN_FLUSH_SECONDS) -> None:
        """Shutdown in order: tell every worker to stop (they send what they hold, retrying
        nothing), wait up to ``timeout`` s, then cancel the ones still running."""
        workers = [w for w in self.workers.values() if w.task is not None]
        self._stopping.set()
        for w in workers:
            w.stop()
        tasks = [w.task for w in workers if w.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
