"""The Splunk sink end to end over httpx.MockTransport: requests, failover, acks, verify."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import uuid

import httpx
import pytest

from sinks.splunk.config import SplunkConfig
from sinks.splunk.sink import SplunkSink
from sinks.util.answer import Fault, Outcome
from sinks.util.errors import SinkOptionError, SinkVerifyError

from ..fakes import Server, context, hec, record, split_envelopes

TOKEN = "2160C7EF-2CE9-4307-A180-F852B99CF417"
BASE = {"splunk-url": "http://hec1:8088", "splunk-token": TOKEN}


def sink(server: Server, **opts: str) -> SplunkSink:
    config = SplunkConfig.from_options({**BASE, **opts}, {})
    config = dataclasses.replace(config, ack_first_poll=0.001, ack_max_poll=0.002,
                                 ack_timeout=0.2)
    return SplunkSink.from_config(config, transport=server.transport)


async def test_posts_concatenated_envelopes_like_docker() -> None:
    server = Server([hec()])
    s = sink(server)
    ctx = context()
    encoded = [s.encode(ctx, record(b"one")), s.encode(ctx, record(b"two", source="stderr"))]
    answer = await s.send(encoded)
    assert answer.outcome is Outcome.OK and answer.status == 200
    request = server.requests[0]
    assert (request.method, str(request.url)) == (
        "POST", "http://hec1:8088/services/collector/event/1.0")
    assert request.headers["Authorization"] == f"Splunk {TOKEN}"
    assert "Content-Encoding" not in request.headers
    assert "X-Splunk-Request-Channel" not in request.headers
    assert request.content == encoded[0] + encoded[1]  # no separator, no array
    events = split_envelopes(request.content)
    assert [e["event"]["line"] for e in events] == ["one", "two"]  # type: ignore[index]
    await s.close()
    await s.close()  # idempotent


async def test_gzip_with_level(kernel_twin: str) -> None:
    server = Server([hec()])
    s = sink(server, **{"splunk-gzip": "true", "splunk-gzip-level": "1"})
    encoded = [s.encode(context(), record())]
    assert (await s.send(encoded)).ok
    assert server.requests[0].headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(server.requests[0].content) == encoded[0]


async def test_nothing_to_send_makes_no_request() -> None:
    server = Server()
    s = sink(server, **{"splunk-format": "raw"})
    blank = s.encode(context(), record(b"   "))
    assert blank == b""
    assert (await s.send([blank])).ok
    assert server.requests == []


@pytest.mark.parametrize(("answer", "outcome"), [
    (hec(503, 9, "Server is busy"), Outcome.RETRY),
    (hec(400, 6, "Invalid data format"), Outcome.DROP),
    (hec(403, 4, "Invalid token"), Outcome.DROP),
    (httpx.Response(413), Outcome.SPLIT),
])
async def test_answers_are_classified(answer: httpx.Response, outcome: Outcome) -> None:
    s = sink(Server([answer]))
    got = await s.send([s.encode(context(), record(b"a")), s.encode(context(), record(b"b"))])
    assert got.outcome is outcome


async def test_a_413_for_one_event_drops_it() -> None:
    s = sink(Server([httpx.Response(413)]))
    got = await s.send([s.encode(context(), record(b"huge"))])
    assert got.outcome is Outcome.DROP and "too large" in got.reason


@pytest.mark.parametrize("urls", ["http://hec1:8088", "http://hec1:8088,http://hec2:8088"])
async def test_the_invalid_event_is_named_in_the_events_the_caller_gave(urls: str) -> None:
    # HEC numbers the events it was sent; the sink leaves out empty ones (a blank raw line), so
    # the index it hands back counts the caller's list.
    bad = httpx.Response(400, json={"text": "Invalid data format", "code": 6,
                                    "invalid-event-number": 1})
    s = sink(Server([bad]), **{"splunk-url": urls})
    encoded = [b"", s.encode(context(), record(b"a")), b"", s.encode(context(), record(b"b"))]
    got = await s.send(encoded)
    assert (got.outcome, got.invalid_event) == (Outcome.DROP, 3)


async def test_transport_errors_are_retries_never_exceptions() -> None:
    for exc in (httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                httpx.RemoteProtocolError("garbage"), OSError("boom")):
        s = sink(Server([exc]))
        got = await s.send([s.encode(context(), record())])
        assert got.outcome is Outcome.RETRY and got.status is None
        assert type(exc).__name__ in got.reason


async def test_failover_to_the_next_endpoint_on_retry() -> None:
    server = Server([httpx.ConnectError("refused"), hec()])
    s = sink(server, **{"splunk-url": "http://hec1:8088, http://hec2:8088"})
    got = await s.send([s.encode(context(), record())])
    assert got.ok and got.reason.startswith("http://hec2:8088: ")
    assert [r.url.host for r in server.requests] == ["hec1", "hec2"]


async def test_round_robin_across_endpoints() -> None:
    server = Server([hec()])
    s = sink(server, **{"splunk-url": "http://hec1:8088,http://hec2:8088"})
    for _ in range(4):
        assert (await s.send([s.encode(context(), record())])).ok
    assert [r.url.host for r in server.requests] == ["hec1", "hec2", "hec1", "hec2"]


async def test_all_endpoints_failing_is_one_retry() -> None:
    server = Server([hec(503, 9, "Server is busy")])
    s = sink(server, **{"splunk-url": "http://hec1:8088,http://hec2:8088"})
    got = await s.send([s.encode(context(), record())])
    assert got.outcome is Outcome.RETRY and len(server.requests) == 2


async def test_a_permanent_answer_does_not_fail_over() -> None:
    server = Server([hec(403, 4, "Invalid token")])
    s = sink(server, **{"splunk-url": "http://hec1:8088,http://hec2:8088"})
    got = await s.send([s.encode(context(), record())])
    assert got.outcome is Outcome.DROP and got.fault is Fault.CONFIG
    assert len(server.requests) == 1


def ack_server(acked_after_polls: int | None) -> Server:
    polls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal polls
        if request.url.path == "/services/collector/event/1.0":
            return hec(ackId=7)
        assert request.url.path == "/services/collector/ack"
        assert json.loads(request.content) == {"acks": [7]}
        polls += 1
        done = acked_after_polls is not None and polls >= acked_after_polls
        return httpx.Response(200, json={"acks": {"7": done}})

    return Server([answer])


async def test_index_ack_ok_after_two_polls() -> None:
    server = ack_server(acked_after_polls=2)
    s = sink(server, **{"splunk-index-acknowledgment": "true"})
    got = await s.send([s.encode(context(), record())])
    assert got.outcome is Outcome.OK and "indexed" in got.reason
    assert server.paths() == ["POST hec1/services/collector/event/1.0",
                              "POST hec1/services/collector/ack",
                              "POST hec1/services/collector/ack"]
    channels = {r.headers["X-Splunk-Request-Channel"] for r in server.requests}
    assert len(channels) == 1 and uuid.UUID(channels.pop())
    assert all(r.headers["Authorization"] == f"Splunk {TOKEN}" for r in server.requests)


async def test_index_ack_never_acked_is_retry() -> None:
    server = ack_server(acked_after_polls=None)
    s = sink(server, **{"splunk-index-acknowledgment": "true",
                        "splunk-url": "http://hec1:8088,http://hec2:8088"})
    got = await s.send([s.encode(context(), record())])
    assert got.outcome is Outcome.RETRY and "not acknowledged" in got.reason
    assert len(server.requests) > 2
    assert {r.url.host for r in server.requests} == {"hec1"}  # not resent elsewhere at once


async def test_index_ack_poll_failing_is_retry() -> None:
    server = Server([hec(ackId=1), hec(400, 14, "ACK is disabled")])
    s = sink(server, **{"splunk-index-acknowledgment": "true"})
    got = await s.send([s.encode(context(), record())])
    assert got.outcome is Outcome.RETRY and "ack poll failed" in got.reason


async def test_index_ack_survives_a_poll_that_gets_no_answer() -> None:
    server = Server([hec(ackId=1), httpx.ConnectError("blip"),
                     httpx.Response(200, json={"acks": {"1": True}})])
    s = sink(server, **{"splunk-index-acknowledgment": "true"})
    assert (await s.send([s.encode(context(), record())])).ok


async def test_index_ack_without_ack_id_is_accepted() -> None:
    s = sink(Server([hec()]), **{"splunk-index-acknowledgment": "true"})
    got = await s.send([s.encode(context(), record())])
    assert got.ok and "no ackId" in got.reason


async def test_verify_uses_the_health_endpoint() -> None:
    server = Server([httpx.Response(200, json={"text": "HEC is healthy", "code": 17})])
    s = sink(server)
    await s.verify()
    assert server.paths() == ["GET hec1/services/collector/health/1.0"]
    assert "Authorization" not in server.requests[0].headers  # as Docker's probe: no token


async def test_verify_falls_back_to_dockers_options_probe() -> None:
    server = Server([httpx.Response(404), httpx.Response(200)])
    await sink(server).verify()
    assert server.paths() == ["GET hec1/services/collector/health/1.0",
                              "OPTIONS hec1/services/collector/event/1.0"]


async def test_verify_fails_when_no_endpoint_is_healthy() -> None:
    server = Server([hec(503, 18, "HEC unhealthy, queues are full")])
    s = sink(server, **{"splunk-url": "http://hec1:8088,http://hec2:8088"})
    with pytest.raises(SinkVerifyError) as err:
        await s.verify()
    message = str(err.value)
    assert "splunk-verify-connection=false" in message and "hec2" in message
    assert TOKEN not in message
    assert isinstance(err.value, SinkOptionError)


async def test_verify_passes_when_one_endpoint_is_healthy() -> None:
    server = Server([httpx.ConnectError("down"), hec(200, 17, "HEC is healthy")])
    await sink(server, **{"splunk-url": "http://hec1:8088,http://hec2:8088"}).verify()


async def test_verify_has_a_short_timeout() -> None:
    seen: list[object] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200)

    await sink(Server([answer])).verify()
    assert all(v <= 3.0 for v in seen[0].values())  # type: ignore[attr-defined]


async def test_secrets_never_reach_a_reason() -> None:
    echo = httpx.Response(401, text=f"bad header: Splunk {TOKEN}")
    s = sink(Server([echo]))
    got = await s.send([s.encode(context(), record())])
    assert TOKEN not in got.reason and "[redacted]" in got.reason


async def test_verify_is_bounded_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import sinks.splunk.sink

    monkeypatch.setattr(sinks.splunk.sink, "VERIFY_TIMEOUT_SECONDS", 0.05)

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    s = SplunkSink.from_config(SplunkConfig.from_options(BASE, {}),
                               transport=httpx.MockTransport(slow))
    started = asyncio.get_running_loop().time()
    with pytest.raises(SinkVerifyError, match="no answer within"):
        await s.verify()
    assert asyncio.get_running_loop().time() - started < 1.0
