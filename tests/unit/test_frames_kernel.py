"""The frame kernel's twins (logdriver/framing/_frames.py and _frames_c.pyx) give the same
results on the same input, hostile input included, and the compiled one is the one in use."""

from __future__ import annotations

import importlib
import struct

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logdriver.delivery.records import RecordReader
from logdriver.framing import MAX_FRAME_BYTES, Entry, Scanner, _frames, encode_entry, plain_entries
from logdriver.framing.scan import FRAMES
from logdriver.store import Position
from sinks import JoinConfig, Records
from sinks.util import twin

from .helpers import T0, frames

DIFF = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MARKER = _frames.ENTRY_MARKER
_DECOY = encode_entry(Entry("stderr", T0, b"decoy"))  # a whole frame inside a line


def compiled() -> _frames.FramesKernel:
    """The compiled twin; a test using it fails (never skips) when it was not built, unless
    LOGDRIVER_NO_EXTENSIONS asks for pure Python only."""
    if twin.extensions_disabled():
        pytest.skip(f"{twin.NO_EXTENSIONS_ENV} is set: the compiled twin is not tested")
    if FRAMES.compiled is None:
        pytest.fail(f"the compiled frame kernel is not built: {FRAMES.missing}")
    return FRAMES.compiled


def test_the_compiled_twin_is_built_and_in_use() -> None:
    kernel = compiled()
    assert type(kernel).__name__ == "module" and kernel.__file__.endswith((".so", ".pyd"))
    assert FRAMES.active is kernel and FRAMES.which == "compiled"
    assert twin.report()["kernels"]["logdriver.framing._frames_c"] == "compiled"


def test_the_compiled_twin_uses_the_same_limits() -> None:
    compiled()
    limits = importlib.import_module("logdriver.framing._frames_c").LIMITS
    assert limits == {name: getattr(_frames, name) for name in limits}


# ---- hostile streams: random bytes, truncated frames, lengths near the limits -------------------
lines = st.one_of(
    st.binary(max_size=300), st.just(b""), st.just(b"ab" + _DECOY + b"cd"),
    st.just(MARKER * 3), st.just(b"x" * 20_000), st.binary(min_size=32_760, max_size=32_770))
entries = st.builds(
    Entry,
    source=st.sampled_from(["stdout", "stderr"]),
    time_nano=st.one_of(st.integers(T0, T0 + 10**12), st.integers(0, 2**63 - 1)),
    line=lines,
    partial=st.booleans(),
    partial_id=st.text(max_size=5),
    partial_last=st.booleans(),
)
near = [0, 1, 7, 8, 9, 17, 18, 19, 20, MAX_FRAME_BYTES - 1, MAX_FRAME_BYTES,
        MAX_FRAME_BYTES + 1, 2**24, 2**32 - 1]
garbage = st.one_of(
    st.binary(min_size=1, max_size=200),
    st.tuples(st.sampled_from(near), st.binary(max_size=40)).map(  # lengths near the limits
        lambda p: struct.pack(">I", p[0]) + p[1]),
    st.tuples(st.integers(0, 300), st.binary(max_size=60)).map(  # a plausible start, any body
        lambda p: struct.pack(">I", p[0]) + MARKER + p[1]),
    entries.map(encode_entry).flatmap(  # a truncated frame
        lambda f: st.integers(0, len(f) - 1).map(lambda k: f[:k])),
)
streams = st.lists(st.one_of(entries.map(encode_entry), garbage), max_size=12).map(b"".join)


def scan_all(data: bytes, points: list[int]) -> list[tuple[object, ...]]:
    sc = Scanner()
    out: list[tuple[object, ...]] = []
    bounds = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    for a, b in zip(bounds, bounds[1:], strict=False):
        res = sc.feed(data[a:b])
        out.append((res.data, [(r.start, r.ends) for r in res.runs], res.corrupt, res.rest,
                    sc.pending, sc.corrupt))
    out.append((sc.finish(), sc.pending, sc.corrupt))
    return out


def both(fn, *args):  # type: ignore[no-untyped-def]
    """``fn(*args)`` with the compiled twin active, then with the pure one."""
    kernel = compiled()
    got = []
    for which in (kernel, FRAMES.pure):
        before, FRAMES.active = FRAMES.active, which
        try:
            got.append(fn(*args))
        finally:
            FRAMES.active = before
    return got


@DIFF
@given(data=streams, points=st.lists(st.integers(0, 5000), max_size=6))
@example(data=b"", points=[])
@example(data=b"\xff\xff\xff\xff" + frames(3), points=[2, 9])
@example(data=frames(2)[:-1], points=[])
def test_scanner_feed_is_the_same_with_either_twin(data: bytes, points: list[int]) -> None:
    c, p = both(scan_all, data, points)
    assert c == p


@DIFF
@given(data=streams, pos=st.integers(0, 300))
def test_scan_frames_stops_at_the_same_place(data: bytes, pos: int) -> None:
    kernel = compiled()
    c_ends: list[int] = [-1]
    p_ends: list[int] = [-1]
    assert kernel.scan_frames(data, pos, c_ends) == _frames.scan_frames(data, pos, p_ends)
    assert c_ends == p_ends


@DIFF
@given(data=st.one_of(streams, st.binary(max_size=64)), cut=st.integers(0, 10_000))
@example(data=b"\xff\xff\xff\xff" + frames(2), cut=10_000)
@example(data=frames(3), cut=0)
def test_whole_frames_cuts_at_the_same_place(data: bytes, cut: int) -> None:
    data = data[:cut]
    got = compiled().whole_frames(data)
    assert got == _frames.whole_frames(data)
    assert 0 <= got <= len(data)


def test_scan_frames_refuses_a_negative_offset() -> None:
    for kernel in (compiled(), FRAMES.pure):
        with pytest.raises(ValueError, match="negative offset"):
            kernel.scan_frames(frames(1), -1, [])


@DIFF
@given(items=st.lists(entries, max_size=10), tail=st.one_of(st.just(b""), garbage),
       base=st.one_of(st.integers(0, 2**50), st.just(2**70), st.just(-5)),
       max_line=st.sampled_from([0, 5, 100, 16 * 1024, 2**15 - 1, 2**40]))
@example(items=[Entry("stdout", T0, b"")], tail=b"", base=0, max_line=0)
@example(items=[Entry("stdout", T0, b"a" + _DECOY)], tail=b"", base=0, max_line=2**40)
@example(items=[Entry("stdout", T0, b"a")] * 3, tail=b"\x00", base=7, max_line=2**40)
# a header-like end of a line, completed by the next frame's length prefix: the split declines
@example(items=[Entry("stdout", T0, b"\x0a\x06stdout\x10" + b"\x80" * 8), Entry("stdout", T0, b"")],
         tail=b"", base=0, max_line=2**40)
def test_plain_entries_is_the_same_with_either_twin(
    items: list[Entry], tail: bytes, base: int, max_line: int
) -> None:
    data = b"".join(map(encode_entry, items)) + tail
    got = compiled().plain_entries(data, base, max_line)
    assert got == _frames.plain_entries(data, base, max_line)
    if got is not None:
        assert type(got[0]) is tuple and all(type(c) is list for c in got[1:])


@DIFF
@given(data=st.binary(max_size=400), base=st.integers(0, 2**45))
def test_plain_entries_on_random_bytes_is_the_same_with_either_twin(data: bytes, base: int
                                                                     ) -> None:
    assert compiled().plain_entries(data, base, 2**15) == _frames.plain_entries(data, base, 2**15)


def test_plain_entries_takes_docker_lines_with_either_twin(kernel_twin: str) -> None:
    items = [Entry("stdout" if i % 2 else "stderr", T0 + i, b"%d " % i + b"x" * (i * 40))
             for i in range(400)]  # up to 16 KB lines: 1- to 3-byte length varints
    items.append(Entry("stdout", T0, b""))
    data = b"".join(map(encode_entry, items))
    got = plain_entries(data, 1 << 40, 16 * 1024)
    assert got is not None
    times, sources, lines_, ends = got
    assert list(zip(times, sources, lines_, strict=True)) == [
        (e.time_nano, e.source, e.line) for e in items]
    sizes = [len(encode_entry(e)) for e in items]
    assert ends == [(1 << 40) + sum(sizes[:i + 1]) for i in range(len(items))]
    assert plain_entries(data, 0, 15_000) is None  # a line over max_line: frame by frame



@DIFF
@given(data=streams, pos=st.integers(0, 300), base=st.integers(0, 2**45), cut=st.integers(0, 50))
def test_the_compiled_twin_reads_any_buffer_as_it_reads_bytes(
    data: bytes, pos: int, base: int, cut: int
) -> None:
    # bytes are read through their pointer, other buffers borrowed: the same answers, and a
    # view's bytes are only those it shows (never the ones around it)
    kernel = compiled()
    padded = b"\x00\x00\x00\x10" + data + b"\x00\x00\x00\x00\x0a\x06stdout"
    view = memoryview(padded)[4 : 4 + len(data)]
    for other in (bytearray(data), view):
        got = kernel.whole_frames(other), kernel.plain_entries(other, base, 2**15)
        assert got == (kernel.whole_frames(data), kernel.plain_entries(data, base, 2**15))
        c_ends: list[int] = []
        p_ends: list[int] = []
        stop = kernel.scan_frames(other, pos, c_ends)
        assert stop == kernel.scan_frames(data, pos, p_ends) and c_ends == p_ends
    assert kernel.whole_frames(view[:cut]) == _frames.whole_frames(data[:cut])

# ---- what the shipper makes of a block: the same records and cursor ends ------------------------
class Blocks:
    """A StoredLog of blocks, one per segment (only what ``RecordReader.take`` reads)."""

    def __init__(self, blocks: list[bytes]) -> None:
        self.blocks = blocks

    def read(self, pos: Position, limit: int = 0) -> tuple[bytes, Position, Position]:
        data = self.blocks[pos[0]] if pos[0] < len(self.blocks) else b""
        return data, pos, ((pos[0] + 1, 0) if data else pos)


def records(blocks: list[bytes], join: JoinConfig) -> tuple[list[tuple[object, ...]], list[int]]:
    reader = RecordReader(Blocks(blocks), (0, 0), join)  # type: ignore[arg-type]
    recs, ends = Records(), []
    while True:
        got, got_ends = reader.take(7)
        if not len(got):
            break
        recs.extend_whole([], [], [])
        for rec in got:
            recs.append(rec)
        ends += got_ends
    flushed, flushed_ends = reader.flush_stale(everything=True)
    for rec in flushed:
        recs.append(rec)
    return list(zip(recs.times, recs.sources, recs.lines, recs.partial, strict=True)), \
        ends + flushed_ends


@DIFF
@given(blocks=st.lists(st.lists(entries, min_size=1, max_size=6), max_size=4),
       limit=st.sampled_from([10, 300, 16 * 1024, 1 << 20]))
def test_record_reader_makes_the_same_records_and_ends_with_either_twin(
    blocks: list[list[Entry]], limit: int
) -> None:
    data = [b"".join(map(encode_entry, b)) for b in blocks]
    c, p = both(records, data, JoinConfig(partial_max_size=limit))
    assert c == p
