"""Recovery of the segment files: reopen with history and index, crash repair, an orphaned pending
frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from logdriver.framing import Scanner, encode_entry
from logdriver.store import IDX, ContainerLog

from ..helpers import entry, frames
from .helpers import CID, lines, open_log, write

# Every test here stores through Scanner.feed and reads through whole_frames: both twins.
pytestmark = pytest.mark.usefixtures("kernel_twin")


def test_reopen_keeps_history_and_index(tmp_path: Path) -> None:
    clog = open_log(tmp_path, max_size=1 << 20)
    write(clog, frames(30_000), chunk=10_000)
    clog.save_meta()
    clog.close()
    again = ContainerLog.open(tmp_path / CID, CID)
    assert again.max_size == 1 << 20
    assert lines(again) == [b"line %06d" % i for i in range(30_000)]
    assert [s.blocks for s in again.segments] == [s.blocks for s in clog.segments]
    write(again, frames(10, start=30_000))
    assert lines(again)[-11:] == [b"line %06d" % i for i in range(29_999, 30_010)]


def test_half_written_frame_and_index_are_repaired_on_open(tmp_path: Path) -> None:
    clog = open_log(tmp_path)
    write(clog, frames(5000), chunk=100_000)
    clog.close()
    seg = clog.segments[-1]
    size = seg.path.stat().st_size
    with open(seg.path, "ab") as f:
        f.write(encode_entry(entry(5000))[:-4])  # crash in the middle of a write
    with open(seg.idx_path, "ab") as f:
        f.write(IDX.pack(size, 1, 0, 0, 999)[:10])  # and in the middle of an index record
    again = ContainerLog.open(tmp_path / CID, CID)
    assert again.segments[-1].size == size
    assert again.tail == encode_entry(entry(5000))[:-4]  # kept for the FIFO's next reader
    assert lines(again) == [b"line %06d" % i for i in range(5000)]
    # The FIFO still holds the rest of that frame: the next reader completes it.
    write(again, encode_entry(entry(5000))[-4:] + frames(1, start=5001))
    assert lines(again)[-3:] == [b"line 004999", b"line 005000", b"line 005001"]
    assert seg.path.stat().st_size == again.segments[-1].size


def test_an_orphaned_tail_is_dropped_by_a_new_reader(tmp_path: Path) -> None:
    clog = open_log(tmp_path)
    write(clog, frames(3))
    clog.close()
    with open(clog.segments[-1].path, "ab") as f:
        f.write(encode_entry(entry(3))[:-4])
    again = ContainerLog.open(tmp_path / CID, CID)
    sc = Scanner()  # a new container run: a new FIFO that does not continue the old frame
    again.ingest(sc, frames(2, start=10))
    assert lines(again) == [b"line %06d" % i for i in (0, 1, 2, 10, 11)]
    assert again.segments[-1].path.stat().st_size == again.segments[-1].size


def test_segment_count_is_its_blocks_entries_through_writes_rotation_and_reopen(
    tmp_path: Path,
) -> None:
    """``Segment.count`` is kept as a running total (``local_size`` reads it at every write):
    it must stay the sum of its blocks' counts on the in-place path, the rewrite path (garbage
    between frames), across rotations and after recovery rebuilds the index."""
    clog = open_log(tmp_path, max_size=20_000, max_file=20)
    sc = Scanner()
    for i in range(0, 3000, 100):
        garbage = b"\xff" * 7 if i % 300 == 0 else b""  # the chunk is rewritten, not kept
        clog.ingest(sc, garbage + frames(100, start=i))
    assert len(clog.segments) > 3
    for seg in clog.segments:
        assert seg.count == sum(b.count for b in seg.blocks) > 0
    assert sum(s.count for s in clog.segments) == 3000
    clog.close()
    (clog.segments[-1].idx_path).unlink()  # recovery rebuilds this one's blocks from frames
    again = ContainerLog.open(tmp_path / CID, CID)
    assert [s.count for s in again.kept] == [s.count for s in clog.kept]
    write(again, frames(50, start=3000))
    assert again.segments[-1].count == sum(b.count for b in again.segments[-1].blocks)
    assert lines(again)[-1] == b"line 003049"
