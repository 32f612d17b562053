"""The request body the delivery path posts, for every sink and format, equals the body built the
old way: each record's own ``encode``, the non-empty events joined by the sink's framing (HEC,
HTTP ndjson/text: back to back; HTTP json, Datadog: a JSON array); Loki and OTLP: the body their
list path builds from the same per-record events."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sinks import create
from sinks.datadog.config import DatadogConfig
from sinks.http.config import HttpConfig
from sinks.loki.config import LokiConfig
from sinks.otlp import sink as otlp_sink
from sinks.otlp.config import OtlpConfig
from sinks.splunk.config import SplunkConfig
from sinks.util.base import Sink, SinkConfig
from sinks.util.body import Body
from sinks.util.record import Record, Records

from .fakes import T0, context, record

HOSTILE = [b"plain line", b"", b"   ", b"\t \x0b", b"\xc2\xa0", b'{"a": 1}', b"[1,2]", b"123",
           b"-", b"true", b"truex", b"null", b"1 x", b'quote " and \\ back', b"<html>&amp;",
           b"\x00\x01\x1f\x7f", b"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80", b"\xff\xfe bad",
           b"\xed\xa0\x80 surrogate", b"x" * 3000, b"%s %d %% %f", b"\n\r\n"]

CONFIGS: dict[str, Callable[[], SinkConfig]] = {
    "splunk-inline": lambda: SplunkConfig.from_options(
        {"splunk-url": "http://hec:8088", "splunk-token": "t"}, {}),
    "splunk-json": lambda: SplunkConfig.from_options(
        {"splunk-url": "http://hec:8088", "splunk-token": "t", "splunk-format": "json"}, {}),
    "splunk-raw": lambda: SplunkConfig.from_options(
        {"splunk-url": "http://hec:8088", "splunk-token": "t", "splunk-format": "raw",
         "splunk-gzip": "true"}, {}),
    "http-json": lambda: HttpConfig.from_options({"http-url": "http://h/in"}, {}),
    "http-ndjson": lambda: HttpConfig.from_options(
        {"http-url": "http://h/in", "http-format": "ndjson", "http-gzip": "true"}, {}),
    "http-text": lambda: HttpConfig.from_options(
        {"http-url": "http://h/in", "http-format": "text"}, {}),
    "datadog": lambda: DatadogConfig.from_options({"datadog-api-key": "k"}, {}),
    "loki": lambda: LokiConfig.from_options({"loki-url": "http://loki:3100/loki/api/v1/push"},
                                            {}),
    "otlp": lambda: OtlpConfig.from_options({"otlp-endpoint": "http://collector:4318"}, {}),
}
JSON_ARRAY = {"http-json", "datadog"}
OWN_REQUEST = {"loki", "otlp"}  # bodies these sinks build from per-event bytes themselves


def _sink(name: str, bodies: list[bytes]) -> Sink:
    """The sink ``name`` over a MockTransport that keeps each request's (gunzipped) body."""
    def answer(request: httpx.Request) -> httpx.Response:
        content = request.content
        if request.headers.get("Content-Encoding") == "gzip":
            content = gzip.decompress(content)
        bodies.append(content)
        if "collector" in str(request.url):
            return httpx.Response(200, headers={"Content-Type": "application/x-protobuf"})
        if "hec" in str(request.url):
            return httpx.Response(200, json={"text": "Success", "code": 0})
        return httpx.Response(204 if "loki" in str(request.url) else 200)

    return create(CONFIGS[name](), transport=httpx.MockTransport(answer))


async def _delivery_body(name: str, recs: Records) -> bytes | None:
    """What the delivery path posts for ``recs`` (None: no request)."""
    bodies: list[bytes] = []
    sink = _sink(name, bodies)
    try:
        body = Body(sink.framing)
        sink.encode_into(context(), recs, body)
        answer = await sink.send_body(body)
    finally:
        await sink.close()
    assert answer.ok, answer
    return bodies[0] if bodies else None


async def _reference_body(name: str, recs: Records) -> bytes | None:
    """The old way: each record's own encoder, the non-empty events joined by the framing (or,
    for the sinks that build their own request, their list path)."""
    bodies: list[bytes] = []
    sink = _sink(name, bodies)
    ctx = context()
    events = [sink.encode(ctx, rec) for rec in recs]
    if name in OWN_REQUEST:
        assert (await sink.send(events)).ok
        await sink.close()
        return bodies[0] if bodies else None
    await sink.close()
    events = [e for e in events if e]
    if not events:
        return None
    return b"[" + b",".join(events) + b"]" if name in JSON_ARRAY else b"".join(events)


async def _both(name: str, recs: Records) -> tuple[bytes | None, bytes | None]:
    return await _delivery_body(name, recs), await _reference_body(name, recs)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTLP stamps each record with the time it was encoded: one fixed time for both ways."""
    monkeypatch.setattr(otlp_sink.time, "time_ns", lambda: T0 + 1)


def _records(lines: list[bytes]) -> Records:
    sources = ("stdout", "stderr", "stdout", "other")
    return Records.of([record(line, source=sources[i % 4], t=T0 + i * 1_234_567,
                              partial=i % 5 == 4) for i, line in enumerate(lines)])


def test_every_sink_posts_the_joined_body_for_hostile_records(kernel_twin: str) -> None:
    for name in CONFIGS:
        for lines in (HOSTILE, [b"plain"] * 7, [b""] * 3, [b"  "], HOSTILE[:1]):
            got, want = asyncio.run(_both(name, _records(lines)))
            assert got == want, (name, lines)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(HOSTILE),
                          st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass"))),
                min_size=1, max_size=30),
       st.sampled_from(sorted(CONFIGS)))
def test_random_records_post_the_joined_body(kernel_twin: str, lines: list[bytes],
                                             name: str) -> None:
    got, want = asyncio.run(_both(name, _records(lines)))
    assert got == want


def test_a_record_is_posted_as_its_own_encoding() -> None:
    """The reference itself: one plain record's body is its encoder's bytes, framed."""
    got, want = asyncio.run(_both("http-json", Records.of([Record(T0, "stdout", b"a")])))
    assert got == want and want is not None and want.startswith(b"[{") and want.endswith(b"}]")
