"""Framing: scanning, validation and resynchronisation (ReadLogs rendering: test_render.py)."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logdriver.framing import (
    MAX_FRAME_BYTES,
    Entry,
    Scanner,
    decode_frames,
    encode_entry,
    plain_columns,
    to_entry,
)

from .helpers import T0, entry, frames

FIXTURE = HealthCheck.function_scoped_fixture  # kernel_twin: one twin for the whole test


def scanned_entries(sc: Scanner, data: bytes, chunk: int) -> list[Entry]:
    out: list[Entry] = []
    for i in range(0, len(data), chunk):
        res = sc.feed(data[i : i + chunk])
        for run in res.runs:
            blob = res.data[run.start : run.ends[-1]]
            out.extend(to_entry(m) for _o, _l, m in decode_frames(blob))
    return out


def test_whole_frames_in_one_chunk_form_one_run_from_zero(kernel_twin: str) -> None:
    data = frames(10)
    res = Scanner().feed(data)
    assert res.corrupt == 0 and res.rest == b""
    assert [(r.start, r.ends[-1], len(r.ends)) for r in res.runs] == [(0, len(data), 10)]


def test_frames_split_at_every_byte_boundary_come_out_whole(kernel_twin: str) -> None:
    data = frames(50)
    for chunk in (1, 3, 7, 64, 1000):
        got = scanned_entries(Scanner(), data, chunk)
        assert got == [entry(i) for i in range(50)], chunk


def test_oversized_length_is_counted_and_stream_resynchronises(kernel_twin: str) -> None:
    bad = struct.pack(">I", MAX_FRAME_BYTES + 1) + b"garbage"
    data = frames(3) + bad + frames(3, start=3)
    sc = Scanner()
    got = scanned_entries(sc, data, 4096)
    assert got == [entry(i) for i in range(6)]
    assert sc.corrupt == 1


def test_four_gigabyte_length_prefix_allocates_nothing_and_resyncs(kernel_twin: str) -> None:
    data = b"\xff\xff\xff\xff" + frames(2)
    sc = Scanner()
    got = scanned_entries(sc, data, 5)
    assert got == [entry(0), entry(1)]
    assert sc.corrupt == 1


def test_reader_that_lands_mid_frame_resynchronises_on_the_next_frame(kernel_twin: str) -> None:
    data = frames(20)
    cut = 7 + len(encode_entry(entry(0))) * 3  # inside the 4th frame
    sc = Scanner()
    got = scanned_entries(sc, data[cut:], 100)
    assert got == [entry(i) for i in range(4, 20)]
    assert sc.corrupt == 1


def test_plausible_length_with_foreign_body_is_skipped(kernel_twin: str) -> None:
    foreign = b"\x12\x03abc" + b"\x00" * 10
    data = frames(2) + struct.pack(">I", len(foreign)) + foreign + frames(2, start=2)
    sc = Scanner()
    assert scanned_entries(sc, data, 1 << 16) == [entry(i) for i in range(4)]
    assert sc.corrupt == 1


def test_incomplete_frame_at_end_of_stream_is_counted_on_finish(kernel_twin: str) -> None:
    data = frames(2)
    sc = Scanner()
    res = sc.feed(data[:-3])
    assert len(res.runs[0].ends) == 1 and res.rest
    assert sc.finish() == 1 and sc.pending == b""


def test_pending_bytes_carry_over_to_a_new_scanner(kernel_twin: str) -> None:
    data = frames(3)
    first = Scanner()
    first.feed(data[:-5])
    second = Scanner(first.pending)
    res = second.feed(data[-5:])
    assert len(res.runs[0].ends) == 1 and res.rest == b""


def test_empty_line_and_invalid_utf8_survive_a_round_trip() -> None:
    for line in (b"", b"\xff\xfe\r", "héllo".encode()):
        (_, _, msg), = decode_frames(encode_entry(entry(0, line=line)))
        assert msg.line == line


@settings(max_examples=300, deadline=None, suppress_health_check=[FIXTURE])
@given(st.binary(max_size=2048), st.integers(min_value=1, max_value=300))
def test_random_bytes_never_crash_and_good_frames_after_them_are_found(
    kernel_twin: str, junk: bytes, chunk: int
) -> None:
    sc = Scanner()
    got = scanned_entries(sc, junk + frames(5, start=100), chunk)
    # Junk may hide at most the frame it runs into; the frames after it always come through.
    assert got[-4:] == [entry(i) for i in range(101, 105)]
    assert len(sc.pending) <= MAX_FRAME_BYTES + 4


# A line that holds a whole frame header of its own, to tempt the block splitter.
_DECOY = encode_entry(Entry("stderr", T0, b"decoy"))
_entries = st.builds(
    Entry,
    source=st.sampled_from(["stdout", "stderr"]),
    time_nano=st.one_of(st.integers(T0, T0 + 10**12), st.integers(0, 2**63 - 1)),
    line=st.one_of(st.binary(max_size=300), st.just(b""), st.just(b"ab" + _DECOY + b"cd"),
                   st.just(b"x" * 20_000)),
    partial=st.booleans(),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[FIXTURE])
@given(st.lists(_entries, min_size=1, max_size=12))
def test_plain_columns_is_the_frame_by_frame_decode_or_declines(
        kernel_twin: str, items: list[Entry]) -> None:
    data = b"".join(encode_entry(e) for e in items)
    got = plain_columns(data)
    decoded = [to_entry(m) for _o, _l, m in decode_frames(data)]
    if got is None:
        # It may decline only for a block holding something it does not do (then the caller
        # decodes frame by frame), never for plain Docker lines.
        assert any(e.partial or e.time_nano < 2**56 or len(e.line) >= 2**15
                   or b"\n\x06std" in e.line for e in decoded)
        return
    times, sources, lines, sizes = got
    assert [(e.time_nano, e.source, e.line) for e in decoded] == list(
        zip(times, sources, lines, strict=True))
    assert not any(e.partial for e in decoded)
    assert sum(sizes) == len(data)
    offsets = [off for off, _l, _m in decode_frames(data)]
    assert sizes == [struct.unpack_from(">I", data, off)[0] + 4 for off in offsets]


def test_plain_columns_takes_a_block_of_docker_lines(kernel_twin: str) -> None:
    items = [Entry("stdout" if i % 2 else "stderr", T0 + i, b"%d " % i + b"x" * (i * 40))
             for i in range(400)]  # up to 16 KB lines: 1- to 3-byte length varints
    items.append(Entry("stdout", T0, b""))
    got = plain_columns(b"".join(encode_entry(e) for e in items))
    assert got is not None
    assert list(zip(*got[:3], strict=True)) == [(e.time_nano, e.source, e.line) for e in items]


def test_a_line_opening_with_a_header_is_declined_not_an_error(kernel_twin: str) -> None:
    """A container may log any bytes: a line that starts with a plain entry's header (source,
    time tag, 8 varint bytes, completed by the next frame's length prefix) once made the regex
    split raise struct.error; now the block declines and is decoded frame by frame."""
    tricky = b"\x0a\x06stdout\x10" + b"\x80" * 8
    for after in (b"", b"x", b"line"):
        data = encode_entry(Entry("stdout", T0, tricky)) + encode_entry(Entry("stdout", T0, after))
        assert plain_columns(data) is None
        assert [m.line for _o, _l, m in decode_frames(data)] == [tricky, after]
