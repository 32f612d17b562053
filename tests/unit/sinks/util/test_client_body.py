"""The request body on its way to the socket: the same bytes on the wire as aiohttp's own
``data=bytes`` request, for any bytes-like body, plain, TLS and through a proxy, and handed to
the transport as a view of the caller's buffer (no copy of it joined with the headers)."""

from __future__ import annotations

import array
import asyncio
import os
import ssl
import subprocess
import warnings
from asyncio import selector_events
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sinks.util.client import AiohttpClient, BodyBytes, Exchange, Reply, build_client
from sinks.util.tls import TLSKeys, TLSOptions

from .test_client import _proxy

KEYS = TLSKeys.with_prefix("http")
BODY = os.urandom(3 << 20)  # over what one send() takes: the transport buffers the rest
HEADERS = {"Authorization": "Splunk t", "Content-Encoding": "gzip"}


class Capture:
    """A loopback HTTP/1.1 server that keeps every request's raw bytes (head and body)."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), b"0"))
                self.raw.append(head + await reader.readexactly(length))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def capture() -> AsyncIterator[tuple[Capture, int]]:
    cap = Capture()
    server = await asyncio.start_server(cap.handle, "127.0.0.1", 0)
    yield cap, server.sockets[0].getsockname()[1]
    server.close()


def client(**options: str) -> AiohttpClient:
    made = build_client(TLSOptions.from_options(options, KEYS))
    assert isinstance(made, AiohttpClient)
    return made


async def aiohttp_own_request(url: str, body: bytes, **options: str) -> None:
    """The request as aiohttp makes it from ``data=bytes`` (what the client did before)."""
    c = client(**options)
    session = c._open()
    try:
        with warnings.catch_warnings():  # aiohttp's BytesPayload warns over 1 MiB
            warnings.simplefilter("ignore", ResourceWarning)
            async with session.post(url, data=body, headers=HEADERS,
                                    allow_redirects=False) as r:
                await r.read()
    finally:
        await session.close()


def bodies() -> list[BodyBytes]:
    big = bytearray(b"x" * 100 + BODY + b"y" * 100)
    return [BODY, bytearray(BODY), memoryview(BODY), memoryview(big)[100:-100],
            memoryview(array.array("I", BODY[: len(BODY) // 4 * 4])), b"", b"z"]


async def test_the_wire_carries_the_same_bytes_for_every_kind_of_body(
        capture: tuple[Capture, int]) -> None:
    cap, port = capture
    url = f"http://127.0.0.1:{port}/services/collector"
    c = client()
    try:
        for body in bodies():
            want = bytes(body)
            await aiohttp_own_request(url, want)
            reply = await c.send("POST", url, body, HEADERS, None)
            assert isinstance(reply, Reply) and reply.status == 200 and reply.body == b"ok"
            before, sent = cap.raw[-2:]
            assert sent == before  # byte for byte, head and body
            assert sent.endswith(b"\r\n\r\n" + want)
    finally:
        await c.aclose()


async def test_the_body_reaches_the_transport_as_a_view_of_the_callers_buffer(
        capture: tuple[Capture, int], monkeypatch: pytest.MonkeyPatch) -> None:
    cap, port = capture
    writes: list[tuple[Any, Any]] = []
    real = selector_events._SelectorSocketTransport.write

    def spy(self: Any, data: Any) -> None:
        writes.append((self, data))
        real(self, data)

    monkeypatch.setattr(selector_events._SelectorSocketTransport, "write", spy)
    c = client()
    try:
        reply = await c.send("POST", f"http://127.0.0.1:{port}/in", BODY, HEADERS, None)
        assert isinstance(reply, Reply) and reply.status == 200
    finally:
        await c.aclose()
    (ours,) = {t for t, data in writes if bytes(data[:5]) == b"POST "}
    head, view = [data for t, data in writes if t is ours]  # the head alone, then the body
    assert isinstance(head, bytes) and head.endswith(b"\r\n\r\n")
    assert isinstance(view, memoryview) and view.obj is BODY  # the caller's buffer, not a copy
    assert head + view == cap.raw[0]


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "k.pem", "-out",
                    "c.pem", "-days", "1", "-subj", "/CN=127.0.0.1"],
                   cwd=tmp_path, check=True, capture_output=True)
    return tmp_path / "c.pem", tmp_path / "k.pem"


async def test_over_tls_and_through_a_connect_proxy_the_bytes_are_the_same(
        tls_files: tuple[Path, Path]) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*tls_files)
    cap = Capture()
    server = await asyncio.start_server(cap.handle, "127.0.0.1", 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    tunnels: list[bytes] = []
    proxy, proxy_port = await _proxy(tunnels)  # CONNECT tunnelled to the TLS server
    proxy_url = f"http://127.0.0.1:{proxy_port}"
    options = {"http-tls-skip-verify": "true"}
    url = f"https://127.0.0.1:{port}/in"
    try:
        await aiohttp_own_request(url, BODY, **options)
        direct = Exchange(client(**options), [])
        tunnelled = Exchange(build_client(TLSOptions.from_options(options, KEYS),
                                          proxy=proxy_url), [])
        try:
            for ex in (direct, tunnelled):
                reply = await ex.request("POST", url, content=memoryview(BODY), headers=HEADERS)
                assert isinstance(reply, Reply) and reply.status == 200, reply
        finally:
            await direct.aclose()
            await tunnelled.aclose()
        assert len(cap.raw) == 3 and cap.raw[1] == cap.raw[0] and cap.raw[2] == cap.raw[0]
        assert tunnels and tunnels[0].startswith(b"CONNECT 127.0.0.1:")
    finally:
        proxy.close()
        server.close()
