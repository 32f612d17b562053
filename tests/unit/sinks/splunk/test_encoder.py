"""HEC envelopes are byte for byte what Docker's splunk driver sends.

The expected bytes were produced by Go 1.19 (Docker 20.10.24's toolchain) running moby v20.10.24's
``splunkMessage``/``splunkMessageEvent`` structs and the three ``Log`` methods of
daemon/logger/splunk/splunk.go on the same records (a throwaway program, not kept in the repo).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sinks.splunk.encoder import Envelope, HecFields
from sinks.util.record import Records

from ..fakes import context, record

ATTRS = {"a": "b", "foo_finder": "bar"}
AWKWARD = (b'a<b>&c "q" \\ \t\x01\x1b \xc3\xa9 \xe2\x80\xa8 \xef\xbf\xbd bad:\xff\xe2\x82!')

GOLDEN = [
    pytest.param(
        "inline", "container_image_name/container_name", ATTRS,
        HecFields("mysource", "mysourcetype", "myindex"), b"1", "stdout", 1700000000123456789,
        b'{"event":{"line":"1","source":"stdout","tag":"container_image_name/container_name",'
        b'"attrs":{"a":"b","foo_finder":"bar"}},"time":"1700000000.123457","host":"host1",'
        b'"source":"mysource","sourcetype":"mysourcetype","index":"myindex"}',
        id="inline-all-fields",
    ),
    pytest.param(
        "inline", "containeriid", {}, HecFields(), AWKWARD, "stderr", 1700000000999999999,
        b'{"event":{"line":"a\\u003cb\\u003e\\u0026c \\"q\\" \\\\ \\t\\u0001\\u001b \xc3\xa9 '
        b'\\u2028 \xef\xbf\xbd bad:\\ufffd\\ufffd\\ufffd!","source":"stderr","tag":"containeriid"},'
        b'"time":"1700000001.000000","host":"host1"}',
        id="inline-escapes-and-invalid-utf8",
    ),
    pytest.param(
        "json", "containeriid", {}, HecFields(),
        b'{"a" : [1, 2 , "<x y>"],\n "b":{}}', "stdout", 1600000000000000001,
        b'{"event":{"line":{"a":[1,2,"\\u003cx y\\u003e"],"b":{}},"source":"stdout",'
        b'"tag":"containeriid"},"time":"1600000000.000000","host":"host1"}',
        id="json-object-compacted",
    ),
    pytest.param(
        "json", "containeriid", {}, HecFields(), b"notjson", "stdout", 1,
        b'{"event":{"line":"notjson","source":"stdout","tag":"containeriid"},'
        b'"time":"0.000000","host":"host1"}',
        id="json-not-json-is-a-string",
    ),
    pytest.param(
        "json", "containeriid", {}, HecFields(), b" 123 ", "stdout", 999999,
        b'{"event":{"line":123,"source":"stdout","tag":"containeriid"},'
        b'"time":"0.001000","host":"host1"}',
        id="json-number",
    ),
    pytest.param(
        "json", "", {}, HecFields(), b'"str"', "stdout", 1700000000000000000,
        b'{"event":{"line":"str","source":"stdout"},"time":"1700000000.000000","host":"host1"}',
        id="json-string-no-tag",
    ),
    pytest.param(
        "json", "containeriid", {}, HecFields(), b"NaN", "stdout", 1700000000000000000,
        b'{"event":{"line":"NaN","source":"stdout","tag":"containeriid"},'
        b'"time":"1700000000.000000","host":"host1"}',
        id="json-nan-is-not-json",
    ),
    pytest.param(
        "raw", "containeriid", {"a": "b"}, HecFields(), b'{"a":"b"}', "stdout", 1700000000123456789,
        b'{"event":"containeriid a=b {\\"a\\":\\"b\\"}","time":"1700000000.123457",'
        b'"host":"host1"}',
        id="raw-tag-and-attrs",
    ),
    pytest.param(
        "raw", "", {}, HecFields(), b"notjson <&>", "stdout", 1700000000123456789,
        b'{"event":"notjson \\u003c\\u0026\\u003e","time":"1700000000.123457","host":"host1"}',
        id="raw-no-tag",
    ),
    pytest.param(
        "raw", "containeriid", {}, HecFields(), b" \t\xc2\xa0", "stdout", 1700000000123456789,
        b"", id="raw-blank-line-skipped",
    ),
]


@pytest.mark.parametrize(("fmt", "tag", "attrs", "fields", "line", "source", "t", "expected"),
                         GOLDEN)
def test_envelope_matches_dockers_splunk_driver(
    fmt: str, tag: str, attrs: dict[str, str], fields: HecFields, line: bytes, source: str,
    t: int, expected: bytes, kernel_twin: str,
) -> None:
    envelope = Envelope(fmt, context(tag=tag, attrs=attrs), fields)
    rec = record(line, source=source, t=t)
    assert envelope.encode(rec) == expected
    assert envelope.encode_many(Records.of([rec, rec])) == [expected, expected]  # the hot path


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fmt=st.sampled_from(["inline", "json", "raw"]),
    tag=st.text(max_size=8),
    host=st.sampled_from(["host1", "h%s%%f", "<h>"]),
    records=st.lists(st.tuples(
        st.integers(min_value=0, max_value=4_000_000_000_000_000_000),
        st.sampled_from(["stdout", "stderr"]),
        st.one_of(st.binary(max_size=40),
                  st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                          max_size=40).map(str.encode)),
    ), max_size=6),
)
def test_encode_many_is_encode_for_each_record(
    fmt: str, tag: str, host: str, records: list[tuple[int, str, bytes]], kernel_twin: str,
) -> None:
    envelope = Envelope(fmt, context(tag=tag, hostname=host, attrs={"k%": "v"}),
                        HecFields("s%", "", "i"))
    recs = [record(line, source=source, t=t) for t, source, line in records]
    assert envelope.encode_many(Records.of(recs)) == [envelope.encode(r) for r in recs]


def test_inline_keeps_an_empty_line_as_an_event(kernel_twin: str) -> None:
    envelope = Envelope("inline", context(tag=""), HecFields())
    expected = b'{"event":{"line":"","source":"stdout"},"time":"0.000000","host":"host1"}'
    assert envelope.encode(record(b"", t=0)) == expected
    assert envelope.encode_many(Records.of([record(b"", t=0)])) == [expected]


def test_raw_prefix_lists_attrs_sorted_after_the_tag(kernel_twin: str) -> None:
    # Go ranges over the map in random order; sorted is one of its orders and is stable.
    envelope = Envelope("raw", context(tag="t", attrs={"z": "1", "a": "2"}), HecFields())
    assert envelope.encode(record(b"x", t=0)).startswith(b'{"event":"t a=2 z=1 x",')
    [event] = envelope.encode_many(Records.of([record(b"x", t=0)]))
    assert event.startswith(b'{"event":"t a=2 z=1 x",')


def test_json_format_with_invalid_utf8_inside_json_stays_valid_utf8(kernel_twin: str) -> None:
    envelope = Envelope("json", context(tag=""), HecFields())
    [out] = envelope.encode_many(Records.of([record(b'{"k":"\xff"}', t=0)]))
    assert out.startswith(b'{"event":{"line":{"k":"\\ufffd"}')
    out.decode("utf-8")  # Go would copy the raw byte; HEC may refuse non-UTF-8 bodies


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown splunk format"):
        Envelope("xml", context(), HecFields())
