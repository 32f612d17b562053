"""A minimal loopback Splunk HEC for the delivery benchmark: accepts every POST to the event
endpoint, counts the envelopes (`{"event":` starts each one, in Docker's format and ours), and
answers GET /count. Same cost for both drivers; it keeps nothing.

    python bench/hec_receiver.py   # prints its port on the first line
"""

from __future__ import annotations

import gzip
import sys

from aiohttp import web

OK = b'{"text":"Success","code":0}'


def main() -> None:
    count = {"events": 0, "requests": 0}

    async def event(request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        count["events"] += body.count(b'{"event":')
        count["requests"] += 1
        return web.Response(body=OK, content_type="application/json")

    async def health(request: web.Request) -> web.Response:
        return web.Response(body=b'{"text":"HEC is healthy","code":17}',
                            content_type="application/json")

    async def get_count(request: web.Request) -> web.Response:
        return web.json_response(count)

    async def reset(request: web.Request) -> web.Response:
        count.update(events=0, requests=0)
        return web.json_response(count)

    app = web.Application(client_max_size=1 << 30)
    for path in ("/services/collector/event/1.0", "/services/collector/event",
                 "/services/collector"):
        app.router.add_post(path, event)
    app.router.add_route("OPTIONS", "/services/collector/event/1.0", health)
    app.router.add_get("/services/collector/health/1.0", health)
    app.router.add_get("/count", get_count)
    app.router.add_post("/reset", reset)

    async def on_start(app: web.Application) -> None:
        site_port = runner_sites[0]._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(site_port, flush=True)

    runner_sites: list[web.TCPSite] = []

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runner_sites.append(site)
        await on_start(app)
        while True:
            await asyncio.sleep(3600)

    import asyncio

    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
