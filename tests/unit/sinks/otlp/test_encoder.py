"""OTLP encoding: resource attributes, body str vs bytes, iostream, times; byte for byte what the
official messages serialise, and JSON that the official JSON parser reads back the same. Tests
that encode through ``encode_many`` run over both twins of the kernel (``kernel_twin``)."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from sinks.otlp.encoder import OtlpEncoder, split_image, varint
from sinks.util.record import Records, TagInfo
from tests.fakes.otlp import items_of

from ..fakes import CID, IMAGE_ID, T0, context, record

OBSERVED = T0 + 777


def compose_service(name: str) -> TagInfo:
    """StartLogging's Info of a container Compose started as service ``name``."""
    return TagInfo(container_id=CID, container_name="/web_app-1", image_id=IMAGE_ID,
                   image_name="nginx:1.25", labels={"com.docker.compose.service": name})


def decode(encoder: OtlpEncoder, events: list[bytes]) -> ExportLogsServiceRequest:
    body = encoder.request(events)
    if encoder.json:
        return json_format.Parse(body, ExportLogsServiceRequest())
    return ExportLogsServiceRequest.FromString(body)


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_resource_attributes_follow_the_semantic_conventions(protocol: str) -> None:
    ctx = context(image_name="registry:5000/team/app:1.2", attrs={"tier": "front",
                  "host.name": "spoofed"}, info=compose_service("api"))
    enc = OtlpEncoder(protocol, ctx)
    [item] = items_of(decode(enc, [enc.encode(record(), OBSERVED)]))
    assert item["resource"] == {
        "service.name": "api", "host.name": "host1", "container.id": CID,
        "container.name": "web_app-1", "container.runtime.name": "docker",
        "container.image.name": "registry:5000/team/app", "container.image.tags": ["1.2"],
        "container.image.id": IMAGE_ID, "docker.log.tag": "0123456789ab", "tier": "front",
    }
    assert item["scope"] == "logdriver"


def test_service_name_order_and_untagged_images() -> None:
    ctx = context(info=compose_service("api"), tag="", image_name="busybox")
    attrs = items_of(decode(e := OtlpEncoder("http/protobuf", ctx, "shop"),
                            [e.encode(record(), 1)]))[0]["resource"]
    assert attrs["service.name"] == "shop" and "docker.log.tag" not in attrs
    assert attrs["container.image.name"] == "busybox" and "container.image.tags" not in attrs
    enc = OtlpEncoder("http/protobuf", context())
    assert items_of(decode(enc, [enc.encode(record(), 1)]))[0]["resource"][
        "service.name"] == "web_app-1"


@pytest.mark.parametrize(("image", "split"), [
    ("nginx:1.25", ("nginx", "1.25", "")),
    ("registry:5000/a/b", ("registry:5000/a/b", "", "")),
    ("b@sha256:abc", ("b", "", "sha256:abc")),
    ("b:1@sha256:abc", ("b", "1", "sha256:abc")),
    ("sha256:" + "f" * 64, ("", "", "")),
])
def test_split_image(image: str, split: tuple[str, str, str]) -> None:
    assert split_image(image) == split


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_records_body_iostream_times_and_partial(protocol: str, kernel_twin: str) -> None:
    enc = OtlpEncoder(protocol, context())
    recs = Records.of([record(b"caf\xc3\xa9 \x00\t\"q\""), record(b"\xff\xfe\x00 bin",
                       source="stderr", t=T0 + 1), record(b"", t=T0 + 2),
                       record(b"cut", partial=True, t=T0 + 3)])
    items = items_of(decode(enc, enc.encode_many(recs, OBSERVED)))
    assert [i.get("body") for i in items] == ['café \x00\t"q"', None, "", "cut"]
    assert items[1]["body_b64"] == "//4AIGJpbg=="  # bytes, not altered
    assert [i["attributes"] for i in items] == [
        {"log.iostream": "stdout"}, {"log.iostream": "stderr"}, {"log.iostream": "stdout"},
        {"log.iostream": "stdout", "logdriver.partial": True}]
    assert [i["time_unix_nano"] for i in items] == [T0, T0 + 1, T0 + 2, T0 + 3]
    assert {i["observed_time_unix_nano"] for i in items} == {OBSERVED}
    assert {i["severity_number"] for i in items} == {0}  # unset


def test_json_follows_otlp_json_rules(kernel_twin: str) -> None:
    enc = OtlpEncoder("http/json", context())
    recs = Records.of([record(b"\xff"), record('\x01"\\ é'.encode(), partial=True)])
    body = json.loads(enc.request(enc.encode_many(recs, OBSERVED)))
    first, second = body["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    assert first == {"timeUnixNano": str(T0), "observedTimeUnixNano": str(OBSERVED),
                     "body": {"bytesValue": "/w=="},
                     "attributes": [{"key": "log.iostream", "value": {"stringValue": "stdout"}}]}
    assert second["body"] == {"stringValue": '\x01"\\ é'}
    assert second["attributes"][1] == {"key": "logdriver.partial", "value": {"boolValue": True}}
    resource = body["resourceLogs"][0]["resource"]["attributes"]
    assert {"key": "container.image.tags",
            "value": {"arrayValue": {"values": [{"stringValue": "1.25"}]}}} in resource


@given(line=st.binary(max_size=300), t=st.integers(min_value=1, max_value=2**64 - 1),
       observed=st.integers(min_value=1, max_value=2**64 - 1), stderr=st.booleans(),
       partial=st.booleans())
def test_a_record_is_byte_for_byte_the_official_serialisation(
        line: bytes, t: int, observed: int, stderr: bool, partial: bool) -> None:
    source = "stderr" if stderr else "stdout"
    try:
        body = AnyValue(string_value=line.decode())
    except UnicodeDecodeError:
        body = AnyValue(bytes_value=line)
    attributes = [KeyValue(key="log.iostream", value=AnyValue(string_value=source))]
    if partial:
        attributes.append(KeyValue(key="logdriver.partial", value=AnyValue(bool_value=True)))
    official = LogRecord(time_unix_nano=t, observed_time_unix_nano=observed, body=body,
                         attributes=attributes).SerializeToString()
    encoded = OtlpEncoder("http/protobuf", context()).encode(
        record(line, source=source, t=t, partial=partial), observed)
    assert encoded == b"\x12" + varint(len(official)) + official


def test_varint() -> None:
    assert [varint(n) for n in (0, 1, 127, 128, 300, 2**32)] == [
        b"\x00", b"\x01", b"\x7f", b"\x80\x01", b"\xac\x02", b"\x80\x80\x80\x80\x10"]


def test_a_large_request_round_trips(kernel_twin: str) -> None:
    enc = OtlpEncoder("http/protobuf", context(attrs={f"k{i}": "v" * 50 for i in range(100)}))
    lines = [f"{i:07d} ".encode() + b"x" * 20_000 for i in range(50)]
    request = decode(enc, enc.encode_many(Records.of([record(line) for line in lines]), OBSERVED))
    got = [r.body.string_value.encode() for r in request.resource_logs[0].scope_logs[0].log_records]
    assert got == lines


def test_a_lone_surrogate_in_a_label_cannot_break_the_encoder() -> None:
    enc = OtlpEncoder("http/json", context(attrs={"bad\udcff": "v\ud800"}))
    assert items_of(decode(enc, [enc.encode(record(), 1)]))[0]["resource"]["bad?"] == "v?"


_records = st.lists(st.builds(
    record, st.one_of(st.binary(max_size=40), st.text(max_size=20).map(str.encode),
                      st.sampled_from([b"x" * 16_383, b"y" * 16_384, "é".encode() * 9000])),
    source=st.sampled_from(["stdout", "stderr"]), t=st.integers(min_value=0, max_value=2**64 - 1),
    partial=st.booleans()), max_size=8)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # kernel_twin: no state
@given(recs=_records, observed=st.integers(min_value=0, max_value=2**64 - 1),
       protocol=st.sampled_from(["http/protobuf", "http/json"]))
def test_encode_many_is_encode_for_each(recs: list, observed: int,  # type: ignore[type-arg]
                                        protocol: str, kernel_twin: str) -> None:
    enc = OtlpEncoder(protocol, context())
    assert enc.encode_many(Records.of(recs), observed) == [enc.encode(r, observed) for r in recs]
