"""The fake Loki of tests/fakes/loki.py: what it accepts and refuses, as Loki does; bodies are
built here with the messages generated from Loki's published push.proto, not the sink's code."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator

import cramjam
import httpx
import pytest

from proto import loki_push_pb2
from tests.fakes import FakeLoki, FakeProcess

STREAM = '{container_name="web", source="stdout"}'


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as c:
        yield c


@pytest.fixture
def loki() -> Iterator[FakeLoki]:
    with FakeLoki() as fake:
        yield fake


def push(*streams: tuple[str, list[tuple[int, bytes]]]) -> bytes:
    msg = loki_push_pb2.PushRequest()
    for labels, entries in streams:
        stream = msg.streams.add(labels=labels)
        for ns, line in entries:
            entry = stream.entries.add(line=line)
            entry.timestamp.seconds, entry.timestamp.nanos = divmod(ns, 1_000_000_000)
    return bytes(cramjam.snappy.compress_raw(msg.SerializeToString()))


def post(client: httpx.Client, loki: FakeLoki, body: bytes,
         content_type: str = "application/x-protobuf", **headers: str) -> httpx.Response:
    return client.post(loki.push_url, content=body,
                       headers={"Content-Type": content_type, **headers})


def test_protobuf_snappy_push_is_stored_with_raw_bytes(loki: FakeLoki, client) -> None:
    body = push((STREAM, [(1_700_000_000_000_000_001, b"one"), (1_700_000_001_000_000_000,
                                                                 b"bad \xff byte")]),
                ('{container_name="web", source="stderr"}', [(5, b"err")]))
    answer = post(client, loki, body)
    assert answer.status_code == 204
    assert loki.lines("stdout") == [b"one", b"bad \xff byte"]
    assert loki.lines("stderr") == [b"err"]
    assert loki.entries[0] == {"labels": {"container_name": "web", "source": "stdout",
                                          "service_name": "web"},
                               "ts": 1_700_000_000_000_000_001, "line": b"one"}


def test_json_push_plain_and_gzip(loki: FakeLoki, client) -> None:
    value = {"streams": [{"stream": {"source": "stdout", "a": "x"},
                          "values": [["1700000000000000000", "héllo"]]}]}
    raw = json.dumps(value).encode()
    assert post(client, loki, raw, "application/json").status_code == 204
    assert post(client, loki, gzip.compress(raw), "application/json",
                **{"Content-Encoding": "gzip"}).status_code == 204
    assert loki.lines() == ["héllo".encode()] * 2


@pytest.mark.parametrize("body, content_type, status", [
    (b"not snappy", "application/x-protobuf", 400),
    (bytes(cramjam.snappy.compress_raw(b"\xff\xff\xff")), "application/x-protobuf", 400),
    (b"{}", "application/json", 400),
    (b'{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}', "application/json", 400),
    (b"x", "text/plain", 415),
])
def test_refuses_bodies_loki_cannot_read(loki: FakeLoki, client, body: bytes,
                                          content_type: str, status: int) -> None:
    assert post(client, loki, body, content_type).status_code == status
    assert loki.entries == []


def test_framed_snappy_is_not_the_block_format(loki: FakeLoki, client) -> None:
    msg = loki_push_pb2.PushRequest()
    msg.streams.add(labels=STREAM).entries.add(line=b"x")
    framed = bytes(cramjam.snappy.compress(msg.SerializeToString()))
    assert post(client, loki, framed).status_code == 400


def test_tenant_header_required_when_set(client) -> None:
    with FakeLoki(tenant="team-a") as loki:
        body = push((STREAM, [(1, b"x")]))
        assert post(client, loki, body).status_code == 401
        assert post(client, loki, body, **{"X-Scope-OrgID": "team-b"}).status_code == 401
        assert post(client, loki, body, **{"X-Scope-OrgID": "team-a"}).status_code == 204


def test_line_too_long_refuses_that_entry_and_stores_the_others(client) -> None:
    with FakeLoki(max_line_size=10) as loki:
        answer = post(client, loki, push((STREAM, [(1, b"short"), (2, b"x" * 11),
                                                    (3, b"after")])))
        assert answer.status_code == 400
        assert answer.text.strip() == (
            "max entry size '10' bytes exceeded for stream '{container_name=\"web\", "
            "service_name=\"web\", source=\"stdout\"}' while adding an entry with length "
            "'11' bytes")
        assert loki.lines() == [b"short", b"after"]


def test_several_refusals_are_grouped_as_loki_groups_them(client) -> None:
    with FakeLoki(max_line_size=3, refuse_marker=b"!") as loki:
        answer = post(client, loki, push((STREAM, [(1, b"long1"), (2, b"long2"),
                                                   (3_000_000_000, b"!")])))
        parts = answer.text.strip().split("; ")
        assert answer.status_code == 400 and len(parts) == 2
        assert parts[0].startswith("2 errors like: max entry size '3' bytes exceeded")
        assert parts[1] == ("1 errors like: entry for stream '{container_name=\"web\", "
                            "service_name=\"web\", source=\"stdout\"}' has timestamp too old: "
                            "1970-01-01T00:00:03Z, "
                            "oldest acceptable timestamp is: 1970-01-01T00:00:03Z")


@pytest.mark.parametrize("labels, start", [
    ("{" + ", ".join(f'l{i}="v"' for i in range(16)) + "}", "entry for stream '{l0="),
    ('{a="' + "v" * 2049 + '"}', "stream '{a="),
    ('{9bad="v"}', "error parsing labels"),
    ("container_name=web", "error parsing labels"),
])
def test_label_limits_refuse_the_stream(loki: FakeLoki, client, labels: str, start: str) -> None:
    answer = post(client, loki, push((labels, [(1, b"x")]), (STREAM, [(1, b"kept")])))
    assert answer.status_code == 400 and answer.text.startswith(start)
    assert loki.lines() == [b"kept"]


def test_fault_injection_applies(loki: FakeLoki, client) -> None:
    loki.fail_with(503, "unavailable", count=1)
    body = push((STREAM, [(1, b"x")]))
    assert post(client, loki, body).status_code == 503
    assert post(client, loki, body).status_code == 204
    assert loki.lines() == [b"x"]


def test_wrong_path_and_method(loki: FakeLoki, client) -> None:
    assert client.post(loki.url + "/api/prom/push", content=b"").status_code == 404
    assert client.get(loki.push_url).status_code == 405


def test_runs_as_a_child_process_and_prints_its_port_first() -> None:
    with FakeProcess("loki") as loki, httpx.Client(trust_env=False, timeout=10) as c:
        answer = c.post(loki.url + "/loki/api/v1/push", content=push((STREAM, [(1, b"x")])),
                        headers={"Content-Type": "application/x-protobuf"})
        assert answer.status_code == 204
        assert [base64.b64decode(e["line_b64"]) for e in loki.items()] == [b"x"]


@pytest.mark.parametrize("labels, service_name", [
    ('{container_name="web", source="stdout"}', "web"),
    ('{app="a", container_name="web", source="stdout"}', "a"),  # app comes before container_name
    ('{job="j", service="", source="stdout"}', "j"),  # an empty value is skipped
    ('{service_name="mine", app="a"}', "mine"),  # one sent is kept
    ('{host="vm", source="stdout"}', "unknown_service"),
])
def test_service_name_is_discovered_as_loki_3_does(loki: FakeLoki, client, labels: str,
                                                   service_name: str) -> None:
    assert post(client, loki, push((labels, [(1, b"x")]))).status_code == 204
    assert loki.entries[0]["labels"]["service_name"] == service_name


def test_service_name_discovery_can_be_off(client) -> None:
    with FakeLoki(discover_service_name=()) as loki:
        assert post(client, loki, push((STREAM, [(1, b"x")]))).status_code == 204
        assert loki.entries[0]["labels"] == {"container_name": "web", "source": "stdout"}


def test_record_file_holds_each_request_and_its_entries(client, tmp_path) -> None:
    path = tmp_path / "loki.jsonl"
    with FakeLoki(record_path=path) as loki:
        assert post(client, loki, push((STREAM, [(1, b"bad \xff")]))).status_code == 204
    (line,) = path.read_text().splitlines()
    accepted = json.loads(line)["accepted"]
    assert [base64.b64decode(a["line_b64"]) for a in accepted] == [b"bad \xff"]
    assert accepted[0]["labels"]["source"] == "stdout"


def test_service_name_is_not_counted_against_the_label_limit(loki: FakeLoki, client) -> None:
    fifteen = "{" + ", ".join(f'l{i:02}="v"' for i in range(15)) + "}"
    assert post(client, loki, push((fifteen, [(1, b"x")]))).status_code == 204
    assert len(loki.entries[0]["labels"]) == 16  # with service_name="unknown_service"
    sixteen = "{" + ", ".join(f'l{i:02}="v"' for i in range(16)) + "}"
    answer = post(client, loki, push((sixteen, [(1, b"x")])))
    assert answer.status_code == 400 and "has 16 label names; limit 15" in answer.text
