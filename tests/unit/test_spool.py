"""The delivery spool: history rotated out of `docker logs` stays until every sink has it, within
``spool-max-size`` and the disk budget, under the ``spool-when-full`` policy; drops are counted
per sink and cause, exactly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from logdriver.delivery.records import RecordReader
from logdriver.framing import encode_entry
from logdriver.store import (
    DISK_BUDGET,
    HISTORY_OVERWRITE,
    SPOOL_FULL,
    ContainerLog,
)
from sinks import JoinConfig

from .delivery.harness import CID, OPTS, Harness, until
from .delivery.test_records import told
from .helpers import entry, frames
from .store.helpers import lines, write

ALL = [f"line {i:06d}" for i in range(2000)]
SMALL = OPTS | {"max-size": "8k", "max-file": "2"}  # a history of about 16 KB
FRAME = len(encode_entry(entry(0)))


def down(h: Harness) -> None:
    h.receiver.answer = lambda r: httpx.Response(503, headers={"Retry-After": "0.2"})


def up(h: Harness) -> None:
    h.receiver.answer = lambda r: None


async def stored_while_down(h: Harness, opts: dict[str, str], n: int = 2000) -> ContainerLog:
    """With the sink down, a container writes ``n`` lines at once; returns its log once all are
    stored."""
    down(h)
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path, opts)
    h.write(path, frames(n))
    clog = driver.store.logs[CID]
    await until(lambda: clog.received_lines == n)
    return clog


def dropped(driver: object, cause: str) -> int:
    return int(driver.delivery.dropped.get(cause, [0, 0])[0])  # type: ignore[attr-defined]


async def test_history_rotated_before_delivery_is_spooled_and_all_of_it_arrives(
    h: Harness,
) -> None:
    down(h)
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path, SMALL)
    h.write(path, frames(2000))  # ~70 KB through a history of 16 KB
    clog = driver.store.logs[CID]
    await until(lambda: clog.received_lines == 2000)
    assert clog.spool, "segments rotated out of history are kept for the sink"
    assert clog.history_bytes <= 2 * 8000
    # `docker logs` shows the history only: the last segments, as `local` would.
    shown = lines(clog)
    assert shown == [b"line %06d" % i for i in range(2000 - len(shown), 2000)]
    up(h)
    await until(lambda: len(h.receiver.lines) >= 2000)
    assert h.receiver.lines == ALL
    assert driver.delivery.dropped == {}
    await until(lambda: not clog.spool, timeout=5)  # released once delivered
    assert len(list(clog.path.glob("*.log"))) == len(clog.segments) <= 2


async def test_with_the_spool_off_an_overwrite_is_counted_exactly(h: Harness) -> None:
    clog = await stored_while_down(h, SMALL | {"spool-max-size": "0"})
    driver = h.driver
    assert driver is not None
    assert not clog.spool
    up(h)
    await until(lambda: bool(h.receiver.lines) and h.receiver.lines[-1] == ALL[-1])
    await until(lambda: dropped(driver, HISTORY_OVERWRITE) > 0)
    got = h.receiver.lines
    assert got == sorted(set(got))  # in order, once
    assert len(got) + dropped(driver, HISTORY_OVERWRITE) == 2000


async def test_drop_oldest_counts_exactly_what_it_dropped_and_never_blocks(h: Harness) -> None:
    clog = await stored_while_down(h, SMALL | {"spool-max-size": "20k"})
    driver = h.driver
    assert driver is not None
    assert not clog.blocked and clog.spool_bytes <= 20_000
    up(h)
    await until(lambda: bool(h.receiver.lines) and h.receiver.lines[-1] == ALL[-1])
    got = h.receiver.lines
    assert got == sorted(set(got))
    assert dropped(driver, SPOOL_FULL) > 0
    assert len(got) + dropped(driver, SPOOL_FULL) == 2000
    w = next(iter(driver.delivery.workers.values()), None)
    if w is not None:  # the per-sink counter says the same
        assert w.stats.dropped[SPOOL_FULL][0] == 2000 - len(got)


async def test_drops_are_counted_while_the_sink_is_still_down(h: Harness) -> None:
    """The worker reads nothing behind the request its failing sink retries, and reads that
    request again from the store for each attempt; what the store drops shows in the counters
    all the same (an alert on them must fire during the outage, not once the sink is back)."""
    down(h)
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path, SMALL | {"spool-max-size": "20k"})
    h.write(path, frames(300))
    await until(lambda: h.receiver.requests >= 2)  # a batch is in flight, failing
    h.write(path, frames(1700, start=300))
    clog = driver.store.logs[CID]
    await until(lambda: clog.received_lines == 2000)
    assert clog.ledger
    lost = sum(d.entries for d in clog.ledger.values())

    def counted() -> int:
        snap = driver.delivery.snapshot()
        return sum(int(v[0]) for v in snap["dropped"].values())

    await until(lambda: counted() > 0, timeout=5)
    assert not h.receiver.lines  # still down
    during = counted()
    # What the worker had read before the drop (at most the 300 lines written before it) is
    # counted when its next attempt reads it again and finds it gone.
    assert lost - 300 <= during <= lost
    up(h)
    await until(lambda: bool(h.receiver.lines) and h.receiver.lines[-1] == ALL[-1])
    # Every line delivered or counted lost, once; every loss is one the store recorded.
    assert len(h.receiver.lines) + counted() == 2000 and counted() == lost
    assert h.receiver.lines == ALL[-len(h.receiver.lines):]


async def test_block_stops_reading_the_fifo_while_full_and_loses_nothing(h: Harness) -> None:
    down(h)
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path, SMALL | {"spool-max-size": "10k", "spool-when-full": "block"})
    clog = driver.store.logs[CID]
    sent = 0
    while not clog.blocked:  # the container writes on until the spool is full
        assert sent < 2000, "the spool never filled"
        h.write(path, frames(100, start=sent))
        sent += 100
        await asyncio.sleep(0.05)
    held = clog.received_lines
    h.write(path, frames(2000 - sent, start=sent))
    await asyncio.sleep(0.5)
    assert clog.received_lines == held < 2000  # the rest waits in the pipe, as would the writer
    up(h)
    await until(lambda: len(h.receiver.lines) >= 2000, timeout=20)
    assert h.receiver.lines == ALL
    await until(lambda: not clog.blocked, timeout=5)  # lifted once delivery makes room
    assert clog.blocked_seconds > 0
    assert driver.delivery.dropped == {}


async def test_a_blocked_spool_is_sent_at_once_not_at_batch_wait(h: Harness) -> None:
    """Blocked, the container writes nothing more until delivery makes room: a worker holding a
    batch smaller than batch-size must send it now (it used to wait out batch-wait each time
    the spool filled, and dockerd cuts a blocked driver's output 10 s after the container
    exits)."""
    down(h)
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path, SMALL | {"spool-max-size": "10k", "spool-when-full": "block",
                                         "batch-wait": "60s", "batch-size": "5000"})
    clog = driver.store.logs[CID]
    h.write(path, frames(2000))
    await until(lambda: clog.blocked, timeout=10)
    up(h)
    await until(lambda: len(h.receiver.lines) >= 2000, timeout=20)
    assert h.receiver.lines == ALL
    assert driver.delivery.dropped == {}


async def test_spooled_segments_and_cursors_survive_a_restart(h: Harness) -> None:
    clog = await stored_while_down(h, SMALL)
    driver = h.driver
    assert driver is not None
    spooled = [s.seq for s in clog.spool]
    assert spooled
    await driver.close()
    h.driver = None
    # The plugin comes back: the spool is found again, invisible to `docker logs`.
    up(h)
    driver = await h.start()
    clog = driver.store.logs[CID]
    assert [s.seq for s in clog.spool] == spooled
    assert lines(clog)[-1] == b"line 001999" and len(lines(clog)) < 2000
    await until(lambda: len(h.receiver.lines) >= 2000)
    assert h.receiver.lines == ALL


def test_history_and_spool_split_again_on_open(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.configure(max_size=FRAME * 50, max_file=2, sinks=("http",), spool_max_size=None,
                   when_full="drop-oldest")
    write(clog, frames(1000), chunk=3000)
    assert len(clog.spool) > 10 and len(clog.segments) == 2
    clog.save_meta()
    clog.close()
    again = ContainerLog.open(tmp_path / CID, CID)
    assert [s.seq for s in again.spool] == [s.seq for s in clog.spool]
    assert [s.seq for s in again.segments] == [s.seq for s in clog.segments]
    # Delivery reads spool then history: everything, in order.
    view = told(again)
    reader = RecordReader(view, view.start, JoinConfig())
    got: list[bytes] = []
    while True:
        recs, _ = reader.take(500)
        if not len(recs):
            break
        got += recs.lines
    assert got == [b"line %06d" % i for i in range(1000)]


def test_the_shipper_view_counts_each_cause_from_the_ledger(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.configure(max_size=FRAME * 50, max_file=2, sinks=("http",), spool_max_size=FRAME * 120,
                   when_full="drop-oldest")
    view = told(clog)
    reader = RecordReader(view, (0, 0), JoinConfig())
    recs, _ = reader.take(10)
    assert not len(recs)
    write(clog, frames(30), chunk=3000)
    told(clog, view)
    recs, _ = reader.take(7)  # the reader is 7 entries into segment 0
    assert len(recs) >= 7
    have = len(recs)
    write(clog, frames(970, start=30), chunk=3000)
    told(clog, view)
    got = have
    while True:
        recs, _ = reader.take(500)
        if not len(recs):
            break
        got += len(recs)
    lost = reader.dropped[SPOOL_FULL][0]
    assert got + lost == 1000
    assert sum(d.entries for d in clog.ledger.values()) >= lost


@pytest.mark.parametrize("value", ["lots", "-1"])
def test_a_bad_spool_option_names_it(value: str) -> None:
    from logdriver.options import LogConfig, OptionError

    with pytest.raises(OptionError, match="spool-max-size"):
        LogConfig.from_options({"spool-max-size": value})
    with pytest.raises(OptionError, match="spool-when-full"):
        LogConfig.from_options({"spool-when-full": "drop-newest"})


async def test_what_waits_in_a_blocked_pipe_is_read_at_stop_logging(h: Harness) -> None:
    """The container has exited: what it wrote is in the pipe, and StopLogging keeps it all,
    even over the spool's limit (the pipe holds at most what it holds)."""
    down(h)
    driver = await h.start()
    path = h.fifo()
    await h.start_logging(path, SMALL | {"spool-max-size": "10k", "spool-when-full": "block"})
    clog = driver.store.logs[CID]
    sent = 0
    while not clog.blocked:
        assert sent < 2000, "the spool never filled"
        h.write(path, frames(100, start=sent))
        sent += 100
        await asyncio.sleep(0.05)
    h.write(path, frames(2000 - sent, start=sent))
    assert clog.received_lines < 2000
    driver.stop_logging(path)
    assert clog.received_lines == 2000
    up(h)
    await until(lambda: len(h.receiver.lines) >= 2000, timeout=20)
    assert h.receiver.lines == ALL


def test_a_line_cut_into_pieces_across_segments_is_delivered_whole(tmp_path: Path) -> None:
    """Docker's 16 KiB pieces of one long line may land in different segments: the reader
    joins them across the segment change (it used to take the change for a loss)."""
    from logdriver.framing import Entry

    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.configure(max_size=20_000, max_file=10, sinks=("http",), spool_max_size=None,
                   when_full="drop-oldest")
    pieces = [b"a" * 16384, b"b" * 16384, b"c" * 100]
    data = frames(3) + b"".join(
        encode_entry(Entry("stdout", 7, p, partial=True, partial_id="x", partial_ordinal=i + 1,
                           partial_last=i == 2))
        for i, p in enumerate(pieces)) + frames(1, start=3)
    write(clog, data)
    assert len(clog.kept) == 2  # the first piece in one segment, the rest in the next
    view = told(clog)
    reader = RecordReader(view, view.start, JoinConfig())
    recs, _ = reader.take(100)
    assert recs.lines == [b"line 000000", b"line 000001", b"line 000002", b"".join(pieces),
                          b"line 000003"]
    assert reader.dropped == {}


def test_a_segment_deleted_before_the_view_is_told_is_counted_once_the_ledger_comes(
    tmp_path: Path,
) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.configure(max_size=FRAME * 50, max_file=1, sinks=("http",), spool_max_size=None,
                   when_full="drop-oldest")
    write(clog, frames(200), chunk=3000)
    view = told(clog)
    reader = RecordReader(view, view.start, JoinConfig())
    gone = clog.spool[0]
    clog.drop_oldest_spooled(SPOOL_FULL)  # the file goes; the view has not been told yet
    recs, _ = reader.take(100)
    assert not len(recs) and reader.dropped == {}  # it waits rather than guess the cause
    told(clog, view)
    got = 0
    while True:
        recs, _ = reader.take(100)
        if not len(recs):
            break
        got += len(recs)
    assert reader.dropped == {SPOOL_FULL: [gone.count, gone.size]}
    assert got + gone.count == 200


def test_a_reader_whose_container_was_evicted_counts_it_and_ends(tmp_path: Path) -> None:
    """The plugin removed a stopped container with undelivered data (disk budget): the view
    is told every kept segment went with cause disk_budget; the reader counts it all and
    stands at the end, so the worker's work is over."""
    from logdriver.store import Dropped

    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.configure(max_size=FRAME * 50, max_file=2, sinks=("http",), spool_max_size=None,
                   when_full="drop-oldest")
    write(clog, frames(300), chunk=3000)
    view = told(clog)
    reader = RecordReader(view, view.start, JoinConfig())
    recs, _ = reader.take(10)
    have = len(recs)
    gone = [Dropped(s.seq, s.size, s.count, DISK_BUDGET).to_json() for s in clog.kept]
    view.update([], False, gone)  # what Shipper.forget tells
    recs, _ = reader.take(1000)
    assert not len(recs)
    assert reader.dropped[DISK_BUDGET][0] + have == 300
    assert reader.pos >= view.end
