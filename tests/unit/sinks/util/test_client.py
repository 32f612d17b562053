"""The sinks' network client (aiohttp) against real loopback servers: what it sends, keep-alive,
no redirects, the answer cap, timeouts and failures as Answer(RETRY), proxies from the
environment (plain and CONNECT). The sinks' own tests swap it for httpx.MockTransport."""

from __future__ import annotations

import asyncio
import gc
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import ClientRequest, web

from sinks.util.answer import Answer, Outcome
from sinks.util.client import (
    MAX_ANSWER_BYTES,
    USER_AGENT,
    AiohttpClient,
    Exchange,
    Reply,
    build_client,
)
from sinks.util.tls import TLSKeys, TLSOptions

KEYS = TLSKeys.with_prefix("http")
SECRET = "s3cr3t-t0ken-value"


@dataclass
class Seen:
    requests: list[web.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    peers: list[object] = field(default_factory=list)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[tuple[str, Seen]]]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> tuple[str, Seen]:
        seen = Seen()

        async def record(request: web.Request) -> web.StreamResponse:
            seen.requests.append(request)
            seen.bodies.append(await request.read())
            seen.peers.append(request.transport.get_extra_info("peername")
                              if request.transport else None)
            return await handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}", seen

    yield start
    for runner in runners:
        await runner.cleanup()


def exchange(**kwargs: object) -> Exchange:
    client = build_client(TLSOptions.from_options({}, KEYS), **kwargs)  # type: ignore[arg-type]
    assert isinstance(client, AiohttpClient)
    return Exchange(client, [SECRET])


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"text": "Success", "code": 0}, headers={"X-Echo": "1"})


async def test_a_post_sends_what_the_sink_gives_and_reuses_the_connection(serve) -> None:
    base, seen = await serve(ok)
    ex = exchange()
    try:
        for _ in range(2):
            reply = await ex.request("POST", base + "/in?x=1", content=b"body",
                                     headers={"Authorization": SECRET})
            assert isinstance(reply, Reply)
            assert reply.status == 200 and reply.body == b'{"text": "Success", "code": 0}'
            assert reply.headers["x-echo"] == "1"  # case-insensitive, as httpx's were
    finally:
        await ex.aclose()
    first = seen.requests[0]
    assert (first.method, first.path_qs, seen.bodies[0]) == ("POST", "/in?x=1", b"body")
    assert first.headers["User-Agent"] == USER_AGENT
    assert first.headers["Authorization"] == SECRET
    assert "Content-Type" not in first.headers  # none unless the sink says (HEC sends none)
    assert "Cookie" not in seen.requests[1].headers
    assert seen.peers[0] == seen.peers[1]  # keep-alive: one connection


async def test_redirects_are_answers_not_followed(serve) -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    base, seen = await serve(moved)
    ex = exchange()
    try:
        reply = await ex.request("POST", base + "/in", content=b"x")
    finally:
        await ex.aclose()
    assert isinstance(reply, Reply) and reply.status == 302
    assert [r.path for r in seen.requests] == ["/in"]


async def test_answer_body_is_capped_and_decoded(serve) -> None:
    big = b"y" * (MAX_ANSWER_BYTES * 4)

    async def huge(request: web.Request) -> web.Response:
        if request.path == "/gz":
            return web.Response(body=gzip.compress(b'{"ok":1}'),
                                headers={"Content-Encoding": "gzip"})
        return web.Response(body=big)

    base, _ = await serve(huge)
    ex = exchange()
    try:
        reply = await ex.request("GET", base + "/big")
        assert isinstance(reply, Reply) and reply.body == big[:MAX_ANSWER_BYTES]
        reply = await ex.request("GET", base + "/gz")
        assert isinstance(reply, Reply) and reply.body == b'{"ok":1}'
    finally:
        await ex.aclose()


async def test_timeouts_client_wide_and_per_request_are_retries(serve) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("s", "1")))
        return web.Response(text="late")

    base, _ = await serve(slow)
    ex = exchange(timeout=0.3)
    try:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        answer = await ex.request("POST", base + "/in", content=b"x")
        assert isinstance(answer, Answer) and answer.outcome is Outcome.RETRY
        assert "Timeout" in answer.reason and loop.time() - t0 < 3
        assert "within 0.3 s" in answer.reason  # how long it waited
        answer = await ex.request("GET", base + "/in?s=1", timeout=0.1)
        assert isinstance(answer, Answer) and answer.outcome is Outcome.RETRY
        assert "within 0.1 s" in answer.reason
        reply = await ex.request("GET", base + "/in?s=0.5", timeout=5)
        assert isinstance(reply, Reply) and reply.body == b"late"
    finally:
        await ex.aclose()


async def test_a_failed_request_leaves_no_body_for_the_cyclic_gc() -> None:
    # A sink that is down retries for as long as it is down: each failed request's body must be
    # freed when the request fails, not at the next full collection.
    ex = exchange()
    gc.disable()
    try:
        for _ in range(3):
            answer = await ex.request("POST", "http://127.0.0.1:1/in", content=b"x" * 100_000)
            assert isinstance(answer, Answer) and answer.outcome is Outcome.RETRY
        alive = [o for o in gc.get_objects() if isinstance(o, ClientRequest)]
        assert alive == []
    finally:
        gc.enable()
        await ex.aclose()


async def test_no_answer_is_a_retry_with_the_secret_scrubbed() -> None:
    ex = exchange()
    try:
        answer = await ex.post_events("http://127.0.0.1:1/in", b"x", {}, refused=frozenset(),
                                      refused_what="x")
        assert answer.outcome is Outcome.RETRY and answer.status is None
        assert answer.reason.startswith("transport error: ")
        answer = await ex.post_events(f"gopher://u:{SECRET}@host/", b"x", {},
                                      refused=frozenset(), refused_what="x")
        assert answer.outcome is Outcome.RETRY and SECRET not in answer.reason
    finally:
        await ex.aclose()


async def _proxy(seen: list[bytes]) -> tuple[asyncio.Server, int]:
    """A loopback HTTP proxy: absolute-form requests answered itself, CONNECT tunnelled."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        if head.startswith(b"CONNECT "):
            host, _, port = head.split()[1].decode().rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
            return
        length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), b"0"))
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nproxy")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_proxies_from_the_environment(serve, monkeypatch: pytest.MonkeyPatch) -> None:
    base, direct_seen = await serve(ok)
    heads: list[bytes] = []
    server, port = await _proxy(heads)
    monkeypatch.setenv("HTTP_PROXY", f"http://user:{SECRET}@127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "localhost,.internal")
    ex = exchange()
    try:
        reply = await ex.request("POST", "http://hec.example:8088/in", content=b"x")
        assert isinstance(reply, Reply) and reply.body == b"proxy"
        assert heads[0].startswith(b"POST http://hec.example:8088/in HTTP/1.1\r\n")
        assert b"Proxy-Authorization: Basic " in heads[0]
        reply = await ex.request("POST", base.replace("127.0.0.1", "localhost") + "/in",
                                 content=b"x")  # NO_PROXY: straight to the server
        assert isinstance(reply, Reply) and reply.status == 200 and len(direct_seen.bodies) == 1
    finally:
        await ex.aclose()
        server.close()


async def test_explicit_proxy_tunnels_https(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # CONNECT through the proxy, then TLS end to end (skip-verify: the trust itself is
    # test_tls's); the proxy only ever sees the CONNECT line.
    import ssl
    import subprocess

    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "k.pem", "-out",
                    "c.pem", "-days", "1", "-subj", "/CN=hec.internal"],
                   cwd=tmp_path, check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    app = web.Application()
    app.router.add_post("/in", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    heads: list[bytes] = []
    server, port = await _proxy(heads)
    tls = TLSOptions.from_options({"http-tls-skip-verify": "true"}, KEYS)
    ex = Exchange(build_client(tls, proxy=f"http://127.0.0.1:{port}"), [])
    try:
        target = f"https://127.0.0.1:{runner.addresses[0][1]}/in"
        reply = await ex.request("POST", target, content=b"x")
        assert isinstance(reply, Reply) and reply.status == 200, reply
        assert heads and heads[0].startswith(b"CONNECT 127.0.0.1:")
    finally:
        await ex.aclose()
        server.close()
        await runner.cleanup()


async def test_a_proxys_password_never_reaches_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("HTTPS_PROXY", f"http://bob:pa%40ss-{SECRET}@127.0.0.1:{port}")
    ex = Exchange(build_client(TLSOptions.from_options({}, KEYS)), [])  # the sink has none
    try:
        answer = await ex.request("POST", "https://hec.example/in", content=b"x")
        assert isinstance(answer, Answer) and answer.outcome is Outcome.RETRY
        assert "407" in answer.reason and SECRET not in answer.reason, answer.reason
    finally:
        await ex.aclose()
        server.close()


@pytest.mark.parametrize("kept", range(4, 8))  # 4 to 7 characters of the token
async def test_an_echoed_secret_cut_by_the_reason_limit_leaves_none_of_it(
        serve, kept: int) -> None:
    # nu17: a receiver that echoes the token in a long error body: the reason quotes
    # REASON_BODY_CHARS of it, and a cut that keeps under SECRET_HEAD_CHARS of the token's start
    # leaves those characters in the reason (found with a 100 MB 503 answer of repeated tokens:
    # the reason ended in "SECRE").
    from sinks.util.retry import REASON_BODY_CHARS

    body = ("x" * (REASON_BODY_CHARS - kept) + SECRET).encode()

    async def echo(request: web.Request) -> web.Response:
        return web.Response(status=503, body=body)

    base, _ = await serve(echo)
    ex = exchange()
    try:
        answer = await ex.post_events(base + "/in", b"x", {}, refused=frozenset(),
                                      refused_what="x")
        assert answer.outcome is Outcome.RETRY and answer.status == 503
        assert SECRET[:kept] not in answer.reason, answer.reason[-20:]
        assert answer.reason.endswith("[redacted]\u2026"), answer.reason[-20:]
    finally:
        await ex.aclose()


async def test_a_proxy_echoing_its_request_leaks_no_credentials(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # nu17: a plain-HTTP request through a proxy carries Proxy-Authorization: Basic
    # base64(user:password); a proxy (or its error page) that echoes the request head puts that
    # header in the answer body, and the reason quotes it: the password scrubbing knows the
    # password as given and percent-decoded, not in its Basic form.
    import base64

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        body = b"\r\n".join(line for line in head.split(b"\r\n")
                            if line.lower().startswith(b"proxy-authorization"))
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://bob:pa%40ss-{SECRET}@127.0.0.1:{port}")
    basic = base64.b64encode(f"bob:pa@ss-{SECRET}".encode()).decode()
    ex = Exchange(build_client(TLSOptions.from_options({}, KEYS)), [])
    try:
        answer = await ex.post_events("http://hec.example/in", b"x", {}, refused=frozenset(),
                                      refused_what="x")
        assert answer.status == 502 and "Proxy-Authorization" in answer.reason, answer.reason
        assert basic not in answer.reason and basic[:12] not in answer.reason, answer.reason
    finally:
        await ex.aclose()
        server.close()
