"""A loopback HEC receiver for big numbered bursts: it keeps no events, only checks their numbers.

Each line must start with its number (``%07d ...``, 1-based). The receiver answers every POST to
the HEC event endpoints with success and records, per event, whether its number was new, seen
before (a duplicate) or lower than one already seen (out of order), in a bitmap: a million events
cost a megabyte, not the gigabyte FakeHec would hold. It runs as a child process so its CPU is its
own:

    with SequenceHec(1_000_000) as hec:   # hec.url, hec.stats()
        ...

``python -m tests.fakes.sequence N`` prints its port on the first line of stdout.
GET /count answers ``{"events", "unique", "duplicates", "out_of_order", "highest", "requests"}``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import subprocess
import sys
import urllib.request
from types import TracebackType
from typing import Any

LINE_NUMBER = re.compile(rb'"line":"(\d{7}) ')  # Docker's inline envelope: {"event":{"line":"...
OK = b'{"text":"Success","code":0}'


def serve(n: int) -> None:
    from aiohttp import web

    seen = bytearray(n + 1)
    st = {"events": 0, "unique": 0, "duplicates": 0, "out_of_order": 0, "highest": 0,
          "requests": 0}

    async def event(request: web.Request) -> web.Response:
        body = await request.read()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        st["requests"] += 1
        highest = st["highest"]
        for m in LINE_NUMBER.finditer(body):
            k = int(m.group(1))
            st["events"] += 1
            if k > n or seen[k]:
                st["duplicates"] += 1
                continue
            seen[k] = 1
            st["unique"] += 1
            if k < highest:
                st["out_of_order"] += 1
            highest = max(highest, k)
        st["highest"] = highest
        return web.Response(body=OK, content_type="application/json")

    async def health(request: web.Request) -> web.Response:
        return web.Response(body=b'{"text":"HEC is healthy","code":17}',
                            content_type="application/json")

    async def count(request: web.Request) -> web.Response:
        return web.json_response(st)

    app = web.Application(client_max_size=1 << 30)
    for path in ("/services/collector/event/1.0", "/services/collector/event",
                 "/services/collector"):
        app.router.add_post(path, event)
    app.router.add_get("/services/collector/health/1.0", health)
    app.router.add_get("/count", count)

    async def run() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(site._server.sockets[0].getsockname()[1], flush=True)  # type: ignore[union-attr]
        while True:
            await asyncio.sleep(3600)

    asyncio.run(run())


class SequenceHec:
    """The receiver as a child process; ``stats()`` reads its counters."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> SequenceHec:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.sequence", str(self.n)],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        port = self.proc.stdout.readline().strip()
        assert port.isdigit(), f"the sequence receiver did not start (printed {port!r})"
        self.url = f"http://127.0.0.1:{int(port)}"
        return self

    def stats(self) -> dict[str, int]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.url + "/count", timeout=10) as resp:
            out: dict[str, Any] = json.loads(resp.read())
        return {k: int(v) for k, v in out.items()}

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
