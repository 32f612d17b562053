"""The reader: Tail and Since from the index, reads that stop at the end they began with,
followers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logdriver.framing import decode_frames, encode_entry

from ..helpers import T0, entry, frames
from .helpers import lines, open_log, write

# Every test here stores through Scanner.feed and reads through whole_frames: both twins.
pytestmark = pytest.mark.usefixtures("kernel_twin")


def test_tail_reads_only_the_index_and_the_last_blocks(tmp_path: Path) -> None:
    clog = open_log(tmp_path, max_size=1 << 20, max_file=5)
    write(clog, frames(50_000), chunk=4096)
    assert sum(len(s.blocks) for s in clog.segments) > 20
    for n in (1, 10, 777, 49_999, 50_000, 60_000):
        pos, skip = clog.tail_start(n)
        got = lines(clog, pos)[skip:]
        assert got == [b"line %06d" % i for i in range(max(0, 50_000 - n), 50_000)]
        # The start block is one of the last ones, not the beginning of history.
        if n <= 777:
            assert pos != clog.start


def test_since_skips_blocks_older_than_the_bound(tmp_path: Path) -> None:
    clog = open_log(tmp_path, max_size=1 << 20, max_file=5)
    # Two runs 60 s apart: a Since between them must not start at the first run.
    write(clog, frames(20_000), chunk=8192)
    late = b"".join(encode_entry(entry(i, t=T0 + 60 * 10**9 + i)) for i in range(20_000, 20_100))
    write(clog, late)
    pos = clog.since_start(T0 + 30 * 10**9)
    assert pos > clog.start
    assert lines(clog, pos)[-100:] == [b"line %06d" % i for i in range(20_000, 20_100)]
    assert len(lines(clog, pos)) < 20_100


def test_iter_frames_stops_at_the_end_taken_when_it_began(tmp_path: Path) -> None:
    clog = open_log(tmp_path)
    write(clog, frames(10))
    end = clog.end
    it = clog.iter_frames(clog.start, end)
    write(clog, frames(10, start=10))
    got = [bytes(m.line) for d in it for _o, _l, m in decode_frames(d)]
    assert got == [b"line %06d" % i for i in range(10)]


async def test_follower_wakes_on_append_and_on_stop(tmp_path: Path) -> None:
    clog = open_log(tmp_path)
    waiter = asyncio.create_task(clog.wait_change())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    write(clog, frames(1))
    await asyncio.wait_for(waiter, 1)
    waiter = asyncio.create_task(clog.wait_change())
    await asyncio.sleep(0.01)
    clog.mark_stopped()
    await asyncio.wait_for(waiter, 1)
    assert clog.stop_count == 1
