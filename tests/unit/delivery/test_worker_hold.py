"""What a worker holds while its sink fails, and that its cursor file follows every answer."""

from __future__ import annotations

import asyncio
import json

import httpx

from logdriver.delivery.worker import SinkWorker

from ..helpers import frames
from .harness import CID, Harness, until


def the_worker(h: Harness) -> SinkWorker:
    assert h.driver is not None
    workers = list(h.driver.delivery.workers.values())  # type: ignore[attr-defined]
    assert len(workers) == 1
    return workers[0]  # type: ignore[no-any-return]


def saved(h: Harness) -> tuple[int, int]:
    cursor = json.loads((h.state / "containers" / CID / "cursor-http.json").read_text())
    return cursor["seq"], cursor["off"]


async def test_a_failing_sink_costs_one_batch_and_every_line_arrives_once_in_order(
        h: Harness) -> None:
    down = {"on": True}
    h.receiver.answer = lambda r: httpx.Response(503) if down["on"] else None
    await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, frames(2000))  # batch-size 100: a batch is in flight, one read behind it
    await until(lambda: h.receiver.requests >= 3)
    worker = the_worker(h)
    await until(lambda: worker.held_events <= 100)
    assert worker.held_events == 100  # the request being retried, nothing read behind it
    down["on"] = False
    await until(lambda: len(h.receiver.lines) >= 2000)
    await asyncio.sleep(0.2)
    assert h.receiver.lines == [f"line {i:06d}" for i in range(2000)]


async def test_a_stopping_worker_has_written_the_cursor_it_reached(h: Harness) -> None:
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, frames(500))
    await until(lambda: len(h.receiver.lines) >= 500)
    worker = the_worker(h)
    await until(lambda: saved(h) == worker.cursor)
    h.write(path, frames(50, start=500))
    await until(lambda: len(h.receiver.lines) >= 550)
    await until(lambda: not worker.held_events)
    reached = worker.cursor
    assert saved(h) == reached  # written once the request was accepted
    await driver.close()
    h.driver = None
    assert saved(h) == reached
