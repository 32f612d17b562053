"""The FIFO reader on a real FIFO: a steady writer is polled on a timer without a selector change
per read, a pause returns the fd to the selector, and every frame is stored either way."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from logdriver.fifo import COALESCE_SECONDS, F_SETPIPE_SZ, MAX_COALESCE_SECONDS, FifoReader
from logdriver.store import ContainerLog

from .helpers import frames
from .store.helpers import lines

CID = "f" * 64

# Every test here stores through Scanner.feed: both twins.
pytestmark = pytest.mark.usefixtures("kernel_twin")


class Selector:
    """Counts the reader's selector changes on the running loop and tells if it is watched."""

    def __init__(self, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch) -> None:
        self.adds = self.removes = 0
        self.watched: set[int] = set()
        add, remove = loop.add_reader, loop.remove_reader

        def add_reader(fd: int, cb: Callable[..., Any], *args: Any) -> None:
            self.adds += 1
            self.watched.add(fd)
            add(fd, cb, *args)

        def remove_reader(fd: int) -> bool:
            if fd in self.watched:
                self.removes += 1
                self.watched.discard(fd)
            return remove(fd)

        monkeypatch.setattr(loop, "add_reader", add_reader)
        monkeypatch.setattr(loop, "remove_reader", remove_reader)


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.005)


async def test_a_steady_writer_is_polled_and_a_pause_returns_the_fd_to_the_selector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    clog = ContainerLog.open(tmp_path / CID, CID)
    selector = Selector(asyncio.get_running_loop(), monkeypatch)
    gone: list[FifoReader] = []
    reader = FifoReader(str(fifo), clog, on_gone=gone.append)
    reader.open()
    assert reader._pipe_big, "this test needs F_SETPIPE_SZ (Linux)"
    writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    data = frames(2000)
    step = len(data) // 40
    for i in range(0, len(data), step):  # 40 small writes, each sooner than the next poll
        os.write(writer, data[i : i + step])
        await asyncio.sleep(COALESCE_SECONDS / 4)
    await until(lambda: clog.stored_entries == 2000)
    # Polled while the data flowed: the first read unregistered the fd, and only a stall of
    # this process longer than a poll's pause (a loaded machine) brings it back; watched
    # throughout, it would be unregistered and registered again about every poll (13 times).
    assert selector.removes <= 5, (selector.adds, selector.removes)
    # Once a poll finds the pipe empty, the fd waits in the selector again (no timer spins).
    await until(lambda: reader.fd in selector.watched)
    adds = selector.adds
    await asyncio.sleep(5 * COALESCE_SECONDS)
    assert selector.adds == adds and reader._timer is None
    # A writer that comes back is read at once.
    os.write(writer, frames(10, start=2000))
    await until(lambda: clog.stored_entries == 2010)
    os.close(writer)
    await until(lambda: bool(gone))
    assert reader.fd < 0 and reader._timer is None
    assert lines(clog) == [b"line %06d" % i for i in range(2010)]
    clog.close()


async def test_closing_while_polled_cancels_the_next_poll(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    clog = ContainerLog.open(tmp_path / CID, CID)
    reader = FifoReader(str(fifo), clog)
    reader.open()
    writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    os.write(writer, frames(5))
    await until(lambda: clog.stored_entries == 5)
    assert reader._timer is not None  # data flowed: a poll is due
    reader.close()
    assert reader._timer is None and reader.fd < 0
    await asyncio.sleep(3 * COALESCE_SECONDS)  # no poll runs on the closed reader
    assert clog.stored_entries == 5 and not reader.eof
    os.close(writer)
    clog.close()


async def test_a_slow_steady_writer_is_polled_less_often_up_to_the_longest_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polled, the pause after a read is set by the rate it found (about a tenth of the pipe per
    read), from COALESCE_SECONDS up to MAX_COALESCE_SECONDS; a slow writer gets the longest."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    clog = ContainerLog.open(tmp_path / CID, CID)
    loop = asyncio.get_running_loop()
    pauses: list[float] = []
    call_later = loop.call_later

    def spy(delay: float, cb: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        if getattr(cb, "__name__", "") == "_poll":
            pauses.append(delay)
        return call_later(delay, cb, *args)

    monkeypatch.setattr(loop, "call_later", spy)
    reader = FifoReader(str(fifo), clog)
    reader.open()
    writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    for i in range(60):  # about 6 KB/s: far below a tenth of the pipe per pause
        os.write(writer, frames(1, start=i))
        await asyncio.sleep(0.005)
    await until(lambda: clog.stored_entries == 60)
    os.close(writer)
    await until(lambda: reader.fd < 0)
    assert pauses and min(pauses) >= COALESCE_SECONDS
    assert max(pauses) == MAX_COALESCE_SECONDS
    assert lines(clog) == [b"line %06d" % i for i in range(60)]
    clog.close()


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs in the dying process."""


def _open_pipe(fifo: Path) -> tuple[int, int]:
    """A FIFO's read and write ends, the pipe made 1 MiB so that every write here is whole."""
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(rfd, F_SETPIPE_SZ, 1 << 20)
    return rfd, os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)


def _write(fd: int, data: bytes) -> None:
    assert os.write(fd, data) == len(data)


@pytest.mark.parametrize("kill_after", [1, 2, 5])
async def test_a_plugin_killed_just_after_taking_a_chunk_from_the_fifo_loses_no_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kill_after: int
) -> None:
    """The bytes a read takes from the FIFO are gone from the pipe: with read(2) then write(2)
    a kill between the two (or inside the write) lost them, and the FIFO's rest began inside a
    frame (a corrupt frame at restart: tests/e2e/test_faults.py's SIGKILL test saw it under load).
    splice(2) puts them on disk as the pipe gives them up, so a store reopened after a kill at
    the worst moment (the chunk taken, not yet looked at) plus the FIFO's rest hold every entry."""
    rfd, wfd = _open_pipe(tmp_path / "fifo")
    data = frames(3000)
    clog = ContainerLog.open(tmp_path / CID, CID)
    assert clog.splice_ok, "this test needs splice(2) (Linux)"
    reader = FifoReader(str(tmp_path / "fifo"), clog)
    reader.fd = rfd
    calls = 0
    real_ingest = clog.writer.ingest

    def dying_ingest(*args: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == kill_after:
            raise Killed
        return real_ingest(*args, **kw)

    monkeypatch.setattr(clog.writer, "ingest", dying_ingest)
    step = 7001  # chunks that end inside frames
    sent = 0
    with pytest.raises(Killed):
        while True:
            _write(wfd, data[sent : sent + step])
            sent += step
            reader.read_available(short_read_ends=True)
    _write(wfd, data[sent:])
    os.close(wfd)
    # The restart: the store reopened from disk, a new reader continues the FIFO.
    again = ContainerLog.open(tmp_path / CID, CID)
    reader2 = FifoReader(str(tmp_path / "fifo"), again)
    reader2.fd = rfd
    reader2.adopt_tail()
    reader2.read_available()
    assert reader2.eof
    assert again.corrupt_frames == 0
    assert lines(again) == [b"line %06d" % i for i in range(3000)]


async def test_without_splice_the_reader_reads_and_stores_all_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system or sandbox without splice(2) (EINVAL, ENOSYS, EPERM): the first chunk is
    read instead, and the store keeps every entry."""
    rfd, wfd = _open_pipe(tmp_path / "fifo")
    clog = ContainerLog.open(tmp_path / CID, CID)

    def no_splice(*_a: Any, **_kw: Any) -> int:
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(os, "splice", no_splice)
    reader = FifoReader(str(tmp_path / "fifo"), clog)
    reader.fd = rfd
    _write(wfd, frames(500))
    os.close(wfd)
    reader.read_available()
    assert not clog.splice_ok
    assert reader.eof and clog.stored_entries == 500 and clog.corrupt_frames == 0


async def test_splice_puts_each_chunk_at_the_segment_end_through_garbage_rotation_and_turns(
    tmp_path: Path,
) -> None:
    """splice_in writes each chunk at ``size`` plus the kept incomplete frame (the file's end,
    not asked of the kernel): it stays so when garbage makes the writer rewrite the chunk, when
    segments rotate, and when two FIFOs of one container take turns mid-frame."""
    fifos = [_open_pipe(tmp_path / name) for name in ("out", "err")]
    clog = ContainerLog.open(tmp_path / CID, CID)
    assert clog.splice_ok, "this test needs splice(2) (Linux)"
    clog.writer.max_size = 40_000  # several rotations
    readers = []
    for (rfd, _w), name in zip(fifos, ("out", "err"), strict=True):
        reader = FifoReader(str(tmp_path / name), clog)
        reader.fd = rfd
        readers.append(reader)
    streams = [frames(1500) + b"\xff" * 30 + frames(500, 1500), frames(800, 5000)]
    sent = [0, 0]
    turn = switches = last = 0
    while sent != [len(s) for s in streams]:
        k = turn // 3 % 2 if sent[1] < len(streams[1]) else 0  # three chunks a turn
        switches += turn > 0 and k != last
        last = k
        step = 7001 + 13 * turn  # chunks that end inside frames
        _write(fifos[k][1], streams[k][sent[k] : sent[k] + step])
        sent[k] = min(sent[k] + step, len(streams[k]))
        readers[k].read_available(short_read_ends=True)
        seg, writer = clog.writer.active(), clog.writer
        assert seg.path.stat().st_size == seg.size + len(writer.tail)
        turn += 1
    for (_r, wfd), reader in zip(fifos, readers, strict=True):
        os.close(wfd)
        reader.read_available()
    got = lines(clog)
    for want in ([b"line %06d" % i for i in range(2000)],
                 [b"line %06d" % i for i in range(5000, 5800)]):
        # each FIFO's frames in order; a frame cut short where the other FIFO took the end
        # is lost, as before (the writer keeps one FIFO's incomplete frame at a time)
        mine = [line for line in got if line in set(want)]
        assert mine == sorted(mine) and len(want) - switches <= len(mine) <= len(want)
