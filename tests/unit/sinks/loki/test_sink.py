"""The Loki sink over httpx.MockTransport: headers, failover, retries, what a 400 costs."""

from __future__ import annotations

import base64

import cramjam
import httpx
import pytest

from proto import loki_push_pb2
from sinks.loki.config import LokiConfig
from sinks.loki.sink import LokiSink
from sinks.util.answer import Fault, Outcome
from sinks.util.record import Records

from ..fakes import T0, Server, context, record

URL = "http://loki-a:3100/loki/api/v1/push"
URL_B = "http://loki-b:3100/loki/api/v1/push"


def sink(server: Server, **opts: str) -> LokiSink:
    return LokiSink.from_config(LokiConfig.from_options({"loki-url": URL, **opts}, {}),
                                transport=server.transport)


def pushed(request: httpx.Request) -> dict[str, list[bytes]]:
    msg = loki_push_pb2.PushRequest()
    msg.ParseFromString(bytes(cramjam.snappy.decompress_raw(request.content)))
    return {s.labels: [e.line for e in s.entries] for s in msg.streams}


async def test_posts_snappy_protobuf_with_lokis_headers(kernel_twin: str) -> None:
    server = Server([httpx.Response(204)])
    s = sink(server, **{"loki-tenant-id": "team-a"})
    ctx = context()
    events = s.encode_many(ctx, Records.of([record(b"one"), record(b""),
                                            record(b"two", source="stderr")]))
    assert events[1] == b"" and events[0] == s.encode(ctx, record(b"one"))
    answer = await s.send(events)
    assert answer.ok
    request = server.requests[0]
    assert str(request.url) == URL
    assert request.headers["Content-Type"] == "application/x-protobuf"
    assert request.headers["X-Scope-OrgID"] == "team-a"
    assert "Content-Encoding" not in request.headers  # snappy is part of the body format
    assert pushed(request) == {
        '{container_name="web_app-1", host="host1", source="stdout"}': [b"one"],
        '{container_name="web_app-1", host="host1", source="stderr"}': [b"two"],
    }


async def test_json_format(kernel_twin: str) -> None:
    server = Server([httpx.Response(204)])
    s = sink(server, **{"loki-format": "json"})
    assert (await s.send(s.encode_many(context(), Records.of([record(b"x", t=T0)])))).ok
    request = server.requests[0]
    assert request.headers["Content-Type"] == "application/json"
    assert request.content.startswith(b'{"streams":[{"stream":{"container_name":"web_app-1"')


async def test_failover_to_the_next_url_and_basic_auth_from_the_url() -> None:
    server = Server([httpx.Response(503), httpx.Response(204)])
    s = sink(server, **{"loki-url": f"{URL},http://user:pa55@loki-b:3100/loki/api/v1/push"})
    assert (await s.send([s.encode(context(), record())])).ok
    first, second = server.requests
    assert first.url.host == "loki-a" and "Authorization" not in first.headers
    assert second.url.host == "loki-b"
    assert second.headers["Authorization"] == "Basic " + base64.b64encode(b"user:pa55").decode()


async def test_a_400_naming_entries_refuses_only_those(kernel_twin: str) -> None:
    stream = '{container_name="web_app-1", host="host1", source="stdout"}'
    body = (f"2 errors like: max entry size '4' bytes exceeded for stream '{stream}' while "
            f"adding an entry with length '5' bytes")
    server = Server([httpx.Response(400, text=body)])
    s = sink(server)
    ctx = context()
    lines = [b"ok", b"", b"long1", b"ok2", b"long2"]
    encoded = s.encode_many(ctx, Records.of([record(line, t=T0 + i)
                                             for i, line in enumerate(lines)]))
    answer = await s.send(encoded)
    assert answer.outcome is Outcome.DROP and answer.status == 400
    assert answer.refused_events == (2, 4)  # indices into what the caller passed


@pytest.mark.parametrize("added", [
    'service_name="web_app-1", ',  # Loki 3's discover_service_name (container_name's value)
    'service_name="unknown_service", ', '__stream_shard__="1", '])
async def test_a_400_naming_a_stream_with_labels_loki_added_refuses_only_those(added: str
                                                                              ) -> None:
    labels = ['container_name="web_app-1"', 'host="host1"', 'source="stdout"']
    stream = "{" + ", ".join(sorted([*labels, added.rstrip(", ")])) + "}"
    body = (f"max entry size '4' bytes exceeded for stream '{stream}' while adding an entry "
            f"with length '5' bytes")
    server = Server([httpx.Response(400, text=body)])
    s = sink(server)
    encoded = [s.encode(context(), record(line, t=T0 + i))
               for i, line in enumerate([b"ok", b"long1"])]
    assert (await s.send(encoded)).refused_events == (1,)


@pytest.mark.parametrize("stream", [
    '{container_name="web_app-1", host="host1", service_name="x", source="stderr"}',  # a value
    '{container_name="web_app-1", host="host1", job="x", source="stdout"}',  # not Loki's own
    '{container_name="web_app-1", source="stdout"}',  # one of ours missing
])
async def test_a_400_naming_another_stream_refuses_the_whole_request(stream: str) -> None:
    body = (f"max entry size '4' bytes exceeded for stream '{stream}' while adding an entry "
            f"with length '5' bytes")
    server = Server([httpx.Response(400, text=body)])
    s = sink(server)
    answer = await s.send([s.encode(context(), record(b"long1"))])
    assert answer.outcome is Outcome.DROP and answer.refused_events is None


async def test_a_400_naming_nothing_known_refuses_the_whole_request() -> None:
    server = Server([httpx.Response(400, text="entry too far behind, entry timestamp is: x")])
    s = sink(server)
    answer = await s.send([s.encode(context(), record())])
    assert answer.outcome is Outcome.DROP and answer.refused_events is None


async def test_retries_forever_by_default_with_lokis_backoff_as_the_least_wait() -> None:
    server = Server([httpx.Response(503)])
    s = sink(server, **{"loki-min-backoff": "1s", "loki-max-backoff": "5s"})
    encoded = [s.encode(context(), record())]
    waits = [(await s.send(encoded)).retry_after for _ in range(6)]
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


async def test_a_server_asking_for_longer_is_obeyed() -> None:
    server = Server([httpx.Response(429, headers={"Retry-After": "30"})])
    s = sink(server)
    answer = await s.send([s.encode(context(), record())])
    assert answer.outcome is Outcome.RETRY and answer.retry_after == 30.0


async def test_finite_retries_then_the_request_is_dropped() -> None:
    server = Server([httpx.Response(503)])
    s = sink(server, **{"loki-retries": "3"})
    encoded = [s.encode(context(), record())]
    outcomes = [(await s.send(encoded)).outcome for _ in range(3)]
    # N requests in all, as Loki's driver (dskit backoff: Ongoing is false once retries >= N)
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.DROP]
    assert len(server.requests) == 3
    other = [s.encode(context(), record(b"other"))]  # another request counts on its own
    assert (await s.send(other)).outcome is Outcome.RETRY


async def test_success_resets_the_count() -> None:
    server = Server([httpx.Response(503), httpx.Response(204), httpx.Response(503)])
    s = sink(server, **{"loki-retries": "2"})
    encoded = [s.encode(context(), record())]
    assert [(await s.send(encoded)).outcome for _ in range(3)] == [
        Outcome.RETRY, Outcome.OK, Outcome.RETRY]


async def test_one_retry_means_one_request() -> None:
    server = Server([httpx.Response(503)])
    s = sink(server, **{"loki-retries": "1"})
    answer = await s.send([s.encode(context(), record())])
    assert answer.outcome is Outcome.DROP and "gave up after 1 requests" in answer.reason


async def test_transport_error_is_a_retry() -> None:
    server = Server([httpx.ConnectError("refused")])
    answer = await sink(server).send([sink(server).encode(context(), record())])
    assert answer.outcome is Outcome.RETRY and answer.status is None


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_refusals_are_configuration_errors_without_the_password(status: int) -> None:
    server = Server([httpx.Response(status, text="bad credentials s3cretpass")])
    s = sink(server, **{"loki-url": "http://u:s3cretpass@loki-a/loki/api/v1/push"})
    answer = await s.send([s.encode(context(), record())])
    assert answer.outcome is Outcome.DROP and answer.fault is Fault.CONFIG
    assert "s3cretpass" not in answer.reason


async def test_413_splits_and_a_single_entry_is_dropped() -> None:
    server = Server([httpx.Response(413)])
    s = sink(server)
    two = [s.encode(context(), record(b"a")), s.encode(context(), record(b"b"))]
    assert (await s.send(two)).outcome is Outcome.SPLIT
    assert (await s.send(two[:1])).outcome is Outcome.DROP


async def test_only_blank_lines_send_nothing() -> None:
    server = Server()
    s = sink(server)
    assert (await s.send([s.encode(context(), record(b"  "))])).ok
    assert server.requests == []


async def test_close_is_idempotent() -> None:
    s = sink(Server())
    await s.close()
    await s.close()
