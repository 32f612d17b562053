"""The Datadog sink: requests, intake limits, answers."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from sinks.datadog.config import DD_MAX_BATCH_EVENTS, DD_MAX_PAYLOAD_BYTES, DatadogConfig
from sinks.datadog.sink import DatadogSink
from sinks.util.answer import Fault, Outcome
from sinks.util.batch import batch_cost

from ..fakes import Server, context, record

KEY = "0123456789abcdef0123456789abcdef"


def sink(server: Server, **opts: str) -> DatadogSink:
    config = DatadogConfig.from_options({"datadog-api-key": KEY, **opts}, {})
    return DatadogSink.from_config(config, transport=server.transport)


async def test_request_shape_and_202(kernel_twin: str) -> None:
    server = Server([httpx.Response(202, json={})])
    s = sink(server)
    encoded = [s.encode(context(), record(b"a")), s.encode(context(), record(b"b"))]
    answer = await s.send(encoded)
    assert answer.ok and answer.status == 202
    request = server.requests[0]
    assert str(request.url) == "https://http-intake.logs.datadoghq.com/api/v2/logs"
    assert request.headers["DD-API-KEY"] == KEY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Content-Encoding"] == "gzip"
    items = json.loads(gzip.decompress(request.content))
    assert [i["message"] for i in items] == ["a", "b"]


async def test_site_url_and_no_gzip() -> None:
    server = Server([httpx.Response(202)])
    s = sink(server, **{"datadog-site": "datadoghq.eu", "datadog-gzip": "false"})
    await s.send([s.encode(context(), record())])
    assert server.requests[0].url.host == "http-intake.logs.datadoghq.eu"
    assert "Content-Encoding" not in server.requests[0].headers
    server = Server([httpx.Response(202)])
    s = sink(server, **{"datadog-url": "http://127.0.0.1:8080/", "datadog-site": "ddog-gov.com"})
    await s.send([s.encode(context(), record())])
    assert str(server.requests[0].url) == "http://127.0.0.1:8080/api/v2/logs"


def test_a_full_batch_fits_the_intake_limits() -> None:
    s = sink(Server())
    config = DatadogConfig.from_options({"datadog-api-key": KEY, "batch-bytes": "100m",
                                         "batch-size": "5000"}, {})
    assert (config.batch.events, config.batch.bytes) == (DD_MAX_BATCH_EVENTS,
                                                         DD_MAX_PAYLOAD_BYTES - 1)
    filler = b"x" * 4_000
    encoded = [s.encode(context(), record(filler))]
    per_item = len(encoded[0])
    n = config.batch.bytes // (per_item + 1)
    body = b"[" + b",".join(encoded * n) + b"]"
    assert batch_cost(encoded * n) <= config.batch.bytes
    assert len(body) <= DD_MAX_PAYLOAD_BYTES


@pytest.mark.parametrize(("status", "outcome"), [
    (400, Outcome.DROP), (403, Outcome.DROP), (408, Outcome.RETRY), (413, Outcome.SPLIT),
    (429, Outcome.RETRY), (500, Outcome.RETRY), (503, Outcome.RETRY),
])
async def test_answers(status: int, outcome: Outcome) -> None:
    s = sink(Server([httpx.Response(status, headers={"X-Ratelimit-Reset": "9"})]))
    answer = await s.send([s.encode(context(), record(b"a")), s.encode(context(), record(b"b"))])
    assert answer.outcome is outcome
    if status == 429:
        assert answer.retry_after == 9.0
    if status == 403:
        assert answer.fault is Fault.CONFIG


async def test_the_key_never_reaches_a_reason() -> None:
    s = sink(Server([httpx.Response(403, text=f"key {KEY} is not valid")]))
    answer = await s.send([s.encode(context(), record())])
    assert KEY not in answer.reason


async def test_transport_error_is_retry() -> None:
    s = sink(Server([httpx.ConnectTimeout("slow")]))
    assert (await s.send([s.encode(context(), record())])).outcome is Outcome.RETRY


async def test_verify_is_a_no_op() -> None:
    server = Server()
    s = sink(server)
    await s.verify()
    await s.close()
    assert server.requests == []


