"""The shipper's batch budget: each worker collects its sink's batch-bytes until many workers
share LOGDRIVER_BATCH_MEMORY, then an equal part of it, and its requests stay within that."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from logdriver.delivery import InProcessDelivery
from logdriver.delivery.budget import ENV_BATCH_MEMORY, MIN_SHARE_BYTES, BatchBudget

from ..helpers import frames
from .harness import OPTS, Harness, LoopbackShipper, until


def test_each_worker_gets_its_whole_batch_until_many_share_the_budget() -> None:
    budget = BatchBudget(total=8 << 20)
    budget.workers = 4
    assert budget.share(1_000_000) == 1_000_000  # 1 MiB a batch: the sink's own batch-bytes
    budget.workers = 50  # each holds two batches (on the wire, read ahead): 100 parts
    assert budget.share(1_000_000) == (8 << 20) // 100
    budget.workers = 100_000
    assert budget.share(1_000_000) == MIN_SHARE_BYTES  # never below the floor ...
    assert budget.share(1000) == 1000  # ... nor above what the sink asked for
    assert BatchBudget.from_env({}).total == 16 << 20
    assert BatchBudget.from_env({ENV_BATCH_MEMORY: "1m"}).total == 1 << 20
    for bad in ("lots", "1k"):
        with pytest.raises(ValueError, match=ENV_BATCH_MEMORY):
            BatchBudget.from_env({ENV_BATCH_MEMORY: bad})


async def test_a_worker_reads_and_sends_no_more_than_its_share(h: Harness) -> None:
    await h.start()
    delivery = _delivery(h)
    delivery.budget.total = MIN_SHARE_BYTES  # one worker's share: 64 KiB, not its 1 MB
    sizes = _record_sizes(h)
    path = await _start_big_batches(h)
    lines = 50_000
    await _write_lines(h, path, lines)
    await until(lambda: len(h.receiver.lines) >= lines, timeout=60)
    assert h.receiver.lines == [f"line {i:06d}" for i in range(lines)]
    assert sum(sizes) > 1 << 20
    if h.source == "shipper":
        # After the first (its events' size unknown), each request is about one share, where
        # the sink's own batch-bytes would take every line at once. (In process, a read of the
        # store returns at least one whole block: what one read of the FIFO got.)
        assert max(sizes[1:]) <= MIN_SHARE_BYTES + 300


def _delivery(h: Harness) -> InProcessDelivery:
    """The ``InProcessDelivery`` running the workers, in the plugin or in its shipper."""
    assert h.driver is not None
    delivery = h.driver.delivery
    if isinstance(delivery, LoopbackShipper):
        delivery = delivery.process.delivery
    assert isinstance(delivery, InProcessDelivery)
    return delivery


def _record_sizes(h: Harness) -> list[int]:
    """The body size of each request the receiver gets, in order (it answers 200)."""
    sizes: list[int] = []

    def size(request: httpx.Request) -> None:
        sizes.append(len(request.content))

    h.receiver.answer = size  # type: ignore[assignment]
    return sizes


async def _start_big_batches(h: Harness) -> str:
    """A container logging to a sink whose own batches (5m, 100,000 events) exceed any share:
    its FIFO's path."""
    path = h.fifo()
    await h.start_logging(path, {**OPTS, "batch-size": "100000", "batch-bytes": "5m",
                                 "batch-wait": "5s"})
    return path


async def _write_lines(h: Harness, path: str, lines: int) -> None:
    """``lines`` numbered lines into the FIFO, 100 at a time, as fast as the pipe takes them."""
    for start in range(0, lines, 100):
        while not _wrote(h, path, frames(100, start)):
            await asyncio.sleep(0.01)


def _wrote(h: Harness, path: str, data: bytes) -> bool:
    """Write ``data`` whole into the FIFO, or nothing if it is full (at most PIPE_BUF, 4096
    bytes: a write that size is atomic)."""
    assert len(data) <= 4096
    try:
        h.write(path, data)
    except BlockingIOError:
        return False
    return True


async def test_a_waiting_worker_takes_the_share_lowered_by_workers_attached_meanwhile(
        h: Harness) -> None:
    # A worker waits in its batch collection for its container's first line; containers
    # attached meanwhile (a burst) lower every share. Its first request must follow the share
    # of now, not the one of when it began to wait (the sink's whole batch-bytes when it was
    # alone: at 100 containers, batches of 1 MB down to 160 KB held at once).
    await h.start()
    delivery = _delivery(h)
    sizes = _record_sizes(h)
    path = await _start_big_batches(h)
    await until(lambda: len(delivery.workers) == 1, timeout=10)
    await asyncio.sleep(0.2)  # the worker waits for the first line, alone: its share is 5m
    assert delivery.budget.share(5_000_000) == 5_000_000
    delivery.budget.workers = 10_000  # as if a burst of containers had just attached
    lines = 20_000
    await _write_lines(h, path, lines)
    await until(lambda: len(h.receiver.lines) >= lines, timeout=60)
    assert h.receiver.lines == [f"line {i:06d}" for i in range(lines)]
    assert len(sizes) > 1
    if h.source == "shipper":  # (in process, a read returns at least one whole FIFO block)
        assert max(sizes) <= MIN_SHARE_BYTES + 300


async def test_a_worker_reads_about_what_fills_its_share_not_past_it(h: Harness) -> None:
    # What a take reads past a full batch is held (encoded) until the next batch. A take of a
    # fixed 2,000 records is about 5 shares of 64 KiB of these events: each take must be sized
    # to the room left, by the sizes of the events seen so far.
    await h.start()
    delivery = _delivery(h)
    delivery.budget.total = MIN_SHARE_BYTES
    held_past: list[int] = []  # events read past the batch on the wire, at each request

    def note(request: httpx.Request) -> None:
        (worker,) = delivery.workers.values()
        held_past.append(len(worker._rest) if worker._rest is not None else 0)

    h.receiver.answer = note  # type: ignore[assignment]
    path = await _start_big_batches(h)
    lines = 20_000
    await _write_lines(h, path, lines)
    await until(lambda: len(h.receiver.lines) >= lines, timeout=60)
    assert h.receiver.lines == [f"line {i:06d}" for i in range(lines)]
    per_batch = lines // len(held_past)
    assert len(held_past) > 5 and per_batch > 100
    if h.source == "shipper":  # (in process, a read returns at least one whole FIFO block)
        # at most about one small read's worth (4 KiB: ~117 of these), never a batch's
        assert max(held_past) <= per_batch // 2, held_past
