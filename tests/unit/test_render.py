"""The ReadLogs rendering kernel (framing/_render.py and its compiled twin): newline rules, skip,
since/until, and both twins giving the same bytes on Docker's frames and on hostile ones."""

from __future__ import annotations

import struct

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from logdriver.framing import Entry, ReadlogsFilter, _render, decode_frames, encode_entry, to_entry
from logdriver.framing.render import KERNEL
from sinks.util import twin

from .helpers import T0, entry, frames


def render(data: bytes, *, skip: int = 0, since: int = 0,
           until: int = 0) -> tuple[bytes, ReadlogsFilter]:
    f = ReadlogsFilter(skip=skip, since=since, until=until)
    out: list[bytes] = []
    total = f.render(data, out)
    body = b"".join(out)
    assert total == len(body)
    return body, f


def test_newline_goes_after_whole_entries_and_last_pieces(kernel_twin: str) -> None:
    whole = entry(1, line=b"abc")
    empty = entry(2, line=b"")
    part = Entry("stderr", T0, b"x" * 16384, partial=True, partial_id="p", partial_ordinal=1)
    last = Entry("stderr", T0, b"y" * 10, partial=True, partial_id="p", partial_ordinal=2,
                 partial_last=True)
    closing = Entry("stdout", T0, b"", partial=True, partial_id="q", partial_ordinal=2,
                    partial_last=True)  # a line of exactly 16 KiB: its last piece is empty
    grows = entry(3, line=b"z" * 127)  # the line's length varint takes a second byte
    cases = ((whole, b"abc\n"), (empty, b"\n"), (part, b"x" * 16384), (last, b"y" * 10 + b"\n"),
             (closing, b"\n"), (grows, b"z" * 127 + b"\n"))
    body, f = render(b"".join(encode_entry(e) for e, _ in cases))
    back = [to_entry(m) for _o, _l, m in decode_frames(body)]
    assert [b.line for b in back] == [want for _, want in cases]
    for e, b in zip((e for e, _ in cases), back, strict=True):
        assert (b.source, b.time_nano, b.partial, b.partial_id, b.partial_ordinal,
                b.partial_last) == (e.source, e.time_nano, e.partial, e.partial_id,
                                    e.partial_ordinal, e.partial_last)
    assert f.bad == 0 and not f.done


def test_skip_then_since_then_until(kernel_twin: str) -> None:
    body, f = render(frames(10), skip=2, since=entry(4).time_nano, until=entry(7).time_nano)
    got = [bytes(m.line) for _o, _l, m in decode_frames(body)]
    assert got == [b"line %06d\n" % i for i in (4, 5, 6, 7)]
    assert f.done and f.skip == 0


def test_skip_carries_over_to_the_next_chunk(kernel_twin: str) -> None:
    f = ReadlogsFilter(skip=5)
    out: list[bytes] = []
    f.render(frames(3), out)
    assert out == [] and f.skip == 2
    f.render(frames(4, start=3), out)
    assert [bytes(m.line) for _o, _l, m in decode_frames(b"".join(out))] == [
        b"line 000005\n", b"line 000006\n"]


def test_undecodable_frames_are_skipped_and_counted(kernel_twin: str) -> None:
    junk = b"\x0a\x06stdout\xff\xff"  # the time field's varint runs off the end
    data = frames(2) + struct.pack(">I", len(junk)) + junk + frames(1, start=2)
    body, f = render(data)
    assert [bytes(m.line) for _o, _l, m in decode_frames(body)] == [
        b"line 000000\n", b"line 000001\n", b"line 000002\n"]
    assert f.bad == 1


def test_an_incomplete_last_frame_is_left_alone(kernel_twin: str) -> None:
    data = frames(3)
    body, _ = render(data[:-5])
    assert len(list(decode_frames(body))) == 2


def test_the_compiled_twin_takes_every_frame_docker_writes() -> None:
    """Docker's own frames never fall back to the pure twin (the point of the kernel)."""
    compiled = KERNEL.compiled
    if twin.extensions_disabled():
        pytest.skip(f"{twin.NO_EXTENSIONS_ENV} is set: the compiled twins are not tested")
    assert compiled is not None, f"the compiled kernel was not built: {KERNEL.missing}"
    part = Entry("stderr", T0, b"x" * 300, partial=True, partial_id="0123abcd", partial_ordinal=7)
    data = frames(50) + encode_entry(part) + frames(3, line=b"")
    body, pos, skip, bad, stop = compiled.render_frames(data, 0, 0, 0, 0, -1)
    assert (pos, skip, bad, stop) == (len(data), 0, 0, _render.END)
    assert body == _render.render_frames(data, 0, 0, 0, 0, -1)[0]


# ----------------------------------------------------------------- differential (both twins)
def _varint(n: int, pad: int = 0) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    if pad:  # the same value, not in the shortest form
        out += bytes([n | 0x80] + [0x80] * (pad - 1)) + b"\x00"
    else:
        out.append(n)
    return bytes(out)


_values = st.one_of(st.integers(0, 3), st.integers(1, 2**63 - 1), st.integers(-(2**63), -1),
                    st.sampled_from([127, 128, 2**31 - 1, 2**31, 2**32, 2**63, 2**64 - 1]))
_pads = st.sampled_from([0, 0, 0, 1, 2])
_strings = st.one_of(st.sampled_from([b"stdout", b"stderr", b"", b"p1"]), st.binary(max_size=20),
                     st.text(max_size=8).map(str.encode))


@st.composite
def _field(draw: st.DrawFn, tags: list[int]) -> bytes:
    tag = draw(st.sampled_from(tags))
    wire = tag & 7
    head = _varint(tag)
    if wire == 0:
        return head + _varint(draw(_values), draw(_pads))
    if wire == 2:
        value = draw(_strings) if tag != 0x2A else draw(_meta)
        return head + _varint(len(value), draw(_pads)) + value
    if wire == 5:
        return head + draw(st.binary(min_size=4, max_size=4))
    return head + draw(st.binary(min_size=8, max_size=8))


def _sized(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _varint(len(value)) + value


# Each field as Docker writes it (shortest form, not the default value).
_docker_field = {
    0x0A: st.sampled_from([b"stdout", b"stderr", b"x"]).map(lambda v: _sized(0x0A, v)),
    0x10: st.integers(1, 2**63 - 1).map(lambda v: b"\x10" + _varint(v)),
    0x1A: st.binary(min_size=1, max_size=200).map(lambda v: _sized(0x1A, v)),
    0x20: st.just(b"\x20\x01"),
    0x08: st.just(b"\x08\x01"),
    0x12: st.text("0123456789abcdef", min_size=1, max_size=64).map(
        lambda v: _sized(0x12, v.encode())),
    0x18: st.integers(1, 2**31 - 1).map(lambda v: b"\x18" + _varint(v)),
}


def _in_order(tags: tuple[int, ...]) -> st.SearchStrategy[bytes]:
    """Fields in Docker's order, each absent, as Docker writes it, or with any value."""
    return st.tuples(*(st.one_of(st.just(b""), _docker_field.get(tag, st.just(b"")),
                                 _docker_field.get(tag, st.just(b"")), _field([tag]))
                       for tag in tags)).map(b"".join)


_meta = st.deferred(lambda: st.one_of(
    st.lists(_field([0x08, 0x12, 0x18, 0x20, 0x1A]), max_size=4).map(b"".join),
    _in_order((0x08, 0x12, 0x18)),
))
_docker_field[0x2A] = _in_order((0x08, 0x12, 0x18)).map(lambda v: _sized(0x2A, v))
_fields = [0x0A, 0x10, 0x1A, 0x20, 0x2A, 0x08, 0x30, 0x3A, 0x15, 0x19]
# A body of protobuf fields: in any order, repeated, unknown, of the wrong type, or not shortest.
hostile_bodies = st.one_of(
    st.lists(_field(_fields), max_size=6).map(b"".join),
    # in Docker's order, each field there or not, with any value: where taking a frame as it is
    # and decoding it must agree
    _in_order(tuple(_fields[:5])),
    st.binary(max_size=40),
)
docker_entries = st.one_of(
    st.builds(Entry, source=st.sampled_from(["stdout", "stderr"]),
              time_nano=st.integers(1, 2**63 - 1), line=st.binary(max_size=300)),
    st.builds(Entry, source=st.sampled_from(["stdout", "stderr"]),
              time_nano=st.integers(1, 2**63 - 1), line=st.binary(max_size=300),
              partial=st.just(True), partial_id=st.text(max_size=20),
              partial_ordinal=st.integers(0, 2**31 - 1), partial_last=st.booleans()),
)
frame_lists = st.lists(st.one_of(
    docker_entries.map(encode_entry),
    hostile_bodies.map(lambda b: struct.pack(">I", len(b)) + b),
), max_size=12)


@settings(max_examples=400, deadline=None)
@given(frame_lists, st.binary(max_size=12), st.integers(0, 4), st.integers(0, 2**63 - 1),
       st.integers(0, 2**63 - 1))
@example([encode_entry(entry(1))], b"\x00\x00\x01", 0, 0, 0)
@example([b"\x00\x00\x00\x0a\x0a\x06stdout\x10\x00"], b"", 0, 0, 0)  # time 0, explicitly
def test_both_twins_render_the_same_bytes(frame_list: list[bytes], trailer: bytes, skip: int,
                                          since: int, until: int) -> None:
    """Docker's frames and hostile ones, with an incomplete frame or garbage after them."""
    data = b"".join(frame_list) + trailer
    since = since if since % 3 == 0 else 0
    until = until if until % 3 == 0 else 0
    results = []
    for which in ("compiled", "pure"):
        if which == "compiled" and KERNEL.compiled is None:
            continue
        KERNEL.active = KERNEL.compiled if which == "compiled" else KERNEL.pure  # type: ignore
        try:
            body, f = render(data, skip=skip, since=since, until=until)
        finally:
            KERNEL.active = KERNEL.compiled or KERNEL.pure
        results.append((body, f.skip, f.bad, f.done))
    if not twin.extensions_disabled():
        assert len(results) == 2, f"the compiled kernel was not built: {KERNEL.missing}"
    assert all(r == results[-1] for r in results)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 400), st.integers(-1, 5))
def test_the_kernel_on_any_bytes_from_any_offset(data: bytes, pos: int, limit: int) -> None:
    """Arbitrary bytes (lengths pointing past the end included) at any start: never a read past
    the buffer, and the compiled twin's output plus what it declines equals the pure twin's."""
    pos = min(pos, len(data))
    for k in (KERNEL.compiled, KERNEL.pure):
        if k is None:
            continue
        body, nxt, skip, bad, stop = k.render_frames(data, pos, 0, 0, 0, limit)
        assert pos <= nxt <= len(data) and skip == 0 and bad >= 0
        assert stop in (_render.END, _render.UNTIL, _render.DECLINED)
