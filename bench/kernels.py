"""Micro benchmark of the frame kernels (logdriver/framing/_frames*.py): each twin's time per line.

    .venv/bin/python bench/kernels.py [--lines 1000000] [--size 100] [--rounds 3]

The lines are what ``yes <99 chars> | head -n LINES`` writes (LINES lines of SIZE bytes with
their newline; Docker stores each without it), framed as Docker writes them to the FIFO. Three
steps, each run ROUNDS times per twin (the best round counts), all in memory, timed in CPU
seconds of this process (``time.process_time``: load on the machine inflates it less than wall
time does):
- ``scan``: ``Scanner.feed`` over the stream in 1 MiB reads (the plugin's FIFO ingest);
- ``split``: ``plain_entries`` over the stream cut into the store's 1 MiB blocks of whole frames
  (the shipper's splitter);
- ``take``: ``RecordReader.take`` over the same blocks (splitter plus records.py's own work);
- ``ingest``: the plugin's path, ``FifoReader``'s chunks into a store in a temporary directory
  (scan, write, index), and ``ship``: the shipper's, ``StoreView`` reads of that store and
  ``take`` (the store reader cuts each read at its last whole frame: ``whole_frames``).
Prints microseconds per line for each twin and the ratio pure / compiled. Needs the package
installed (``pip install -e .``) with its kernels built for the compiled column.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from logdriver.delivery.messages import state_message
from logdriver.delivery.records import RecordReader
from logdriver.fifo import FifoReader
from logdriver.framing import Entry, Scanner, encode_entry, plain_entries
from logdriver.framing.scan import FRAMES
from logdriver.store import READ_BYTES, ContainerLog, Position, StoreView
from sinks import JoinConfig
from sinks.util import twin

READ_CHUNK = 1 << 20  # logdriver/fifo.py: one os.read of the FIFO
T0 = 1_764_000_000_000_000_000


def stream(lines: int, size: int) -> bytes:
    line = b"x" * (size - 1)  # the newline is Docker's to strip
    return b"".join(encode_entry(Entry("stdout", T0 + i * 1000, line)) for i in range(lines))


def blocks(data: bytes, limit: int = READ_BYTES) -> list[bytes]:
    """``data`` cut into blocks of whole frames of at most ``limit`` bytes, as the store reads."""
    out: list[bytes] = []
    ends: list[int] = []
    FRAMES.pure.scan_frames(data, 0, ends)
    start = prev = 0
    for end in ends:
        if end - start > limit:
            out.append(data[start:prev])
            start = prev
        prev = end
    out.append(data[start:prev])
    return out


class MemoryLog:
    """Just enough of a StoredLog for ``RecordReader.take``: one block per segment."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def read(self, pos: Position, limit: int = READ_BYTES) -> tuple[bytes, Position, Position]:
        seq = pos[0]
        data = self.chunks[seq] if seq < len(self.chunks) else b""
        return data, pos, (seq + 1, 0) if data else pos


def scan(data: bytes) -> int:
    sc = Scanner()
    n = 0
    for i in range(0, len(data), READ_CHUNK):
        n += sc.feed(data[i:i + READ_CHUNK]).count
    return n


def split(chunks: list[bytes]) -> int:
    n = 0
    for i, block in enumerate(chunks):
        got = plain_entries(block, i << 40, 16 * 1024)
        assert got is not None
        n += len(got[2])
    return n


def take(chunks: list[bytes]) -> int:
    return take_from(RecordReader(MemoryLog(chunks), (0, 0), JoinConfig()))  # type: ignore[arg-type]


def take_from(reader: RecordReader) -> int:
    n = 0
    while True:
        recs, _ends = reader.take(10_000)
        if not len(recs):
            return n
        n += len(recs)


class Stored:
    """The ``ingest`` and ``ship`` steps: one store per round, in a temporary directory."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.root = Path(tempfile.mkdtemp(prefix="kernels-"))
        self.clog: ContainerLog | None = None

    def ingest(self) -> int:
        if self.clog is not None:
            self.clog.close()
        shutil.rmtree(self.root / "c", ignore_errors=True)
        clog = self.clog = ContainerLog.open(self.root / "c" / ("c" * 64), "c" * 64)
        clog.max_size, clog.max_file = 20 << 20, 100  # keep every line
        reader = FifoReader("fifo", clog)
        for i in range(0, len(self.data), READ_CHUNK):
            reader._ingest(self.data[i:i + READ_CHUNK])
        return clog.received_lines

    def ship(self) -> int:
        if self.clog is None:
            self.ingest()
        assert self.clog is not None
        view = StoreView(self.clog.id, self.clog.path)
        state = state_message(self.clog)
        view.update(state["segments"], state["running"], state["dropped"])
        return take_from(RecordReader(view, view.start, JoinConfig()))

    def close(self) -> None:
        if self.clog is not None:
            self.clog.close()
        shutil.rmtree(self.root, ignore_errors=True)


def best(fn: Callable[[], int], want: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.process_time()
        got = fn()
        times.append(time.process_time() - t)
        assert got == want, (got, want)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=100, help="bytes per line with its newline")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    data = stream(args.lines, args.size)
    chunks = blocks(data)
    stored = Stored(data)
    steps: dict[str, Callable[[], int]] = {
        "scan": lambda: scan(data), "split": lambda: split(chunks), "take": lambda: take(chunks),
        "ingest": stored.ingest, "ship": stored.ship}
    built = FRAMES.compiled is not None
    print(f"{args.lines} lines of {args.size} B, {len(data) / 1e6:.1f} MB, "
          f"{len(chunks)} blocks; best of {args.rounds}; compiled twin "
          f"{'built' if built else 'NOT built (' + FRAMES.missing + ')'}")
    print(f"{'step':6} {'pure us/line':>13} {'compiled us/line':>17} {'pure/compiled':>14}")
    for name, fn in steps.items():
        per: dict[str, float] = {}
        for which in ("pure", "compiled") if built else ("pure",):
            twin.use(which)
            per[which] = best(fn, args.lines, args.rounds) / args.lines * 1e6
        pure, c = per["pure"], per.get("compiled")
        compiled = "-" if c is None else f"{c:.3f}"
        ratio = "-" if c is None else f"{pure / c:.1f}x"
        print(f"{name:6} {pure:13.3f} {compiled:>17} {ratio:>14}")
    stored.close()


if __name__ == "__main__":
    main()
