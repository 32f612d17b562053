"""The envelope kernel (sinks/util/envelope.py): both twins give the per-record encoders' bytes.

Differential: for every format, random batches (hostile lines, edge times, both sources, partial
flags, contexts with and without tag, attrs, index, source) go through ``encode_many`` under each
twin and through the kernel functions directly; all must equal ``encode`` record by record.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sinks.datadog.config import DatadogConfig
from sinks.datadog.encoder import DD_MAX_MESSAGE_BYTES, ItemEncoder
from sinks.http.encoder import EventEncoder
from sinks.splunk.config import HecFields
from sinks.splunk.encoder import Envelope
from sinks.util import twin
from sinks.util.body import BACK_TO_BACK, JSON_ARRAY, Body, framed
from sinks.util.envelope import KERNEL, EnvelopeKernel, Layout
from sinks.util.record import Context, Record, Records

from ..fakes import context, record
from ..kernels import outcome, pure_and_compiled

KEY = "0123456789abcdef0123456789abcdef"
T0 = 1_700_000_000_123_456_789
# Pieces of hostile lines: every escape of both styles, invalid and edge UTF-8, JSON openers,
# Go's white space, '%' (the pure twin's templates), NUL (its separator).
PIECES = [
    b"a", b"y", b" ", b"<", b">", b"&", b'"', b"\\", b"\x00", b"\x08", b"\x0c", b"\n", b"\r",
    b"\t", b"\x0b", b"\x1f", b"\x7f", b"%", b"%f", b"%s", b"\xc3\xa9", b"\xc2\xa0", b"\xc2\x85",
    b"\xe2\x80\xa8", b"\xe2\x80\xa9", b"\xe3\x80\x80", b"\xef\xbf\xbd", b"\xf0\x9f\x98\x80",
    b"\xf4\x8f\xbf\xbf", b"\xff", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf",
    b"\xe0\x80\xaf", b"\x80", b"\xf0\x9f\x98", b"{", b"[", b"1", b"-", b"t", b"n", b'"s"',
    b'{"a": [1, "<b>"]}', b"null",
]
EDGE_TIMES = [0, 1, -1, 999_999, 1_000_000, -1_000_001, 2**63 - 1, -(2**63), 255_999_999_999,
              256_000_000_000, 2**31 * 10**9, T0, 1_700_000_000_999_999_999,
              1_700_000_000_000_000_500, 1_699_999_999_999_999_999]
PLAIN = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
lines = st.one_of(
    st.binary(max_size=30),
    st.lists(st.sampled_from(PIECES), max_size=8).map(b"".join),
    PLAIN.map(str.encode),
    st.text(max_size=12).map(str.encode),  # any code point, non-BMP included
)
times = st.one_of(st.sampled_from(EDGE_TIMES), st.integers(-(2**63), 2**63 - 1),
                  st.integers(1_500_000_000 * 10**9, 2_200_000_000 * 10**9))
records = st.builds(Record, times, st.sampled_from(["stdout", "stderr"]), lines, st.booleans())
plain_records = st.builds(Record, times, st.sampled_from(["stdout", "stderr"]),
                          PLAIN.map(str.encode), st.just(False))
batches = st.one_of(st.lists(records, max_size=8), st.lists(plain_records, min_size=1, max_size=8))
piece = st.sampled_from(["", "s%f", "<i&>", "é\u2028"])
contexts = st.builds(
    context,
    tag=st.one_of(st.sampled_from(["", "t%", "<tag>"]), st.text(max_size=6)),
    attrs=st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=3),
    hostname=st.sampled_from(["host1", "h%s%%f", "<h>", "hôte"]),
)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def kernels() -> list[EnvelopeKernel]:
    """Both twins; the compiled one must be built unless LOGDRIVER_NO_EXTENSIONS says not."""
    if KERNEL.compiled is None:
        if not twin.extensions_disabled():
            pytest.fail(f"the compiled envelope kernel is not built: {KERNEL.missing}")
        return [KERNEL.pure]
    return [KERNEL.compiled, KERNEL.pure]


@contextmanager
def running(kernel: EnvelopeKernel) -> Iterator[None]:
    before = KERNEL.active
    KERNEL.active = kernel
    try:
        yield
    finally:
        KERNEL.active = before


def check(layout: Layout | None, recs: list[Record],
          encode: Callable[[Record], bytes], encode_many: Callable[[Records], list[bytes]],
          encode_into: Callable[[Records, Body], None] | None = None) -> None:
    """encode_many under each twin, and each kernel's own answer, equal encode per record; so
    do the events encode_into writes after an event already in a body, in either framing, and
    the body is their old joined body."""
    expected = [encode(rec) for rec in recs]
    columns = Records.of(recs)
    for kernel in kernels():
        with running(kernel):
            assert encode_many(columns) == expected
            for framing in (BACK_TO_BACK, JSON_ARRAY) if encode_into is not None else ():
                body = Body.of(framing, [b"before"])
                encode_into(columns, body)  # type: ignore[misc]
                assert body.events() == [b"before", *expected]
                assert body.empty == expected.count(b"")
                assert bytes(body.payload()) == framed(framing, [b"before", *expected])
        if layout is None:
            continue
        answer = kernel.envelopes(layout, columns.times, columns.sources, columns.lines,
                                  columns.partial)
        if answer is not None:
            events, declined = answer
            assert declined == events.count(None)
            pairs = zip(events, expected, strict=True)
            assert all(got is None or got == want for got, want in pairs)


@SETTINGS
@given(fmt=st.sampled_from(["inline", "json", "raw"]), ctx=contexts, recs=batches,
       fields=st.builds(HecFields, piece, piece, piece))
def test_hec_batches_are_the_per_record_envelopes(fmt: str, ctx: Context, recs: list[Record],
                                                  fields: HecFields) -> None:
    envelope = Envelope(fmt, ctx, fields)
    check(envelope._layout, recs, envelope.encode, envelope.encode_many, envelope.encode_into)


@SETTINGS
@given(ctx=contexts, recs=batches, service=piece, tags=st.sampled_from(["", "env:prod,t:<&>"]),
       hostname=piece)
def test_datadog_batches_are_the_per_record_items(ctx: Context, recs: list[Record], service: str,
                                                  tags: str, hostname: str) -> None:
    options = {"datadog-api-key": KEY, "datadog-service": service, "datadog-tags": tags,
               "datadog-hostname": hostname}
    encoder = ItemEncoder(DatadogConfig.from_options({k: v for k, v in options.items() if v}, {}))
    check(encoder.shape_for(ctx).layout, recs, lambda rec: encoder.encode(ctx, rec),
          lambda columns: encoder.encode_many(ctx, columns),
          lambda columns, body: encoder.encode_into(ctx, columns, body))


@SETTINGS
@given(fmt=st.sampled_from(["json", "ndjson", "text"]), ctx=contexts, recs=batches)
def test_http_batches_are_the_per_record_events(fmt: str, ctx: Context,
                                                recs: list[Record]) -> None:
    encoder = EventEncoder(fmt)
    encoder.static_fields(ctx)
    check(encoder._layout if fmt != "text" else None, recs, lambda rec: encoder.encode(ctx, rec),
          lambda columns: encoder.encode_many(ctx, columns),
          lambda columns, body: encoder.encode_into(ctx, columns, body))


def layouts() -> dict[str, Layout]:
    ctx = context(attrs={"a": "<b>"})
    datadog = ItemEncoder(DatadogConfig.from_options({"datadog-api-key": KEY}, {}))
    http = EventEncoder("ndjson")
    http.static_fields(ctx)
    found = {fmt: Envelope(fmt, ctx, HecFields("s", "", "i"))._layout
             for fmt in ("inline", "json", "raw")}
    found.update(datadog=datadog.shape_for(ctx).layout, http=http._layout)
    return {name: layout for name, layout in found.items() if layout is not None}


@pytest.mark.parametrize("name", ["inline", "json", "raw", "datadog", "http"])
def test_the_compiled_twin_takes_escapes_invalid_utf8_and_edge_times(name: str) -> None:
    [kernel] = kernels()[:-1] or pytest.skip(f"{twin.NO_EXTENSIONS_ENV} is set")
    lines = [b'x"<&>\\\t\x00\x7f', b"\xff\xe2\x82 \xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80", b"y"]
    recs = Records.of(record(line, source=source, t=t, partial=partial)
                      for line in lines for source in ("stdout", "stderr")
                      for t in EDGE_TIMES for partial in (False, True))
    answer = kernel.envelopes(layouts()[name], recs.times, recs.sources, recs.lines, recs.partial)
    assert answer is not None and answer[1] == 0 and None not in answer[0]


@pytest.mark.parametrize(("name", "line"), [
    ("json", b"{}"), ("json", b"123"), ("json", b" x"), ("json", b"null"), ("json", b"truex"),
    ("json", b"-0.5e+7 \t"), ("json", b'"s" x'), ("json", b"[1"), ("json", b"12\xd9\xa3"),
    ("datadog", b"y" * (DD_MAX_MESSAGE_BYTES // 3 + 1)),
])
def test_the_compiled_twin_declines_what_only_python_decides(name: str, line: bytes) -> None:
    [kernel] = kernels()[:-1] or pytest.skip(f"{twin.NO_EXTENSIONS_ENV} is set")
    recs = Records.of([record(line), record(b"plain"), record(b"z", source="other")])
    answer = kernel.envelopes(layouts()[name], recs.times, recs.sources, recs.lines, recs.partial)
    assert answer is not None and answer[1] == 2
    events = answer[0]
    assert events[0] is None and events[1] is not None
    assert events[2] is None  # a source the layout has no pieces for


@pytest.mark.parametrize("line", [b"000123 xxxx", b"1x", b"-", b"-Infinity", b"1.", b"1e", b"01",
                                  b"tru", b"fals", b"nul", b"nope", b"y", b""])
def test_both_twins_keep_lines_that_are_no_json_as_strings(line: bytes) -> None:
    envelope = Envelope("json", context(), HecFields())
    recs = Records.of([record(line)])
    assert envelope._layout is not None
    for kernel in kernels():
        answer = kernel.envelopes(envelope._layout, recs.times, recs.sources, recs.lines,
                                  recs.partial)
        assert answer == ([envelope.encode(record(line))], 0)


@pytest.mark.parametrize("line", [b"", b" \t\v", b" \xc2\xa0\xc2\x85\xe2\x80\x8a\xe3\x80\x80 "])
def test_the_compiled_twin_skips_blank_raw_lines(line: bytes) -> None:
    [kernel] = kernels()[:-1] or pytest.skip(f"{twin.NO_EXTENSIONS_ENV} is set")
    recs = Records.of([record(line), record(line + b"\xe2\x80\x8b"), record(line + b"\xff")])
    answer = kernel.envelopes(layouts()["raw"], recs.times, recs.sources, recs.lines, recs.partial)
    assert answer is not None and answer[1] == 0
    assert answer[0][0] == b"" and answer[0][1] and answer[0][2]


@pytest.mark.parametrize("name", ["inline", "json", "raw", "datadog", "http"])
def test_the_pure_twin_formats_a_plain_batch_at_once(name: str) -> None:
    recs = Records.of([record(b"yyyy %f %s", t=T0), record(b"x", source="stderr", t=0)])
    answer = KERNEL.pure.envelopes(layouts()[name], recs.times, recs.sources, recs.lines,
                                   recs.partial)
    assert answer is not None and len(answer[0]) == 2 and answer[1] == 0


def test_the_pure_twin_formats_the_plain_records_of_a_mixed_batch() -> None:
    recs = Records.of([record(b"a"), record(b'"q"'), record(b"b", partial=True), record(b"c")])
    layout = layouts()["datadog"]  # its tails differ: a partial record is declined
    answer = KERNEL.pure.envelopes(layout, recs.times, recs.sources, recs.lines, recs.partial)
    assert answer is not None and answer[1] == 2
    assert [e is None for e in answer[0]] == [False, True, True, False]
    recs = Records.of([record(b"a"), record(b'"q"'), record(b"<")])
    assert KERNEL.pure.envelopes(layout, recs.times, recs.sources, recs.lines,
                                 recs.partial) is None  # mostly not plain: all per record


def test_columns_of_different_lengths_are_refused() -> None:
    layout = encoders()["inline"][0]
    for kernel in kernels():
        with pytest.raises(ValueError, match="differ in length"):
            kernel.envelopes(layout, [1, 2], ["stdout"], [b"a"], [False])


def test_a_context_string_that_is_not_utf8_leaves_encoding_to_the_per_record_path(
        kernel_twin: str) -> None:
    envelope = Envelope("inline", context(tag="\ud800"), HecFields())
    assert envelope._layout is None
    with pytest.raises(UnicodeEncodeError):
        envelope.encode_many(Records.of([record(b"x")]))


# Columns as hostile as the kernel may be handed: sources without pieces, non-bool partial
# flags, times past int64 (each declined to the fallback), hostile lines.
hostile_records = st.lists(st.tuples(
    st.one_of(times, st.integers(2**63, 2**70), st.integers(-(2**70), -(2**63) - 1)),
    st.sampled_from(["stdout", "stderr", "other", ""]),
    lines,
    st.sampled_from([False, True, 0, 1, None]),
), max_size=12)


def encoders() -> dict[str, tuple[Layout, Callable[[Record], bytes]]]:
    """Each format's layout and per-record encoder (what a declined record becomes)."""
    ctx = context(attrs={"a": "<b>"})
    datadog = ItemEncoder(DatadogConfig.from_options({"datadog-api-key": KEY}, {}))
    http = EventEncoder("ndjson")
    http.static_fields(ctx)
    found: dict[str, tuple[Layout | None, Callable[[Record], bytes]]] = {
        "datadog": (datadog.shape_for(ctx).layout, lambda rec: datadog.encode(ctx, rec)),
        "http": (http._layout, lambda rec: http.encode(ctx, rec))}
    for fmt in ("inline", "json", "raw"):
        envelope = Envelope(fmt, ctx, HecFields("s", "", "i"))
        found[fmt] = (envelope._layout, envelope.encode)
    return {name: (layout, encode) for name, (layout, encode) in found.items()
            if layout is not None}


@SETTINGS
@given(name=st.sampled_from(["inline", "json", "raw", "datadog", "http"]),
       rows=hostile_records, sep=st.sampled_from([b"", b",", b";;"]),
       prefix=st.binary(max_size=5), base=st.sampled_from([0, 3, 2**40]))
def test_both_twins_write_the_same_buffer(name: str, rows: list[tuple[object, ...]], sep: bytes,
                                          prefix: bytes, base: int) -> None:
    """envelopes_into: the same bytes, end offsets and empty count from both twins, each event
    the per-record encoder's (what the twins decline, every hostile record, it encodes)."""
    pure, compiled = pure_and_compiled(KERNEL)
    layout, encode = encoders()[name]
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 4

    def fallback(i: int) -> bytes:
        return encode(Record(*(column[i] for column in columns)))  # type: ignore[arg-type]

    results = []
    for kernel in (pure, compiled):
        out, ends = bytearray(prefix), array("Q", [7])
        got = outcome(kernel.envelopes_into, layout, *columns, out, ends, base, sep, fallback)
        results.append((got, bytes(out), list(ends)))
    assert results[0] == results[1]
    got, out, ends = results[0]
    if isinstance(got, int):
        offsets = [end - base for end in ends[1:]]
        events = [out[a:b] for a, b in zip([len(prefix), *offsets], offsets, strict=False)]
        want = [fallback(i) for i in range(len(rows))]
        assert events == [e + sep if e else e for e in want] and got == want.count(b"")


@SETTINGS
@given(rows=st.lists(st.one_of(lines, lines.map(bytearray), st.just(3)), max_size=10),
       prefix=st.binary(max_size=5), base=st.sampled_from([0, 5, -1]))
def test_both_twins_write_the_same_text_lines(rows: list[object], prefix: bytes,
                                              base: int) -> None:
    pure, compiled = pure_and_compiled(KERNEL)
    results = []
    for kernel in (pure, compiled):
        out, ends = bytearray(prefix), array("Q")
        got = outcome(kernel.text_lines_into, rows, out, ends, base)
        results.append((got, bytes(out), list(ends)))
    assert results[0] == results[1]
    if results[0][0] == 0:
        assert results[0][2] == [base + len(prefix) + sum(len(r) + 1 for r in rows[:i + 1])  # type: ignore[arg-type]
                                 for i in range(len(rows))]
        assert results[0][1] == prefix + b"".join(bytes(r) + b"\n" for r in rows)  # type: ignore[arg-type]


def test_a_refused_call_leaves_the_buffer_as_it_was() -> None:
    """A fallback that fails, or answers other than bytes, leaves out and ends untouched."""
    layout = encoders()["inline"][0]
    columns = [[1, 2, 3], ["stdout", "other", "stdout"], [b"a", b"b", b"c"], [False] * 3]
    for kernel in kernels():
        for bad in (lambda i: "text", lambda i: 1 // 0):
            out, ends = bytearray(b"kept"), array("Q", [4])
            with pytest.raises((TypeError, ZeroDivisionError)):
                kernel.envelopes_into(layout, *columns, out, ends, 0, b",", bad)
            assert (out, list(ends)) == (bytearray(b"kept"), [4])
