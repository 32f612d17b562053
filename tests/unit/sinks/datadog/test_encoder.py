"""The Datadog encoder: items the vendor's own model accepts, the agent's tags, truncation."""

from __future__ import annotations

import json

import pytest
from datadog_api_client.v2.model.http_log_item import HTTPLogItem

from sinks.datadog.config import DatadogConfig
from sinks.datadog.encoder import (
    DD_MAX_MESSAGE_BYTES,
    DD_TRUNCATION_MARKER,
    ItemEncoder,
    container_tags,
    split_image_name,
)
from sinks.util.record import Record, Records

from ..fakes import CID, T0, context, record
from ..helpers import datadog_item

KEY = "0123456789abcdef0123456789abcdef"


def encoder(**opts: str) -> ItemEncoder:
    return ItemEncoder(DatadogConfig.from_options({"datadog-api-key": KEY, **opts}, {}))


def test_item_is_a_valid_http_log_item(kernel_twin: str) -> None:
    s = encoder(**{"datadog-service": "web", "datadog-tags": "env:prod,team:core"})
    ctx = context(attrs={"tier": "front", "status": "would clash"})
    [encoded] = s.encode_many(ctx, Records.of([record(b"boom", source="stderr")]))
    item = json.loads(encoded)
    HTTPLogItem(**item)  # raises on a schema violation
    assert item == {
        "message": "boom", "ddsource": "docker",
        "ddtags": f"env:prod,team:core,container_id:{CID},container_name:web_app-1,"
                  "image_name:nginx,short_image:nginx,image_tag:1.25,docker_image:nginx:1.25",
        "hostname": "host1", "service": "web", "status": "error", "timestamp": T0 // 1_000_000,
        "container_id": CID, "container_name": "web_app-1", "image": "nginx:1.25",
        "tag": "0123456789ab", "tier": "front",
    }


def test_stdout_is_info_and_optional_fields_are_omitted(kernel_twin: str) -> None:
    s = encoder(**{"datadog-hostname": "override", "datadog-source": "nginx"})
    [encoded] = s.encode_many(context(), Records.of([record(b"\xffok", partial=True)]))
    item = json.loads(encoded)
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


def test_a_message_over_1mb_is_truncated_with_a_marker(kernel_twin: str) -> None:
    s = encoder()
    line = ("é" * DD_MAX_MESSAGE_BYTES).encode()  # 2 MB of two-byte characters
    [encoded] = s.encode_many(context(), Records.of([record(line)]))
    assert encoded == s.encode(context(), record(line))
    item = json.loads(encoded)
    message = item["message"]
    assert message.endswith(DD_TRUNCATION_MARKER)
    assert len(message.encode()) <= DD_MAX_MESSAGE_BYTES
    assert len(message.encode()) > DD_MAX_MESSAGE_BYTES - 16  # cut on a character boundary
    assert item["partial"] is True
    HTTPLogItem(**item)
    exact = b"x" * DD_MAX_MESSAGE_BYTES
    [encoded] = s.encode_many(context(), Records.of([record(exact)]))
    assert json.loads(encoded)["message"] == exact.decode()


@pytest.mark.parametrize("rec", [
    record(b"plain"), record(b"err", source="stderr"), record(b"p", partial=True),
    record(b'quote " and \\ and \n and \xff', t=1), record(b"y" * (DD_MAX_MESSAGE_BYTES + 5)),
])
def test_encode_is_the_item_serialised(rec: Record, kernel_twin: str) -> None:
    s = encoder(**{"datadog-service": "svc"})
    ctx = context(attrs={"tier": "front", "message": "clash", "z": "<&>"})
    assert json.loads(s.encode(ctx, rec)) == datadog_item(s.config, ctx, rec)
    assert list(json.loads(s.encode(ctx, rec))) == list(datadog_item(s.config, ctx, rec))
    assert s.encode_many(ctx, Records.of([rec, rec])) == [s.encode(ctx, rec)] * 2
