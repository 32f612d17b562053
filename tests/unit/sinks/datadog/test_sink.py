"""The Datadog sink: items the vendor's own model accepts, tags, limits, requests."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from datadog_api_client.v2.model.http_log_item import HTTPLogItem

from sinks.datadog.config import DD_MAX_BATCH_EVENTS, DD_MAX_PAYLOAD_BYTES, DatadogConfig
from sinks.datadog.encoder import (
    DD_MAX_MESSAGE_BYTES,
    DD_TRUNCATION_MARKER,
    container_tags,
    split_image_name,
)
from sinks.datadog.sink import DatadogSink
from sinks.util.answer import Fault, Outcome
from sinks.util.batch import batch_cost

from ..fakes import CID, T0, Server, context, record
from ..helpers import datadog_item

KEY = "0123456789abcdef0123456789abcdef"


def sink(server: Server, **opts: str) -> DatadogSink:
    config = DatadogConfig.from_options({"datadog-api-key": KEY, **opts}, {})
    return config.create(transport=server.transport)


def test_item_is_a_valid_http_log_item() -> None:
    s = sink(Server(), **{"datadog-service": "web", "datadog-tags": "env:prod,team:core"})
    ctx = context(attrs={"tier": "front", "status": "would clash"})
    item = json.loads(s.encode(ctx, record(b"boom", source="stderr")))
    HTTPLogItem(**item)  # raises on a schema violation
    assert item == {
        "message": "boom", "ddsource": "docker",
        "ddtags": f"env:prod,team:core,container_id:{CID},container_name:web_app-1,"
                  "image_name:nginx,short_image:nginx,image_tag:1.25,docker_image:nginx:1.25",
        "hostname": "host1", "service": "web", "status": "error", "timestamp": T0 // 1_000_000,
        "container_id": CID, "container_name": "web_app-1", "image": "nginx:1.25",
        "tag": "0123456789ab", "tier": "front",
    }


def test_stdout_is_info_and_optional_fields_are_omitted() -> None:
    s = sink(Server(), **{"datadog-hostname": "override", "datadog-source": "nginx"})
    item = json.loads(s.encode(context(), record(b"\xffok", partial=True)))
    HTTPLogItem(**item)
    assert item["status"] == "info" and "service" not in item
    assert (item["hostname"], item["ddsource"]) == ("override", "nginx")
    assert item["message"] == "\ufffdok"
    assert item["partial"] is True


@pytest.mark.parametrize(("image", "split"), [
    ("nginx", ("nginx", "nginx", "")),
    ("nginx:1.25", ("nginx", "nginx", "1.25")),
    ("registry:5000/team/app:v2", ("registry:5000/team/app", "app", "v2")),
    ("registry:5000/team/app", ("registry:5000/team/app", "app", "")),
    ("app@sha256:abcd", ("app", "app", "")),
    ("sha256:" + "1" * 64, None),
])
def test_image_split_follows_the_datadog_agent(image: str, split: tuple[str, ...] | None) -> None:
    assert split_image_name(image) == split


def test_container_tags_for_an_image_given_by_id() -> None:
    ctx = context(image_name="sha256:" + "1" * 64)
    assert container_tags(ctx) == [f"container_id:{CID}", "container_name:web_app-1"]


def test_a_message_over_1mb_is_truncated_with_a_marker() -> None:
    s = sink(Server())
    line = ("é" * DD_MAX_MESSAGE_BYTES).encode()  # 2 MB of two-byte characters
    item = json.loads(s.encode(context(), record(line)))
    message = item["message"]
    assert message.endswith(DD_TRUNCATION_MARKER)
    assert len(message.encode()) <= DD_MAX_MESSAGE_BYTES
    assert len(message.encode()) > DD_MAX_MESSAGE_BYTES - 16  # cut on a character boundary
    assert item["partial"] is True
    HTTPLogItem(**item)
    exact = b"x" * DD_MAX_MESSAGE_BYTES
    assert json.loads(s.encode(context(), record(exact)))["message"] == exact.decode()


async def test_request_shape_and_202() -> None:
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


@pytest.mark.parametrize("rec", [
    record(b"plain"), record(b"err", source="stderr"), record(b"p", partial=True),
    record(b'quote " and \\ and \n and \xff', t=1), record(b"y" * (DD_MAX_MESSAGE_BYTES + 5)),
])
def test_encode_is_the_item_serialised(rec: object) -> None:
    s = sink(Server(), **{"datadog-service": "svc"})
    ctx = context(attrs={"tier": "front", "message": "clash", "z": "<&>"})
    assert json.loads(s.encode(ctx, rec)) == datadog_item(s.config, ctx, rec)  # type: ignore[arg-type]
    assert list(json.loads(s.encode(ctx, rec))) == list(datadog_item(s.config, ctx, rec))  # type: ignore[arg-type]
