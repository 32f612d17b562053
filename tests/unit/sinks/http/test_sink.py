"""The generic HTTP sink: formats on the wire, headers, auth, answers."""

from __future__ import annotations

import base64
import json

import httpx

from sinks.http.config import HttpConfig
from sinks.http.sink import HttpSink
from sinks.util.answer import Fault, Outcome

from ..fakes import CID, Server, context, record

URL = "https://logs.example/ingest?stream=docker"


def sink(server: Server, **opts: str) -> HttpSink:
    return HttpSink.from_config(HttpConfig.from_options({"http-url": URL, **opts}, {}),
                                transport=server.transport)


async def test_json_array_by_default() -> None:
    server = Server([httpx.Response(200)])
    s = sink(server)
    ctx = context(attrs={"tier": "front"})
    encoded = [s.encode(ctx, record(b"one", t=1_700_000_000_000_000_000)),
               s.encode(ctx, record(b"two", source="stderr", t=1_700_000_000_120_000_000,
                                    partial=True))]
    assert (await s.send(encoded)).ok
    request = server.requests[0]
    assert str(request.url) == URL  # posted to exactly
    assert request.headers["Content-Type"] == "application/json"
    items = json.loads(request.content)
    assert items[0] == {
        "time": "2023-11-14T22:13:20Z", "source": "stdout", "line": "one",
        "tag": "0123456789ab", "container_id": CID, "container_name": "web_app-1",
        "image_name": "nginx:1.25", "host": "host1", "attrs": {"tier": "front"},
    }
    assert items[1]["time"] == "2023-11-14T22:13:20.12Z" and items[1]["partial"] is True


async def test_ndjson() -> None:
    server = Server([httpx.Response(204)])
    s = sink(server, **{"http-format": "ndjson"})
    encoded = [s.encode(context(), record(b"a")), s.encode(context(), record(b"b"))]
    assert (await s.send(encoded)).ok
    lines = server.requests[0].content.split(b"\n")
    assert lines[-1] == b"" and [json.loads(x)["line"] for x in lines[:-1]] == ["a", "b"]
    assert server.requests[0].headers["Content-Type"] == "application/x-ndjson"


async def test_text_sends_the_raw_bytes(kernel_twin: str) -> None:
    server = Server([httpx.Response(200)])
    s = sink(server, **{"http-format": "text", "http-gzip": "true"})
    encoded = [s.encode(context(), record(b"a\xff")), s.encode(context(), record(b""))]
    assert (await s.send(encoded)).ok
    assert server.body() == b"a\xff\n\n"
    assert server.requests[0].headers["Content-Type"] == "text/plain"


async def test_custom_headers_and_bearer() -> None:
    server = Server([httpx.Response(200)])
    s = sink(server, **{"http-headers": "X-Scope-OrgID=tenant1; X-Env = prod;",
                        "http-bearer-token": "tok123"})
    await s.send([s.encode(context(), record())])
    headers = server.requests[0].headers
    assert (headers["X-Scope-OrgID"], headers["X-Env"]) == ("tenant1", "prod")
    assert headers["Authorization"] == "Bearer tok123"


async def test_basic_auth() -> None:
    server = Server([httpx.Response(200)])
    s = sink(server, **{"http-user": "alice", "http-password": "s3cret"})
    await s.send([s.encode(context(), record())])
    assert server.requests[0].headers["Authorization"] == (
        "Basic " + base64.b64encode(b"alice:s3cret").decode())


async def test_answers_and_scrubbing() -> None:
    s = sink(Server([httpx.Response(401, text="nope Bearer tok123")]),
             **{"http-bearer-token": "tok123"})
    answer = await s.send([s.encode(context(), record())])
    assert answer.outcome is Outcome.DROP and answer.fault is Fault.CONFIG
    assert "tok123" not in answer.reason
    s = sink(Server([httpx.Response(503, headers={"Retry-After": "2"})]))
    answer = await s.send([s.encode(context(), record())])
    assert (answer.outcome, answer.retry_after) == (Outcome.RETRY, 2.0)
    s = sink(Server([httpx.ReadError("reset")]))
    assert (await s.send([s.encode(context(), record())])).outcome is Outcome.RETRY


