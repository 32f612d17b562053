"""The compiled Loki push kernel (``_push_c``) against its pure-Python twin (``_push``): the
same events byte for byte on random and hostile records, and both what ``encode`` gives."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from sinks.loki.config import MAX_LINE_SIZE
from sinks.loki.encoder import KERNEL, encode
from sinks.util.record import Record

from ..kernels import outcome, pure_and_compiled

# Lines a random strategy would not reach: over max_line_size (cut), with the cut next to a
# character or an invalid byte, and ones that become longer than it once invalid bytes are
# replaced by U+FFFD (JSON).
LONG_LINES = [
    b"x" * MAX_LINE_SIZE, b"x" * (MAX_LINE_SIZE + 1), ("é" * (MAX_LINE_SIZE // 2 + 1)).encode(),
    b"a" + "€".encode() * (MAX_LINE_SIZE // 3 + 1), b"\xff" * (MAX_LINE_SIZE // 3 + 1),
    b"ok \xc3" * (MAX_LINE_SIZE // 4 + 3), b" " * (MAX_LINE_SIZE + 5) + b"x",
]
_SPACE_CHARS = [" ", "\t", "\n", "\v", "\f", "\r", "\x1c", "\x85", "\xa0", "\u1680", "\u2028",
                "\u3000", "\ufeff", "x"]
lines = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=80).map(str.encode),
    st.lists(st.sampled_from(_SPACE_CHARS), max_size=40).map(lambda cs: "".join(cs).encode()),
    st.lists(st.sampled_from([b"\xc3", b"\xa9", b"\xe2\x82", b"\xf0\x9f\x98", b"\xed\xa0\x80",
                              b"\xf4\x90\x80\x80", b"\xc0\x80", b"\x00", b"\\", b'"', b"\x7f",
                              b"a"]), max_size=30).map(b"".join),
    st.sampled_from(LONG_LINES),
)
times = st.one_of(
    st.integers(min_value=0, max_value=2**64 - 1),
    st.sampled_from([0, 1, 999_999_999, 10**9, 2**63 - 1, 2**63, 2**63 + 1, 2**64 - 1]),
    st.integers(min_value=2**63 - 10**10, max_value=2**63 + 10**10),
)
sources = st.sampled_from(["stdout", "stderr", "stdout", "é", ""])
records = st.lists(st.tuples(times, sources, lines), max_size=12)


def _columns(recs: list[tuple[int, str, bytes]]) -> tuple[list[int], list[str], list[bytes]]:
    return [r[0] for r in recs], [r[1] for r in recs], [r[2] for r in recs]


@settings(max_examples=300, deadline=None)
@given(recs=records, protobuf=st.booleans())
@example(recs=[(2**63, "stdout", b"\xe2\x82")], protobuf=False)  # a cut-off character at the end
@example(recs=[(0, "stdout", b"\xf0")], protobuf=True)
def test_compiled_events_are_the_pure_ones(recs: list[tuple[int, str, bytes]],
                                           protobuf: bool) -> None:
    pure, compiled = pure_and_compiled(KERNEL)
    columns = _columns(recs)
    expected = [encode(Record(t, s, line), protobuf=protobuf) for t, s, line in recs]
    assert pure.events(*columns, protobuf) == expected
    assert compiled.events(*columns, protobuf) == expected


@given(t=st.one_of(st.integers(max_value=-1), st.integers(min_value=2**64)),
       source=st.sampled_from(["stdout", "\udcff"]), line=st.sampled_from([b"x", b"", b" \xa0"]),
       protobuf=st.booleans())
def test_both_twins_refuse_a_bad_time_or_source_alike(t: int, source: str, line: bytes,
                                                       protobuf: bool) -> None:
    pure, compiled = pure_and_compiled(KERNEL)
    columns = ([1, t], ["stdout", source], [b"ok", line])
    assert outcome(compiled.events, *columns, protobuf) == outcome(pure.events, *columns,
                                                                   protobuf)


def test_columns_that_are_not_lists_or_differ_in_length() -> None:
    pure, compiled = pure_and_compiled(KERNEL)
    columns = ((1, 2), ("stdout", "stderr"), (b"a", b"b"))
    assert compiled.events(*columns, True) == pure.events(*columns, True)
    uneven = ([1, 2], ["stdout"], [b"a", b"b"])
    assert outcome(compiled.events, *uneven, True) == outcome(pure.events, *uneven, True)
    assert isinstance(outcome(pure.events, *uneven, True), tuple)  # zip(strict=True) refuses


hostile_events = st.one_of(
    st.binary(max_size=30),  # no separator, or a time cut short
    st.builds(lambda source, t, entry: source + b"\0" + t + entry,
              st.sampled_from([b"stdout", b"stderr", b"\xff", b"", b"s\x00"]),
              st.binary(min_size=6, max_size=9), st.binary(max_size=20)),
)


@settings(max_examples=300, deadline=None)
@given(recs=records, protobuf=st.booleans(), extra=st.lists(hostile_events, max_size=3),
       many_sources=st.booleans())
def test_compiled_streams_are_the_pure_ones(recs: list[tuple[int, str, bytes]], protobuf: bool,
                                            extra: list[bytes], many_sources: bool) -> None:
    pure, compiled = pure_and_compiled(KERNEL)
    events = [e for e in pure.events(*_columns(recs), protobuf) if e]
    if many_sources:  # more sources in a request than the compiled twin takes
        events += pure.events([1] * 20, [f"s{i}" for i in range(20)], [b"x"] * 20, protobuf)
    for good in (events, events + extra):
        assert outcome(compiled.streams, good, protobuf) == outcome(pure.streams, good, protobuf)


def test_streams_in_order_out_of_order_and_empty_entries() -> None:
    pure, compiled = pure_and_compiled(KERNEL)
    head = b"stdout\0"
    events = [head + (5).to_bytes(8, "big"), head + (5).to_bytes(8, "big") + b"a",
              b"stderr\0" + (1).to_bytes(8, "big") + b"e", head + (3).to_bytes(8, "big") + b"b"]
    for protobuf in (True, False):
        got = compiled.streams(events, protobuf)
        assert got == pure.streams(events, protobuf)
        assert compiled.streams(events[:2], protobuf) == pure.streams(events[:2], protobuf)
    assert compiled.streams(events[:2], False) == [("stdout", (0, 1), b",a")]
    assert compiled.streams(events, True)[0] == ("stdout", (3, 0, 1), b"ba")
    assert compiled.streams([], True) == pure.streams([], True) == []
    assert compiled.streams(tuple(events), True) == pure.streams(tuple(events), True)
