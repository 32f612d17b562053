"""Hostile bytes on a log FIFO: random, corrupt, truncated and oversized frames never raise, never
allocate by a length prefix, and the stream resynchronises at the next real frame.

The scanner's resync strategy (framing.Scanner): a frame is trusted when its length is within
MAX_FRAME_BYTES and its body starts like every Docker entry (``0a 06 "std"``); otherwise one
corrupt frame is counted for the whole stretch of garbage and the next frame is found by that
marker plus a full decode. So garbage holding no marker costs no real frame at all. A frame with
a believable header but a short body (a truncated frame) makes the scanner trust its length; when
the bytes after that length do not start a frame, the scanner looks inside it for frames it
swallowed.
"""

from __future__ import annotations

import asyncio
import os
import struct
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from logdriver.delivery import InProcessDelivery
from logdriver.driver import Driver
from logdriver.fifo import FifoReader
from logdriver.framing import (
    MAX_FRAME_BYTES,
    Entry,
    FrameReader,
    Scanner,
    decode_frames,
    encode_entry,
    to_entry,
)
from logdriver.store import Store

from .helpers import frames
from .test_api import CID, Daemon, daemon, settle  # noqa: F401 - daemon is a fixture

MARKER = b"\x0a\x06std"  # how every Docker entry's body begins; garbage below never holds it
SEEN = 4 + len(MARKER)  # bytes after a frame the scanner needs to tell whether a frame starts
FAST = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])

entries = st.builds(
    Entry,
    source=st.sampled_from(["stdout", "stderr"]),
    time_nano=st.integers(1, 2**63 - 1),
    line=st.binary(max_size=200),
)
partials = st.builds(
    Entry,
    source=st.sampled_from(["stdout", "stderr"]),
    time_nano=st.integers(1, 2**63 - 1),
    line=st.binary(max_size=200),
    partial=st.just(True),
    partial_id=st.text(max_size=20),
    partial_ordinal=st.integers(1, 2**31 - 1),
    partial_last=st.booleans(),
)
_tails = st.binary(max_size=60)
garbage = st.one_of(
    st.binary(min_size=1, max_size=300),  # random bytes
    _tails.map(lambda t: b"\xff\xff\xff\xff" + t),  # a 4 GB length prefix
    st.tuples(st.integers(MAX_FRAME_BYTES + 1, 2**32 - 1), _tails).map(  # any oversized prefix
        lambda p: struct.pack(">I", p[0]) + p[1]),
    st.tuples(st.integers(0, 7), _tails).map(  # a length under the smallest entry
        lambda p: struct.pack(">I", p[0]) + p[1]),
    st.tuples(st.integers(8, 300), st.binary(min_size=1, max_size=300)).map(  # body not an entry
        lambda p: struct.pack(">I", p[0]) + p[1]),
)
# A stream: pieces that are each a valid entry or a stretch of garbage.
pieces = st.lists(st.one_of(entries, partials, garbage), max_size=25)


def build(items: list[Entry | bytes]) -> tuple[bytes, list[Entry], int]:
    """The stream, the entries in it, and how many maximal garbage stretches it has (None if a
    stretch holds the resync marker, which only Docker's own frames may)."""
    out: list[bytes] = []
    good: list[Entry] = []
    stretches: list[bytes] = []
    current = b""
    for item in items:
        if isinstance(item, Entry):
            if current:
                stretches.append(current)
                current = b""
            out.append(encode_entry(item))
            good.append(item)
        else:
            current += item
            out.append(item)
    if current:
        stretches.append(current)
    assume(all(MARKER not in s for s in stretches))
    return b"".join(out), good, len(stretches)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def scan(chunks: list[bytes]) -> tuple[list[Entry], Scanner]:
    sc = Scanner()
    got: list[Entry] = []
    for chunk in chunks:
        res = sc.feed(chunk)
        for run in res.runs:
            for _o, _l, msg in decode_frames(res.data[run.start:run.ends[-1]]):
                got.append(to_entry(msg))
    sc.finish()
    return got, sc


@FAST
@given(items=pieces, points=st.lists(st.integers(0, 10_000), max_size=8))
# A chunk that ends inside a garbage stretch, then a good frame, then a new stretch: the frame
# ends the first stretch, so the second counts too (the scanner once counted them as one).
@example(items=[b"\x00", Entry("stdout", 128, b""), b"\x00" * 26], points=[9])
@example(items=[b"\x00" * 18, Entry("stdout", 2097152, b"", partial=True,
                                    partial_id="0\x80\U00010000", partial_ordinal=268435456,
                                    partial_last=True),
                b"\x00", Entry("stdout", 1, b""), b"\x00", Entry("stdout", 1, b"")],
         points=[65])
def test_garbage_between_frames_costs_no_frame_and_counts_one_per_stretch(
    kernel_twin: str, items: list[Entry | bytes], points: list[int]
) -> None:
    data, good, stretches = build(items)
    got, sc = scan(cut(data, points))
    assert got == good
    assert sc.corrupt == stretches


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4000), points=st.lists(st.integers(0, 4000), max_size=6))
def test_random_bytes_never_raise_and_never_hold_more_than_a_frame(
    kernel_twin: str, data: bytes, points: list[int]
) -> None:
    sc = Scanner()
    for chunk in cut(data, points):
        res = sc.feed(chunk)
        assert len(sc.pending) <= MAX_FRAME_BYTES + 4
        for run in res.runs:
            assert 0 <= run.start < run.ends[-1] <= len(res.data)
    sc.finish()
    assert sc.pending == b""
    reader = FrameReader()
    assert all(length <= MAX_FRAME_BYTES + 4 for _o, length, _m in reader.frames(data))


@FAST
@given(before=st.lists(entries, max_size=4), broken=entries,
       keep=st.integers(10, 10_000), after=st.lists(entries, min_size=1, max_size=30),
       points=st.lists(st.integers(0, 10_000), max_size=4))
def test_a_truncated_frame_costs_itself_only(
    kernel_twin: str, before: list[Entry], broken: Entry, keep: int, after: list[Entry],
    points: list[int],
) -> None:
    """A frame cut short (header and the start of its body intact) followed by whole frames: its
    length would swallow the frames after it; they come out all the same, and it is counted."""
    whole = encode_entry(broken)
    assume(10 <= keep < len(whole))
    head = b"".join(map(encode_entry, before))
    tail_frames = [encode_entry(e) for e in after]
    tail = b"".join(tail_frames)
    # The broken frame's length ends inside the frames after it (not exactly on a boundary,
    # where nothing can tell it from a real frame; see the test below).
    window_end = len(whole) - keep
    starts = {sum(map(len, tail_frames[:i])) for i in range(len(tail_frames) + 1)}
    assume(window_end + SEEN <= len(tail) and window_end not in starts)
    data = head + whole[:keep] + tail
    # The scanner can only doubt a frame while it still holds it: the bytes after its end must
    # be in the same read. (A read that ends right there hands it on; see the test below.)
    claimed_end = len(head) + len(whole)
    got, sc = scan(cut(data, [p for p in points
                              if not claimed_end <= p % (len(data) + 1) < claimed_end + SEEN]))
    assert got == before + after
    assert sc.corrupt == 1


@pytest.mark.parametrize("split", [False, True])
def test_the_limits_of_doubting_a_truncated_frame(kernel_twin: str, split: bool) -> None:
    """Length-prefixed framing has no checksum. A broken frame whose length ends exactly where a
    real frame starts looks like a real frame; so does one whose end is the end of a read. Each
    costs the frames it covers, stored as one entry, and the stream goes on after it."""
    broken = encode_entry(Entry("stdout", 5, b"x" * 100))
    inner = frames(2)
    keep = len(broken) - len(inner)
    after = frames(3, start=2)
    if split:  # the read ends where the broken frame does, mid-way through a real one
        inner = frames(2) + after[:7]
        keep = len(broken) - len(inner)
        got, sc = scan([broken[:keep] + inner, after[7:] + frames(1, start=5)])
        assert got[0].line.startswith(b"x" * 20)  # the broken frame and what it covered
        assert [e.line for e in got[1:]] == [b"line %06d" % i for i in (3, 4, 5)]
        assert sc.corrupt == 1  # the real frame it cut
        return
    got, sc = scan([broken[:keep] + inner + after])
    assert len(got) == 4 and got[1:] == [to_entry(m) for _o, _l, m in decode_frames(after)]
    assert sc.corrupt == 0


def test_a_four_gigabyte_prefix_allocates_nothing_like_its_length(kernel_twin: str) -> None:
    good = frames(2000)
    data = b"\xff\xff\xff\xff" + b"\x00" * 100 + good
    tracemalloc.start()
    try:
        sc = Scanner()
        n = 0
        for i in range(0, len(data), 65536):
            res = sc.feed(data[i:i + 65536])
            n += res.count
        sc.finish()
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 2000 and sc.corrupt == 1
    assert peak < 1 << 20, peak  # the chunks themselves; nothing near 4 GB (or even 1 MB)


# ---- the FIFO reader's own path: FifoReader._ingest into a real store --------------------------

def _ingest_all(tmp: Path, chunks: list[bytes]) -> tuple[list[Entry], int, int]:
    """Feed ``chunks`` through FifoReader._ingest as reads from a FIFO would; then read the store
    back. Returns (entries, the container's corrupt_frames, undecodable stored frames)."""
    driver = Driver(Store(tmp, disk_budget=1 << 30),
                    delivery=InProcessDelivery(), fifo_root=str(tmp))
    driver.store.open()
    clog = driver.store.get(CID)
    reader = FifoReader(str(tmp / ("0" * 64)), clog, on_corrupt=driver._count_corrupt)
    for chunk in chunks:
        reader._ingest(chunk)
    dropped = reader.scanner.finish()
    clog.corrupt_frames += dropped
    reader.close()
    fr = FrameReader()
    got = [to_entry(m) for data in clog.iter_frames(clog.start, clog.end)
           for _o, _l, m in fr.frames(data)]
    corrupt = clog.corrupt_frames
    driver.store.close()
    return got, corrupt, fr.bad


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
@given(items=pieces, points=st.lists(st.integers(0, 10_000), max_size=6))
def test_fifo_reader_stores_every_frame_around_garbage_and_counts_it(
    kernel_twin: str, tmp_path_factory: pytest.TempPathFactory, items: list[Entry | bytes],
    points: list[int],
) -> None:
    data, good, stretches = build(items)
    got, corrupt, bad = _ingest_all(tmp_path_factory.mktemp("s"), cut(data, points))
    assert got == good
    assert corrupt == stretches and bad == 0


def test_fifo_reader_four_gigabyte_prefix_is_bounded(kernel_twin: str, tmp_path: Path) -> None:
    data = b"\xff\xff\xff\xff" + frames(1000) + b"\xff\xff\xff\xff" * 3 + frames(1000, start=1000)
    tracemalloc.start()
    try:
        got, corrupt, bad = _ingest_all(tmp_path, [data[i:i + 65536]
                                                   for i in range(0, len(data), 65536)])
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.line for e in got] == [b"line %06d" % i for i in range(2000)]
    assert (corrupt, bad) == (2, 0)
    assert peak < 4 << 20, peak


async def test_garbage_on_a_real_fifo_is_skipped_counted_and_the_rest_read_back(
    kernel_twin: str, daemon: Daemon,  # noqa: F811 - the fixture
) -> None:
    path = daemon.fifo()
    assert await daemon.start(path) == (200, {})
    oversized = struct.pack(">I", MAX_FRAME_BYTES + 1) + os.urandom(64).replace(b"\x06", b"")
    stream = (frames(10) + b"\xff\xff\xff\xff" + frames(10, start=10) + oversized
              + frames(10, start=20) + b"\x00\x00\x00\x20" + b"\x99" * 32 + frames(10, start=30))
    daemon.write(path, stream)
    await settle()
    got = await daemon.read()
    assert [e.line for e in got] == [b"line %06d\n" % i for i in range(40)]
    clog = daemon.driver.store.logs[CID]  # type: ignore[attr-defined]
    assert clog.corrupt_frames == 3
    status = await (await daemon.client.get("/status")).json()
    assert status["corrupt_frames"] == 3 and status["containers"][0]["corrupt_frames"] == 3
    # and the plugin goes on serving and reading
    daemon.write(path, frames(5, start=40))
    await settle()
    assert len(await daemon.read()) == 45
    assert await asyncio.wait_for(daemon.call("LogDriver.StopLogging", {"File": path}), 5) == \
        (200, {})
