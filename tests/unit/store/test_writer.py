"""The writer: appends read back in order, rotation as Docker's local driver, the raw chunk on disk
first, index blocks, any chunking, a full disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from logdriver.framing import Scanner, encode_entry
from logdriver.store import BLOCK_BYTES, LOCAL_RECORD_EXTRA, ContainerLog

from ..helpers import entry, frames
from .helpers import CID, lines, open_log, write

# Every test here stores through Scanner.feed and reads through whole_frames: both twins.
pytestmark = pytest.mark.usefixtures("kernel_twin")


def test_appended_entries_read_back_in_order(tmp_path: Path) -> None:
    clog = open_log(tmp_path)
    write(clog, frames(1000), chunk=777)
    assert lines(clog) == [b"line %06d" % i for i in range(1000)]


def test_segments_rotate_as_local_does_and_oldest_are_dropped(tmp_path: Path) -> None:
    """A segment takes entries until it has reached max-size, counting each as ``local`` stores
    it (frame + 4 bytes): the last entry may pass max-size, as in local's files."""
    frame_len = len(encode_entry(entry(0)))
    max_size = frame_len * 100
    clog = open_log(tmp_path, max_size=max_size, max_file=3)
    write(clog, frames(1000), chunk=5000)
    files = sorted((tmp_path / CID).glob("*.log"))
    assert len(files) == 3
    per = -(-max_size // (frame_len + LOCAL_RECORD_EXTRA))  # entries until max-size is reached
    assert [s.count for s in clog.segments[:-1]] == [per, per]
    assert all(s.size == per * frame_len for s in clog.segments[:-1])
    got = lines(clog)
    made = -(-1000 // per)  # segment k holds entries [k * per, (k + 1) * per)
    assert got == [b"line %06d" % i for i in range((made - 3) * per, 1000)]
    assert clog.dropped_segments == made - 3


def test_a_frame_bigger_than_max_size_passes_it_as_in_local(tmp_path: Path) -> None:
    clog = open_log(tmp_path, max_size=4096, max_file=10)
    big = encode_entry(entry(1, line=b"z" * 10000))
    write(clog, frames(1) + big + frames(1, start=2) + big + frames(1, start=4))
    assert lines(clog) == [b"line 000000", b"z" * 10000, b"line 000002", b"z" * 10000,
                           b"line 000004"]
    # Written while the segment is under max-size; the write after it rotates.
    assert [s.count for s in clog.segments] == [2, 2, 1]


def test_raw_bytes_are_on_disk_before_they_are_scanned(tmp_path: Path) -> None:
    clog = open_log(tmp_path)
    data = frames(10)
    clog.ingest(Scanner(), data[:-7])
    seg = clog.segments[-1]
    assert seg.path.read_bytes() == data[:-7]  # the incomplete frame is on disk too
    assert seg.size == len(data) - len(encode_entry(entry(9)))


def test_index_blocks_cover_the_segment_without_gaps(tmp_path: Path) -> None:
    clog = open_log(tmp_path)
    write(clog, frames(20_000), chunk=3000)
    seg = clog.segments[0]
    off = 0
    for b in seg.blocks:
        assert b.offset == off
        off = b.end
    assert off == seg.size
    assert sum(b.count for b in seg.blocks) == 20_000
    assert all(b.nbytes < BLOCK_BYTES + 3000 for b in seg.blocks)


@pytest.mark.parametrize("chunk", [1, 13, 4096])
def test_tiny_chunks_make_the_same_store(tmp_path: Path, chunk: int) -> None:
    clog = open_log(tmp_path)
    write(clog, frames(300), chunk=chunk)
    assert lines(clog) == [b"line %06d" % i for i in range(300)]


@pytest.mark.parametrize("fail_after", [0, 1, 2])  # which write of a chunk fails (fits / append)
def test_a_full_disk_drops_and_counts_entries_then_storing_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_after: int
) -> None:
    import errno

    import logdriver.store.writer as writer

    frame_len = len(encode_entry(entry(0)))
    clog = open_log(tmp_path, max_size=frame_len * 150, max_file=100)  # rotates in the outage
    sc = Scanner()
    data = frames(1000)
    chunk = frame_len * 37 + 5  # chunks end mid-frame
    full = {"on": False, "writes": 0}
    real = writer._write_all

    def write_all(fd: int, view: bytes | memoryview) -> None:
        if full["on"]:
            full["writes"] += 1
            if full["writes"] > fail_after:
                real(fd, bytes(view)[: len(view) // 2])  # a partial write, as ENOSPC leaves it
                raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, view)

    monkeypatch.setattr(writer, "_write_all", write_all)
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    received = 0
    for k, piece in enumerate(chunks):
        full["on"] = 8 <= k < 16
        full["writes"] = 0
        received += clog.ingest(sc, piece).count
    got = lines(clog)
    assert received == 1000
    assert clog.dropped_lines > 0 and clog.disk_full_at > 0
    assert len(got) + clog.dropped_lines == 1000  # every entry either stored or counted
    numbers = [int(ln.split()[1]) for ln in got]
    assert numbers == sorted(numbers) and numbers[-1] == 999  # resumed, in order, no garbage
    # The files hold only whole frames: a restart finds exactly the same history.
    clog.save_meta()
    clog.sync(wait=True)
    clog.release_fds()
    again = ContainerLog.open(tmp_path / CID, CID)
    assert lines(again) == got and not again.tail


def test_full_index_blocks_reach_the_idx_file_at_the_next_sync(tmp_path: Path) -> None:
    """Blocks are written to the .idx file at sync (not one write per block filled): after it,
    the file holds every block but the open one, as recovery reads them."""
    from logdriver.store import IDX

    clog = open_log(tmp_path)
    write(clog, frames(20_000), chunk=3000)
    seg = clog.segments[-1]
    assert len(seg.blocks) > 5
    assert not seg.idx_path.exists() or seg.idx_path.stat().st_size == 0
    clog.sync(wait=True)
    raw = seg.idx_path.read_bytes()
    assert [IDX.unpack_from(raw, i) for i in range(0, len(raw), IDX.size)] == [
        (b.offset, b.count, b.min_t, b.max_t, b.nbytes) for b in seg.blocks[:-1]]
    write(clog, frames(10, start=20_000))
    clog.close()
    again = ContainerLog.open(tmp_path / CID, CID)
    assert again.segments[-1].blocks == seg.blocks
