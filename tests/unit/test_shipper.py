"""The shipper process: its view of the store, and the real process against a loopback HEC."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from logdriver.delivery import RecordReader
from logdriver.framing import Entry, encode_entry
from logdriver.shipper import Shipper, _state
from logdriver.store import ContainerLog, StoreView
from sinks import JoinConfig
from tests.fakes.hec import FakeHec

from .helpers import T0, frames
from .store.helpers import write

CID = "c" * 64


def told(clog: ContainerLog, view: StoreView | None = None) -> StoreView:
    """A view of ``clog`` told its current state, as the shipper would be."""
    view = view or StoreView(clog.id, clog.path)
    state = _state(clog)
    view.update(state["segments"], state["running"], state["dropped"])
    return view


def read_all(reader: RecordReader) -> list[bytes]:
    out: list[bytes] = []
    while True:
        recs, _ends = reader.take(1000)
        if not len(recs):
            return out
        out += recs.lines


def test_the_view_reads_what_the_store_holds_across_rotations(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.max_size, clog.max_file = 20_000, 100
    write(clog, frames(3000), chunk=7000)
    assert len(clog.segments) > 5
    view = told(clog)
    got = read_all(RecordReader(view, view.start, JoinConfig()))  # type: ignore[arg-type]
    assert got == [b"line %06d" % i for i in range(3000)]


def test_the_view_never_reads_past_what_it_was_told(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    write(clog, frames(10))
    view = told(clog)
    reader = RecordReader(view, view.start, JoinConfig())  # type: ignore[arg-type]
    write(clog, frames(10, start=10))  # stored, not told yet
    assert read_all(reader) == [b"line %06d" % i for i in range(10)]
    told(clog, view)
    assert read_all(reader) == [b"line %06d" % i for i in range(10, 20)]


def test_history_rotated_away_before_it_was_read_is_counted(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.max_size, clog.max_file = 5_000, 2
    view = StoreView(clog.id, clog.path)
    write(clog, frames(100))
    told(clog, view)
    reader = RecordReader(view, view.start, JoinConfig())  # type: ignore[arg-type]
    write(clog, frames(1000, start=100))  # the first segments go
    told(clog, view)
    got = read_all(reader)
    assert reader.dropped_bytes > 0
    assert got == [b"line %06d" % i for i in range(1100 - len(got), 1100)]


def test_multiline_events_are_cut_by_their_lines_times_however_they_are_read(
        tmp_path: Path) -> None:
    # A shipper catching up reads seconds of history at once: the cut must not depend on that.
    # Lines 0.1 s apart, timeout 0.25 s: an event holds the lines logged within 0.25 s of its
    # first line, and the next line starts the next event even though it does not match.
    ms = 1_000_000
    lines = [b"ERROR boom"] + [b"  at %d" % i for i in range(1, 8)]
    data = [encode_entry(Entry("stdout", T0 + i * 100 * ms, ln)) for i, ln in enumerate(lines)]
    join = JoinConfig(multiline_pattern=re.compile("^ERROR"), multiline_timeout=0.25)
    want = [(T0, b"ERROR boom\n  at 1\n  at 2"), (T0 + 300 * ms, b"  at 3\n  at 4\n  at 5"),
            (T0 + 600 * ms, b"  at 6\n  at 7")]
    for n, pieces in enumerate(([b"".join(data)], data)):  # all at once, or as it is written
        clog = ContainerLog.open(tmp_path / str(n) / CID, CID)
        view = StoreView(clog.id, clog.path)
        reader = RecordReader(view, view.start, join)  # type: ignore[arg-type]
        got: list[tuple[int, bytes]] = []
        for piece in pieces:
            write(clog, piece)
            told(clog, view)
            while recs := reader.take(1000)[0]:
                got += zip(recs.times, recs.lines, strict=True)
        assert reader.multiline_due_in() == 0.0  # its first line is long past
        recs = reader.flush_stale()[0]
        got += zip(recs.times, recs.lines, strict=True)
        assert got == want
        assert reader.multiline_due_in() is None


async def test_the_shipper_process_delivers_resumes_and_stops_on_close(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.running_fifos.add("fifo")
    opts = {"splunk-url": "", "splunk-token": "tok", "splunk-verify-connection": "false",
            "batch-wait": "50ms"}
    info = {"ContainerID": CID, "ContainerName": "/web", "Config": opts}
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    with FakeHec("tok") as hec:
        opts["splunk-url"] = hec.url
        shipper = Shipper(env)
        await shipper.start()
        shipper.attach(clog, [], JoinConfig(), info, opts)
        write(clog, frames(5000), chunk=3000)
        await asyncio.to_thread(hec.wait_for_events, 5000, 20.0)
        assert hec.lines() == [f"line {i:06d}" for i in range(5000)]
        await shipper.close()
        assert shipper._proc is not None and shipper._proc.returncode == 0
        assert shipper.delivered_events == 5000  # its last counters reach the plugin

        # A new shipper (the plugin restarted) goes on from the cursor: nothing twice.
        write(clog, frames(10, start=5000))
        shipper = Shipper(env)
        shipper.attach(clog, [], JoinConfig(), info, opts)
        await shipper.start()
        await asyncio.to_thread(hec.wait_for_events, 5010, 20.0)
        await shipper.close()
        assert hec.lines() == [f"line {i:06d}" for i in range(5010)]


async def test_the_shipper_dies_with_the_plugin(tmp_path: Path) -> None:
    # EOF without "close" is how a shipper sees its plugin killed: it must exit at once, not
    # flush, so that the plugin's next start never has two shippers at the same history.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "logdriver.shipper", "0", "info", str(os.getpid()),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdin is not None
    proc.stdin.close()
    assert await asyncio.wait_for(proc.wait(), 5) == 1


def test_state_lists_whole_frames_only(tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    data = frames(3)
    write(clog, data[:-5])  # the last frame is incomplete: stored raw, not yet told
    assert _state(clog)["segments"] == [[0, len(frames(2))]]


async def test_the_shippers_own_log_reaches_the_plugins_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # Its stdout carries counters to the plugin; its log lines go to the stderr it shares with
    # the plugin, so an operator sees "sink retry" wherever the plugin's log goes.
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.running_fifos.add("fifo")
    opts = {"splunk-url": "http://127.0.0.1:9", "splunk-token": "s3cr3t-tok-9",
            "splunk-verify-connection": "false", "batch-wait": "50ms"}
    shipper = Shipper({**os.environ, "PYTHONPATH": str(Path.cwd())})
    await shipper.start()
    shipper.attach(clog, [], JoinConfig(), {"ContainerID": CID, "Config": opts}, opts)
    write(clog, frames(5))
    for _ in range(100):
        if shipper.retries:
            break
        await asyncio.sleep(0.1)
    await shipper.close()
    err = capfd.readouterr().err
    assert "WARNING logdriver.delivery: sink retry" in err and CID in err
    assert "s3cr3t" not in err


async def test_counters_of_hundreds_of_containers_reach_the_plugin(tmp_path: Path) -> None:
    # One stats line lists every worker (~400 bytes each): well past asyncio's 64 KiB default.
    n = 250
    shipper = Shipper({**os.environ, "PYTHONPATH": str(Path.cwd())})
    await shipper.start()
    opts = {"http-url": "http://127.0.0.1:9/in", "batch-wait": "50ms"}
    for i in range(n):
        cid = f"{i:064x}"
        clog = ContainerLog.open(tmp_path / cid, cid)
        clog.running_fifos.add("fifo")
        shipper.attach(clog, [], JoinConfig(), {"ContainerID": cid, "Config": opts}, opts)
    seen = 0
    for _ in range(150):
        seen = len(shipper.snapshot().get("workers") or [])
        if seen == n:
            break
        await asyncio.sleep(0.1)
    await shipper.close()
    assert seen == n
