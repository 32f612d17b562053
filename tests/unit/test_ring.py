"""The ring store: rotation, tail/since/until reads, follow wake-ups, crash repair, eviction."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logdriver.framing import Scanner, decode_frames, encode_entry
from logdriver.store import BLOCK_BYTES, IDX, LOCAL_RECORD_EXTRA, ContainerLog, Store

from .helpers import T0, entry, frames

CID = "a" * 64


def write(clog: ContainerLog, data: bytes, chunk: int = 1 << 16) -> None:
    """Feed ``data`` as a new FIFO reader would, in chunks (continuing an orphaned pending
    frame, as a reader re-opened after a restart does)."""
    sc = clog.adopt_tail() or Scanner()
    for i in range(0, len(data), chunk):
        clog.ingest(sc, data[i : i + chunk])


def lines(clog: ContainerLog, pos: tuple[int, int] | None = None) -> list[bytes]:
    out = []
    for data in clog.iter_frames(pos or clog.start):
        out.extend(bytes(m.line) for _o, _l, m in decode_frames(data))
    return out


def open_log(tmp_path: Path, **kw: int) -> ContainerLog:
    clog = ContainerLog.open(tmp_path / CID, CID)
    for k, v in kw.items():
        setattr(clog, k, v)
    return clog


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


def test_disk_budget_evicts_stopped_containers_oldest_first_never_running(tmp_path: Path) -> None:
    store = Store(tmp_path, disk_budget=600_000)
    store.open()
    ids = [c * 64 for c in "bcd"]
    for n, cid in enumerate(ids):
        clog = store.get(cid)
        clog.running_fifos.add("/x")
        write(clog, frames(5000))  # 175 KB each
        clog.running_fifos.clear()
        clog.meta["stopped_at"] = 1000.0 + n
    running = store.get("e" * 64)
    running.running_fifos.add("/y")
    store._checked = -1e9
    write(running, frames(5000))  # 700 KB in all: over the budget by one container
    assert sorted(store.logs) == sorted([ids[1], ids[2], "e" * 64])  # the oldest stop went
    assert not (tmp_path / "containers" / ids[0]).exists()
    assert store.total_bytes <= 600_000
    write(running, frames(20_000, start=5000))  # the running one alone exceeds the budget
    store._checked = -1e9
    write(running, frames(1, start=25_000))
    assert list(store.logs) == ["e" * 64]  # every stopped one went; the running one stays
    assert len(lines(running)) == 25_001


def test_store_reopens_every_container(tmp_path: Path) -> None:
    store = Store(tmp_path, disk_budget=1 << 30)
    store.open()
    for cid in ("1" * 64, "2" * 64):
        write(store.get(cid), frames(3))
        store.get(cid).save_meta()
    store.close()
    again = Store(tmp_path, disk_budget=1 << 30)
    again.open()
    assert sorted(again.logs) == ["1" * 64, "2" * 64]
    assert lines(again.logs["2" * 64]) == [b"line 000000", b"line 000001", b"line 000002"]


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
