"""A minimal loopback receiver for the delivery benchmarks: accepts every POST and counts what it
carries, at the same cost for every sender; it keeps nothing.

- Splunk HEC (``/services/collector/event/1.0`` and friends): envelopes, counted by ``{"event":``
  (Docker's splunk driver and logdriver alike);
- Datadog (``/api/v2/logs``): items of the JSON array, counted by ``"message":``;
- HTTP ndjson (``/in``): lines.

GET /count answers ``{"events": HEC, "datadog": N, "http": N, "requests": N}``; POST /reset zeroes
it. Prints its port on the first line of stdout.

    python bench/hec_receiver.py
"""

from __future__ import annotations

import asyncio
import gzip
import sys

from aiohttp import web

OK = b'{"text":"Success","code":0}'


def main() -> None:
    count = {"events": 0, "datadog": 0, "http": 0, "requests": 0}

    async def body_of(request: web.Request) -> bytes:
        body = await request.read()  # aiohttp has already undone a Content-Encoding
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        count["requests"] += 1
        return body

    async def hec(request: web.Request) -> web.Response:
        count["events"] += (await body_of(request)).count(b'{"event":')
        return web.Response(body=OK, content_type="application/json")

    async def datadog(request: web.Request) -> web.Response:
        count["datadog"] += (await body_of(request)).count(b'"message":')
        return web.Response(status=202, body=b"{}", content_type="application/json")

    async def http(request: web.Request) -> web.Response:
        count["http"] += (await body_of(request)).count(b"\n")
        return web.Response(status=200)

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
