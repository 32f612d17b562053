"""A request its sink asks to retry is read again from the store for each attempt instead of held:
the worker holds no body while it waits, and what it sends again is byte for byte the first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from logdriver.delivery.batch import Stored, reread
from logdriver.delivery.records import packed
from logdriver.delivery.worker import PROBE_BYTES
from logdriver.store import DISK_BUDGET, ContainerLog
from sinks import Body, JoinConfig, Record, Records, SplunkConfig, create

from ..helpers import T0, frames
from ..sinks.fakes import context
from ..store.helpers import write
from .harness import Harness, until
from .test_records import SOURCES, opened
from .test_worker_hold import the_worker

CID = "f" * 64
SPLUNK = {"splunk-url": "http://sink.test", "splunk-token": "t", "batch-size": "100",
          "splunk-verify-connection": "false", "batch-wait": "50ms"}


async def test_a_retried_request_is_sent_again_byte_for_byte_holding_nothing_meanwhile(
        h: Harness) -> None:
    sent: list[bytes] = []
    down = {"on": True}

    def answer(r: httpx.Request) -> httpx.Response | None:
        if down["on"]:
            sent.append(r.content)
            return httpx.Response(503)
        return None

    h.receiver.answer = answer
    await h.start()
    path = h.fifo()
    await h.start_logging(path)
    h.write(path, frames(2000))  # batch-size 100
    await until(lambda: len(sent) >= 2)
    worker = the_worker(h)
    assert worker.held_events == 100  # the request being retried
    await until(lambda: worker.held_bytes == 0)  # ... read again before its next attempt
    await until(lambda: len(sent) >= 3)
    assert len(sent[0]) > 100 * len(b"line 000000")
    assert set(sent) == {sent[0]}  # every attempt the same bytes
    down["on"] = False
    await until(lambda: len(h.receiver.lines) >= 2000, timeout=30)
    await asyncio.sleep(0.2)
    assert h.receiver.lines == [f"line {i:06d}" for i in range(2000)]


@pytest.mark.parametrize("fmt", ["inline", "json", "raw"])
async def test_hec_requests_read_again_are_the_same_bytes(
        kernel_twin: str, h: Harness, fmt: str) -> None:
    sent: list[bytes] = []

    def answer(r: httpx.Request) -> httpx.Response:
        sent.append(r.content)
        return httpx.Response(503)

    h.receiver.answer = answer
    await h.start()
    path = h.fifo()
    await h.start_logging(path, {**SPLUNK, "splunk-format": fmt})
    h.write(path, frames(350))
    await until(lambda: len(sent) >= 3)
    assert set(sent) == {sent[0]} and sent[0].count(b"line 0") == 100


FRAME = len(frames(1))


def stored_batch(skip: int, n: int) -> tuple[Stored, bytes]:
    """Records ``skip`` to ``skip + n`` of ``frames(...)`` as a Stored span (segment 0), and
    their HEC encoding."""
    recs = Records.of(Record(T0 + i * 1000, "stdout", b"line %06d" % i)
                      for i in range(skip, skip + n))
    sink = create(SplunkConfig.from_options(SPLUNK, {}))
    body = Body(sink.framing)
    sink.encode_into(context(), recs, body)
    return Stored(packed((0, skip * FRAME)), packed((0, (skip + n) * FRAME)), n), bytes(body.buf)


@pytest.mark.parametrize("source", SOURCES)
def test_reread_encodes_the_stored_events_again(kernel_twin: str, tmp_path: Path,
                                                source: str) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    write(clog, frames(3000))
    at, first = stored_batch(700, 500)
    sink = create(SplunkConfig.from_options(SPLUNK, {}))
    body = Body(sink.framing)
    body.extend([b"left over"])
    assert reread(opened(clog, source), JoinConfig(), at, sink, context(), body) is None
    assert bytes(body.buf) == first and len(body) == 500


def test_what_the_store_dropped_meanwhile_is_counted_lost_not_sent(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.configure(max_size=len(frames(100)), max_file=5, sinks=("splunk",),
                   spool_max_size=None, when_full="drop-oldest")
    write(clog, frames(100))
    at, _first = stored_batch(10, 50)
    write(clog, frames(300, start=100))  # the next segments
    assert clog.drop_oldest_kept(DISK_BUDGET)  # the store is over its disk budget
    sink = create(SplunkConfig.from_options(SPLUNK, {}))
    body = Body(sink.framing)
    lost = reread(clog, JoinConfig(), at, sink, context(), body)
    assert lost == {DISK_BUDGET: (at.end - at.start, 50)} and not len(body)


async def test_until_its_sink_takes_a_request_a_worker_sends_small_batches(h: Harness) -> None:
    # A sink down from the start must not cost every worker a whole batch encoded at once.
    sizes: list[int] = []
    down = {"on": True}

    def answer(r: httpx.Request) -> httpx.Response | None:
        sizes.append(len(r.content))
        return httpx.Response(503) if down["on"] else None

    h.receiver.answer = answer
    await h.start()
    path = h.fifo()
    await h.start_logging(path, {"http-url": "http://sink.test/in", "http-format": "ndjson",
                                 "batch-size": "100000", "batch-wait": "50ms"})
    h.write(path, frames(20000))  # about 1 MB of ndjson: a batch of the default 1 MiB
    await until(lambda: len(sizes) >= 2)
    assert max(sizes) <= PROBE_BYTES
    down["on"] = False
    await until(lambda: len(h.receiver.lines) >= 20000, timeout=30)
    assert max(sizes) > 4 * PROBE_BYTES  # once it took one, the sink's own batch size
    assert h.receiver.lines == [f"line {i:06d}" for i in range(20000)]
