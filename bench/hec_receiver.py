"""A minimal loopback receiver for the delivery benchmarks: accepts every POST and counts what it
carries, at the same cost for every sender; it keeps nothing.

- Splunk HEC (``/services/collector/event/1.0`` and friends): envelopes, counted by ``{"event":``
  (Docker's splunk driver and logdriver alike);
- Datadog (``/api/v2/logs``): items of the JSON array, counted by ``"message":``;
- HTTP ndjson (``/in``): lines;
- Grafana Loki (``/loki/api/v1/push``): entries of the snappy-compressed protobuf PushRequest,
  counted by walking its fields (no message classes: the same small cost per entry for any
  sender);
- OTLP/HTTP logs (``/v1/logs``, protobuf): the ``LogRecord`` fields of each ``ScopeLogs``, found
  by walking the protobuf framing (no message is decoded), answered with an empty
  ``ExportLogsServiceResponse``.

GET /count answers ``{"events": HEC, "datadog": N, "http": N, "loki": N, "otlp": N,
"requests": N}``; POST /reset zeroes it. Prints its port on the first line of stdout.

    python bench/hec_receiver.py
"""

from __future__ import annotations

import asyncio
import gzip
import sys

import cramjam
from aiohttp import web

from sinks.loki.encoder import read_varint

OK = b'{"text":"Success","code":0}'


def _fields(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(field number, start, end) of each length-delimited field in data[start:end]."""
    out = []
    pos = start
    while pos < end:
        key, pos = read_varint(data, pos)
        if key & 7 == 2:
            size, pos = read_varint(data, pos)
            out.append((key >> 3, pos, pos + size))
            pos += size
        elif key & 7 == 0:
            _, pos = read_varint(data, pos)
        else:
            raise ValueError(f"wire type {key & 7}")
    return out


def loki_entries(body: bytes) -> int:
    """Entries in a snappy block-compressed PushRequest (streams = 1, entries = 2)."""
    data = bytes(cramjam.snappy.decompress_raw(body))
    return sum(1 for number, start, end in _fields(data, 0, len(data)) if number == 1
               for field, _, _ in _fields(data, start, end) if field == 2)


def otlp_records(body: bytes) -> int:
    """LogRecords in an ExportLogsServiceRequest: resource_logs(1) > scope_logs(2) >
    log_records(2) (every field on the way is length-delimited)."""
    return sum(1 for number, a, b in _fields(body, 0, len(body)) if number == 1
               for number2, c, d in _fields(body, a, b) if number2 == 2
               for number3, _, _ in _fields(body, c, d) if number3 == 2)


def main() -> None:
    count = {"events": 0, "datadog": 0, "http": 0, "loki": 0, "otlp": 0, "requests": 0}

    async def body_of(request: web.Request) -> bytes:
        body = await request.read()  # aiohttp has already undone a Content-Encoding
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        count["requests"] += 1
        return body

    # Each handler takes the whole body before it touches a counter: ``count[k] += await ...``
    # reads count[k] before the await, so requests whose bodies arrive together would each
    # store their own sum over the others' (20 containers' 5,000 lines counted as 10,000).
    async def hec(request: web.Request) -> web.Response:
        body = await body_of(request)
        count["events"] += body.count(b'{"event":')
        return web.Response(body=OK, content_type="application/json")

    async def datadog(request: web.Request) -> web.Response:
        body = await body_of(request)
        count["datadog"] += body.count(b'"message":')
        return web.Response(status=202, body=b"{}", content_type="application/json")

    async def http(request: web.Request) -> web.Response:
        body = await body_of(request)
        count["http"] += body.count(b"\n")
        return web.Response(status=200)

    async def loki(request: web.Request) -> web.Response:
        body = await request.read()  # snappy is the body's format, not a Content-Encoding
        count["requests"] += 1
        count["loki"] += loki_entries(body)
        return web.Response(status=204)

    async def otlp(request: web.Request) -> web.Response:
        body = await body_of(request)
        count["otlp"] += otlp_records(body)
        return web.Response(body=b"", content_type="application/x-protobuf")

    async def health(request: web.Request) -> web.Response:
        return web.Response(body=b'{"text":"HEC is healthy","code":17}',
                            content_type="application/json")

    async def get_count(request: web.Request) -> web.Response:
        return web.json_response(count)

    async def reset(request: web.Request) -> web.Response:
        for key in count:
            count[key] = 0
        return web.json_response(count)

    app = web.Application(client_max_size=1 << 30)
    for path in ("/services/collector/event/1.0", "/services/collector/event",
                 "/services/collector"):
        app.router.add_post(path, hec)
    app.router.add_post("/api/v2/logs", datadog)
    app.router.add_post("/in", http)
    app.router.add_post("/loki/api/v1/push", loki)
    app.router.add_post("/v1/logs", otlp)
    app.router.add_route("OPTIONS", "/services/collector/event/1.0", health)
    app.router.add_get("/services/collector/health/1.0", health)
    app.router.add_get("/count", get_count)
    app.router.add_post("/reset", reset)

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(port, flush=True)
        while True:
            await asyncio.sleep(3600)

    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
