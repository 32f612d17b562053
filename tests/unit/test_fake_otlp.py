"""The OTLP fake takes exactly what the official Python SDK's OTLP/HTTP log exporters send
(protobuf and JSON, compressed or not), and refuses what the OTLP specification says to refuse."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.exporter.otlp.common.http import Compression as JsonCompression
from opentelemetry.exporter.otlp.json.http._log_exporter import OTLPLogExporter as JsonExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from tests.fakes.otlp import FakeOtlp, status_body

T = 1_700_000_000_123_456_789
TRACE_ID = 0x5B8EFFF798038103D269B633813FC60C
SPAN_ID = 0xEEE19B7EC3C1B174


@pytest.fixture
def rx() -> Iterator[FakeOtlp]:
    with FakeOtlp() as fake:
        yield fake


def emit_with_sdk(exporter: object) -> None:
    provider = LoggerProvider(resource=Resource.create({"service.name": "sdk-test"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))  # type: ignore[arg-type]
    logger = provider.get_logger("sdk.scope")
    span = SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(1))
    logger.emit(timestamp=T, observed_timestamp=T + 5, body="héllo \x00 wörld",
                attributes={"log.iostream": "stderr", "n": 7},
                context=set_span_in_context(NonRecordingSpan(span)))
    logger.emit(timestamp=T + 1, body=b"\xff\xfe raw")
    provider.shutdown()


def check_sdk_records(rx: FakeOtlp) -> None:
    items = rx.wait_for_items(2)
    assert [r.status for r in rx.requests] == [200, 200]
    first, second = items
    assert first["resource"]["service.name"] == "sdk-test" and first["scope"] == "sdk.scope"
    assert (first["time_unix_nano"], first["observed_time_unix_nano"]) == (T, T + 5)
    assert first["body"] == "héllo \x00 wörld"
    assert first["attributes"] == {"log.iostream": "stderr", "n": 7}
    assert second["body_b64"] == "//4gcmF3" and second["time_unix_nano"] == T + 1
    assert rx.lines() == ["héllo \x00 wörld".encode(), b"\xff\xfe raw"]


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_takes_what_the_sdk_protobuf_exporter_sends(rx: FakeOtlp, compression: Compression
                                                    ) -> None:
    emit_with_sdk(OTLPLogExporter(endpoint=rx.logs_url, compression=compression))
    check_sdk_records(rx)
    assert rx.requests[0].headers["Content-Type"] == "application/x-protobuf"
    sent = ExportLogsServiceRequest.FromString(rx.requests[0].decoded or b"")
    record = sent.resource_logs[0].scope_logs[0].log_records[0]
    assert record.trace_id == TRACE_ID.to_bytes(16, "big")


@pytest.mark.parametrize("compression", [JsonCompression.NONE, JsonCompression.GZIP])
def test_takes_what_the_sdk_json_exporter_sends(rx: FakeOtlp, compression: JsonCompression
                                                ) -> None:
    emit_with_sdk(JsonExporter(endpoint=rx.logs_url, compression=compression))
    check_sdk_records(rx)
    request = rx.requests[0]
    assert request.headers["Content-Type"].startswith("application/json")
    sent = json.loads(request.decoded or b"")
    record = sent["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert record["traceId"].lower() == f"{TRACE_ID:032x}"  # hex, as OTLP/JSON says
    assert json.loads(request.answer) == {}  # an empty ExportLogsServiceResponse


def post(rx: FakeOtlp, body: bytes, content_type: str = "application/x-protobuf",
         path: str = "/v1/logs", **headers: str) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=10) as client:
        return client.post(rx.url + path, content=body,
                           headers={"Content-Type": content_type, **headers})


def one_record_request(body: LogRecord) -> bytes:
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[
        ScopeLogs(log_records=[body])])]).SerializeToString()


@pytest.mark.parametrize(("path", "content_type", "body", "status"), [
    ("/v1/traces", "application/x-protobuf", b"", 404),
    ("/v1/logs", "text/plain", b"", 415),
    ("/v1/logs", "application/x-protobuf", b"\x0a\x05\x12", 400),  # truncated
    # a string field holding invalid UTF-8: the official parser refuses it
    ("/v1/logs", "application/x-protobuf", b"\x0a\x0a\x12\x08\x12\x06\x2a\x04\x0a\x02\xff\xfe",
     400),
    ("/v1/logs", "application/json", b"{not json", 400),
    ("/v1/logs", "application/json", b'{"resourceLogs":[{"scopeLogs":[{"logRecords":'
                                      b'[{"timeUnixNano":"x"}]}]}]}', 400),
])
def test_refuses_what_the_spec_refuses(rx: FakeOtlp, path: str, content_type: str, body: bytes,
                                       status: int) -> None:
    answer = post(rx, body, content_type, path)
    assert answer.status_code == status, rx.describe()
    assert rx.items == []


def test_json_ignores_unknown_fields_and_takes_int64_as_numbers(rx: FakeOtlp) -> None:
    body = (b'{"resourceLogs":[{"future":1,"scopeLogs":[{"logRecords":[{"timeUnixNano":'
            b'1700000000123456789,"body":{"stringValue":"x"},"newField":{}}]}]}]}')
    assert post(rx, body, "application/json").status_code == 200
    assert rx.items[0]["time_unix_nano"] == T and rx.lines() == [b"x"]


def test_gzip_and_a_corrupt_gzip(rx: FakeOtlp) -> None:
    body = one_record_request(LogRecord(time_unix_nano=T))
    assert post(rx, gzip.compress(body), **{"Content-Encoding": "gzip"}).status_code == 200
    assert post(rx, b"\x1f\x8bnot", **{"Content-Encoding": "gzip"}).status_code == 400


def test_size_limit_answers_413() -> None:
    with FakeOtlp(max_request_bytes=1000) as rx:
        answer = post(rx, one_record_request(LogRecord(time_unix_nano=T)) + b"\x0a\x00" * 600)
        assert answer.status_code == 413


def test_required_headers(rx: FakeOtlp) -> None:
    rx.required_headers = {"Authorization": "Bearer t"}
    body = one_record_request(LogRecord(time_unix_nano=T))
    assert post(rx, body).status_code == 401
    assert post(rx, body, Authorization="Bearer t").status_code == 200


def test_partial_success_refuses_the_last_records(rx: FakeOtlp) -> None:
    rx.partial(1, "too old")
    request = ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(
        log_records=[LogRecord(time_unix_nano=T), LogRecord(time_unix_nano=T + 1)])])])
    answer = post(rx, request.SerializeToString())
    response = ExportLogsServiceResponse.FromString(answer.content)
    assert (response.partial_success.rejected_log_records,
            response.partial_success.error_message) == (1, "too old")
    assert [i["time_unix_nano"] for i in rx.items] == [T] and rx.rejected == 1


def test_status_body_in_both_encodings() -> None:
    assert json.loads(status_body("slow down", json_encoding=True)) == {"message": "slow down"}
    assert b"slow down" in status_body("slow down")
