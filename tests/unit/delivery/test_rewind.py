"""RecordReader: a worker that lets go of records it read (its sink is failing) reads exactly
them again, and is refused where that could not be exact; a take reads any frame whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from logdriver.delivery.records import OFFSET_BITS, TAKE_READ_BYTES, RecordReader
from logdriver.framing import Entry, encode_entry
from logdriver.store import ContainerLog
from sinks import JoinConfig

from ..helpers import T0, frames
from ..store.helpers import write
from .test_records import SOURCES, opened

CID = "e" * 64


def columns(reader: RecordReader, n: int) -> tuple[list[tuple[int, str, bytes]], list[int]]:
    recs, ends = reader.take(n)
    return list(zip(recs.times, recs.sources, recs.lines, strict=True)), ends


@pytest.mark.parametrize("source", SOURCES)
def test_records_let_go_are_read_again_byte_for_byte(
        kernel_twin: str, tmp_path: Path, source: str) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    write(clog, frames(300) + frames(200, start=300, source="stderr"))
    stored = opened(clog, source)
    reader = RecordReader(stored, stored.start, JoinConfig())
    first, ends = columns(reader, 100)
    ahead, _ = columns(reader, 250)  # read ahead, then let go
    assert reader.can_rewind(ends[-1])
    reader.rewind(ends[-1], len(ahead))
    again, _ = columns(reader, 250)
    assert again == ahead
    rest, _ = columns(reader, 1000)
    fresh = RecordReader(stored, stored.start, JoinConfig())
    assert first + again + rest == columns(fresh, 1000)[0]
    assert len(first + again + rest) == 500


def test_a_rewind_where_a_partial_line_was_pending_is_refused(
        kernel_twin: str, tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    piece = encode_entry(Entry("stdout", T0, b"a" * 16384, True, "p1", 1, False))
    write(clog, frames(10, source="stderr") + piece + frames(10, start=10, source="stderr"))
    reader = RecordReader(clog, clog.start, JoinConfig())
    _recs, ends = reader.take(1000)
    assert reader.holds_partial
    assert not any(reader.can_rewind(e) for e in ends)
    with pytest.raises(ValueError, match="rewind"):
        reader.rewind(ends[-1], 1)


def test_no_rewind_back_over_a_segment_end(kernel_twin: str, tmp_path: Path) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    clog.max_size, clog.max_file = 5_000, 100
    write(clog, frames(1000), chunk=3000)
    assert len(clog.segments) > 3
    reader = RecordReader(clog, clog.start, JoinConfig())
    _recs, ends = reader.take(1000)
    assert reader.can_rewind(ends[-1])
    crossed = [e for e in ends if e >> OFFSET_BITS != ends[-1] >> OFFSET_BITS]
    assert crossed and not any(reader.can_rewind(e) for e in crossed)


@pytest.mark.parametrize("source", SOURCES)
def test_a_frame_longer_than_a_takes_read_is_read_whole(
        kernel_twin: str, tmp_path: Path, source: str) -> None:
    clog = ContainerLog.open(tmp_path / CID, CID)
    big = b"b" * (TAKE_READ_BYTES + 1000)
    write(clog, frames(3) + encode_entry(Entry("stdout", T0, big)) + frames(3, start=3))
    stored = opened(clog, source)
    got = columns(RecordReader(stored, stored.start, JoinConfig()), 1000)[0]
    assert [line for _t, _s, line in got] == [
        b"line 000000", b"line 000001", b"line 000002", big, b"line 000003", b"line 000004",
        b"line 000005"]
