"""The compiled OTLP records kernel (``_records_c``) against its pure-Python twin
(``_records``): the same LogRecords byte for byte on random and hostile records, partial flags
and several containers, and what the official messages parse back."""

from __future__ import annotations

from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from sinks.otlp.encoder import KERNEL, OtlpEncoder
from sinks.util.record import Record, Records

from ..fakes import context, record
from ..kernels import outcome, pure_and_compiled

lines = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=80).map(str.encode),
    st.lists(st.sampled_from([b"\xc3", b"\xa9", b"\xe2\x82", b"\xf0\x9f\x98", b"\xed\xa0\x80",
                              b"\xf4\x90\x80\x80", b"\xc0\x80", b"\x00", b"\\", b'"', b"\x7f",
                              b"\x1f", "\u2028".encode(), b"a"]), max_size=30).map(b"".join),
    st.sampled_from([b"", b"x" * 16_383, b"y" * 16_384, "é".encode() * 9000,
                     b"z" * (300 * 1024), b"\xff" * 70_000]),
)
times = st.one_of(st.integers(min_value=0, max_value=2**64 - 1),
                  st.sampled_from([0, 1, 2**63 - 1, 2**63, 2**64 - 1]))
records = st.lists(st.builds(Record, times, st.sampled_from(["stdout", "stderr"]), lines,
                             st.booleans()), max_size=10)
contexts = st.builds(context, attrs=st.dictionaries(st.text(max_size=8), st.text(max_size=8),
                                                    max_size=3),
                     tag=st.sampled_from(["", "web", "é\x00"]))


def _attributes(enc: OtlpEncoder, recs: Records) -> dict[str, tuple[bytes, bytes]]:
    return {s: (enc._attributes(s, False), enc._attributes(s, True)) for s in {"stdout",
                                                                               "stderr"}}


@settings(max_examples=200, deadline=None)
@given(recs=records, observed=times, ctx=contexts, protocol=st.sampled_from(
    ["http/protobuf", "http/json"]))
def test_compiled_log_records_are_the_pure_ones(recs: list[Record], observed: int,
                                                ctx: object, protocol: str) -> None:
    pure, compiled = pure_and_compiled(KERNEL)
    enc = OtlpEncoder(protocol, ctx)  # type: ignore[arg-type]
    columns = Records.of(recs)
    args = (columns.times, columns.sources, columns.lines, columns.partial,
            _attributes(enc, columns), observed)
    name = "log_records_json" if enc.json else "log_records"
    expected = [enc.encode(r, observed) for r in recs]
    assert getattr(pure, name)(*args) == expected
    got = getattr(compiled, name)(*args)
    assert got == expected
    body = enc.request(got)  # and the official messages read it back
    request = (json_format.Parse(body, ExportLogsServiceRequest()) if enc.json
               else ExportLogsServiceRequest.FromString(body))
    parsed = request.resource_logs[0].scope_logs[0].log_records
    assert [r.time_unix_nano for r in parsed] == [r.time_ns for r in recs]
    assert [r.body.string_value.encode() or r.body.bytes_value for r in parsed] == [
        r.line for r in recs]


@given(t=st.one_of(st.integers(max_value=-1), st.integers(min_value=2**64)),
       observed=st.one_of(st.just(5), st.integers(max_value=-1), st.integers(min_value=2**64)),
       protocol=st.sampled_from(["http/protobuf", "http/json"]), partial=st.booleans())
def test_both_twins_refuse_or_write_an_odd_time_alike(t: int, observed: int, protocol: str,
                                                      partial: bool) -> None:
    pure, compiled = pure_and_compiled(KERNEL)
    enc = OtlpEncoder(protocol, context())
    recs = Records.of([record(b"ok", t=5), record(b"x\xff", t=t, partial=partial)])
    name = "log_records_json" if enc.json else "log_records"
    args = (recs.times, recs.sources, recs.lines, recs.partial, _attributes(enc, recs), observed)
    assert outcome(getattr(compiled, name), *args) == outcome(getattr(pure, name), *args)


def test_a_source_without_attributes_and_columns_that_are_not_lists() -> None:
    pure, compiled = pure_and_compiled(KERNEL)
    attrs = {"stdout": (b"A", b"B")}
    odd = ([1], ["stderr"], [b"x"], [False], attrs, 2)
    assert outcome(compiled.log_records, *odd) == outcome(pure.log_records, *odd)
    assert isinstance(outcome(pure.log_records, *odd), tuple)  # KeyError
    tuples = ((1, 2), ("stdout", "stdout"), (b"x", b"\xff"), (False, True), attrs, 2)
    for name in ("log_records", "log_records_json"):
        assert getattr(compiled, name)(*tuples) == getattr(pure, name)(*tuples)
