"""Stored frames -> records: read through the shipper's StoreView (as the plugin told it) and,
where the test says so, straight from the ContainerLog too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from logdriver.delivery.messages import state_message
from logdriver.delivery.records import RecordReader, StoredLog, unpacked
from logdriver.framing import Entry, encode_entry
from logdriver.store import ContainerLog, StoreView
from sinks import JoinConfig
from sinks.util.goregexp import compile_go_regexp

from ..helpers import T0, frames
from ..store.helpers import write

CID = "c" * 64
SOURCES = ("container_log", "store_view")


def told(clog: ContainerLog, view: StoreView | None = None) -> StoreView:
    """A view of ``clog`` told its current state, as the shipper would be."""
    view = view or StoreView(clog.id, clog.path)
    state = state_message(clog)
    view.update(state["segments"], state["running"], state["dropped"])
    return view


def opened(clog: ContainerLog, source: str) -> StoredLog:
    """``clog`` as a worker of that source reads it."""
    return clog if source == "container_log" else told(clog)


def read_all(reader: RecordReader) -> list[bytes]:
    out: list[bytes] = []
    while True:
        recs, _ends = reader.take(1000)
        if not len(recs):
            return out
        out += recs.lines


def test_the_view_reads_what_the_store_holds_across_rotations(
        kernel_twin: str, tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.max_size, clog.max_file = 20_000, 100
    write(clog, frames(3000), chunk=7000)
    assert len(clog.segments) > 5
    view = told(clog)
    got = read_all(RecordReader(view, view.start, JoinConfig()))
    assert got == [b"line %06d" % i for i in range(3000)]


def test_the_view_never_reads_past_what_it_was_told(
        kernel_twin: str, tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    write(clog, frames(10))
    view = told(clog)
    reader = RecordReader(view, view.start, JoinConfig())
    write(clog, frames(10, start=10))  # stored, not told yet
    assert read_all(reader) == [b"line %06d" % i for i in range(10)]
    told(clog, view)
    assert read_all(reader) == [b"line %06d" % i for i in range(10, 20)]


def test_history_rotated_away_before_it_was_read_is_counted(
        kernel_twin: str, tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.max_size, clog.max_file = 5_000, 2
    view = StoreView(clog.id, clog.path)
    write(clog, frames(100))
    told(clog, view)
    reader = RecordReader(view, view.start, JoinConfig())
    write(clog, frames(1000, start=100))  # the first segments go
    told(clog, view)
    got = read_all(reader)
    assert reader.dropped_bytes > 0
    assert got == [b"line %06d" % i for i in range(1100 - len(got), 1100)]


def test_multiline_events_are_cut_by_their_lines_times_however_they_are_read(
        kernel_twin: str, tmp_path: Path) -> None:
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
        reader = RecordReader(view, view.start, join)
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



@pytest.mark.parametrize("source", SOURCES)
def test_a_multiline_event_closed_by_the_next_ones_first_line_never_lets_the_cursor_pass_it(
    kernel_twin: str, tmp_path: Path, source: str,
) -> None:
    """Delivered up to an event closed by a matching line, a restart must read that line again:
    the event's cursor position is where the closing line starts (it was where it ended, so a
    restart lost the first line of the event in progress)."""
    clog = ContainerLog.open(tmp_path / CID, CID)
    lines_in = [b"START 0", b"  c 1", b"START 2", b"  c 3", b"START 4"]
    data = b"".join(encode_entry(Entry("stdout", 1000 + i, x)) for i, x in enumerate(lines_in))
    write(clog, data)
    stored = opened(clog, source)
    join = JoinConfig(multiline_pattern=compile_go_regexp("multiline-pattern", "^START"),
                      multiline_timeout=60.0)
    reader = RecordReader(stored, stored.start, join)
    recs, ends = reader.take(100)
    assert recs.lines == [b"START 0\n  c 1", b"START 2\n  c 3"]
    # A restart at the second event's cursor reads "START 4" again.
    again = RecordReader(stored, unpacked(ends[-1]), join)
    again.take(100)
    rest, _ = again.flush_stale(everything=True)
    assert rest.lines == [b"START 4"]


def test_a_line_cut_at_partial_max_size_marks_every_cut_piece_partial(
        kernel_twin: str, tmp_path: Path) -> None:
    """A line longer than partial-max-size goes out as several records: all but the last are
    marked partial (OTLP sends it as ``logdriver.partial: true``), and the cuts fall every
    partial-max-size bytes. Found as a new user: a 2,500,000-byte line (Docker's 16 KiB pieces)
    reached HEC and Datadog as 1,000,000 + 15,808 + 1,000,000 + 15,808 + 468,384 bytes, the
    15,808-byte rests of the piece a cut fell in going out as finished lines (not partial)."""
    piece = 16_384
    for limit, total, lengths in ((40_000, 100_000, [40_000, 40_000, 20_000]),
                                  (16_384, 3 * 16_384, [16_384] * 3),  # cuts on piece ends
                                  (16_384, 3 * 16_384 + 5, [16_384] * 3 + [5])):
        _check_cuts(tmp_path / str(total), limit, piece, total, lengths)


def _check_cuts(folder: Path, limit: int, piece: int, total: int, lengths: list[int]) -> None:
    clog = ContainerLog.open(folder / CID, CID)
    line = bytes(i % 251 for i in range(total))
    pieces = [line[i:i + piece] for i in range(0, total, piece)]
    write(clog, b"".join(
        encode_entry(Entry("stdout", T0, p, True, "p1", n + 1, n == len(pieces) - 1))
        for n, p in enumerate(pieces)) + frames(1))
    reader = RecordReader(opened(clog, "store_view"), clog.start,
                          JoinConfig(partial_max_size=limit))
    recs, _ends = reader.take(1000)
    assert b"".join(recs.lines[:-1]) == line and recs.lines[-1] == b"line 000000"
    assert [len(x) for x in recs.lines[:-1]] == lengths
    assert recs.partial == [True] * (len(lengths) - 1) + [False, False]
