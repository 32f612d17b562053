"""The OTLP sink over httpx.MockTransport: what it posts, and what each answer becomes."""

from __future__ import annotations

import gzip
import logging

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from sinks.otlp import OtlpConfig, OtlpSink
from sinks.util.answer import Outcome
from sinks.util.record import Records
from tests.fakes.otlp import items_of

from ..fakes import Server, context, record

SECRET = "s3cr3t-api-key-value"


def sink(server: Server, env: dict[str, str] | None = None, **opts: str) -> OtlpSink:
    config = OtlpConfig.from_options({"otlp-endpoint": "https://collector:4318", **opts}, env or {})
    return OtlpSink.from_config(config, transport=server.transport)


def sent(server: Server, i: int = -1) -> ExportLogsServiceRequest:
    request = server.requests[i]
    body = gzip.decompress(request.content) if request.headers.get(
        "Content-Encoding") == "gzip" else request.content
    if request.headers["Content-Type"] == "application/json":
        return json_format.Parse(body, ExportLogsServiceRequest())
    return ExportLogsServiceRequest.FromString(body)


async def test_posts_gzipped_protobuf_to_v1_logs_with_the_headers(
        kernel_twin: str) -> None:
    server = Server([httpx.Response(200, headers={"Content-Type": "application/x-protobuf"})])
    s = sink(server, **{"otlp-headers": f"api-key={SECRET}"})
    recs = Records.of([record(b"one"), record(b"\xfftwo", source="stderr")])
    answer = await s.send(s.encode_many(context(), recs))
    assert answer.ok and answer.status == 200
    request = server.requests[0]
    assert str(request.url) == "https://collector:4318/v1/logs" and request.method == "POST"
    assert (request.headers["Content-Type"], request.headers["Content-Encoding"],
            request.headers["api-key"]) == ("application/x-protobuf", "gzip", SECRET)
    items = items_of(sent(server))
    assert [i.get("body") for i in items] == ["one", None]
    assert items[1]["attributes"] == {"log.iostream": "stderr"}
    await s.close()
    await s.close()  # idempotent


async def test_json_without_compression() -> None:
    server = Server([httpx.Response(200, json={})])
    s = sink(server, **{"otlp-protocol": "http/json", "otlp-compression": "none"})
    assert (await s.send([s.encode(context(), record(b"x"))])).ok
    assert "Content-Encoding" not in server.requests[0].headers
    assert [i["body"] for i in items_of(sent(server))] == ["x"]


async def test_variables_configure_it_too() -> None:
    server = Server()
    env = {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://gw/in", "OTEL_EXPORTER_OTLP_HEADERS":
           "x-tenant=a%2Fb", "OTEL_EXPORTER_OTLP_COMPRESSION": "none"}
    s = OtlpSink.from_config(OtlpConfig.from_options({"otlp-service-name": "svc"}, env),
                             transport=server.transport)
    await s.send([s.encode(context(), record())])
    request = server.requests[0]
    assert (str(request.url), request.headers["x-tenant"]) == ("http://gw/in", "a/b")
    assert items_of(sent(server))[0]["resource"]["service.name"] == "svc"


async def test_partial_success_is_ok_with_the_rejected_count() -> None:
    response = ExportLogsServiceResponse(partial_success=ExportLogsPartialSuccess(
        rejected_log_records=1, error_message="timestamp too old"))
    server = Server([httpx.Response(200, content=response.SerializeToString(),
                                    headers={"Content-Type": "application/x-protobuf"})])
    s = sink(server)
    answer = await s.send([s.encode(context(), record()), s.encode(context(), record())])
    assert (answer.outcome, answer.rejected) == (Outcome.OK, 1)
    assert "timestamp too old" in answer.reason and len(server.requests) == 1


async def test_a_server_warning_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    response = ExportLogsServiceResponse(partial_success=ExportLogsPartialSuccess(
        rejected_log_records=0, error_message="deprecated field"))
    server = Server([httpx.Response(200, content=response.SerializeToString(),
                                    headers={"Content-Type": "application/x-protobuf"})])
    s = sink(server)
    with caplog.at_level(logging.WARNING, logger="sinks.otlp.sink"):
        for _ in range(3):
            answer = await s.send([s.encode(context(), record())])
            assert (answer.outcome, answer.rejected) == (Outcome.OK, 0)
    warned = [r for r in caplog.records
              if r.getMessage() == "otlp server accepted every record with a warning"]
    assert [getattr(r, "reason", "") for r in warned] == [
        "HTTP 200, server warning: deprecated field"]


async def test_retry_after_split_and_drop() -> None:
    server = Server([httpx.Response(503, headers={"Retry-After": "3"}),
                     httpx.Response(413), httpx.Response(400)])
    s = sink(server)
    events = [s.encode(context(), record()), s.encode(context(), record())]
    first = await s.send(events)
    assert (first.outcome, first.retry_after) == (Outcome.RETRY, 3.0)
    assert (await s.send(events)).outcome is Outcome.SPLIT
    assert (await s.send(events[:1])).outcome is Outcome.DROP


async def test_a_single_record_too_large_is_dropped_not_split() -> None:
    server = Server([httpx.Response(413)])
    s = sink(server)
    answer = await s.send([s.encode(context(), record())])
    assert answer.outcome is Outcome.DROP and "too large" in answer.reason


async def test_transport_errors_retry_and_secrets_stay_out_of_reasons() -> None:
    server = Server([httpx.ConnectError(f"refused while sending {SECRET}"),
                     httpx.Response(401, json={"message": f"bad key {SECRET}"})])
    s = sink(server, **{"otlp-headers": f"Authorization=Bearer%20{SECRET}"})
    first = await s.send([s.encode(context(), record())])
    assert first.outcome is Outcome.RETRY and first.status is None
    second = await s.send([s.encode(context(), record())])
    assert second.outcome is Outcome.DROP and "credentials refused" in second.reason
    assert SECRET not in first.reason + second.reason
    assert server.requests[0].headers["Authorization"] == f"Bearer {SECRET}"


async def test_nothing_to_send_sends_nothing() -> None:
    server = Server()
    s = sink(server)
    assert (await s.send([])).ok and server.requests == []
    await s.verify()  # no start-up check
    assert server.requests == []


async def test_timeout_reaches_the_client() -> None:
    s = OtlpSink.from_config(OtlpConfig.from_options({"otlp-timeout": "1500"}, {}),
                             transport=Server().transport)
    assert s._exchange.client.timeout.read == 1.5
    await s.close()
